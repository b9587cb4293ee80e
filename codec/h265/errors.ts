/**
 * Error type of the H.265 codec.
 *
 * @module
 */

import { CodedError } from "../../errors/mod.ts";

/** Stable codes of {@link H265FormatError}. */
export const H265ErrorCode = {
  /** An HEVCDecoderConfigurationRecord is malformed (version, counts, lengths). */
  BadConfig: "H265_BAD_CONFIG",
  /** A sequence parameter set cannot be parsed. */
  BadSps: "H265_BAD_SPS",
  /** A value given to an encoder is out of range. */
  BadValue: "H265_BAD_VALUE",
} as const;

/** One of the {@link H265ErrorCode} values. */
export type H265ErrorCodeValue =
  (typeof H265ErrorCode)[keyof typeof H265ErrorCode];

/**
 * Malformed H.265 input (configuration record, SPS).
 *
 * @example
 * ```ts
 * import { H265ErrorCode, H265FormatError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new H265FormatError(H265ErrorCode.BadSps, "Cannot parse").code, "H265_BAD_SPS");
 * ```
 */
export class H265FormatError extends CodedError<H265ErrorCodeValue> {
  override name = "H265FormatError";
}
