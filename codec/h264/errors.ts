/**
 * Error type of the H.264 codec.
 *
 * @module
 */

import { CodedError } from "../../errors/mod.ts";

/** Stable codes of {@link H264FormatError}. */
export const H264ErrorCode = {
  /** An AVCDecoderConfigurationRecord is malformed (version, length size, counts). */
  BadConfig: "H264_BAD_CONFIG",
  /** Input ended before a length-prefixed structure it announced. */
  Truncated: "H264_TRUNCATED",
  /** A sequence parameter set cannot be parsed. */
  BadSps: "H264_BAD_SPS",
  /** A value given to an encoder is out of range. */
  BadValue: "H264_BAD_VALUE",
} as const;

/** One of the {@link H264ErrorCode} values. */
export type H264ErrorCodeValue =
  (typeof H264ErrorCode)[keyof typeof H264ErrorCode];

/**
 * Malformed H.264 input (configuration record, AVCC framing, SPS).
 *
 * @example
 * ```ts
 * import { H264ErrorCode, H264FormatError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new H264FormatError(H264ErrorCode.Truncated, "Cannot split").code, "H264_TRUNCATED");
 * ```
 */
export class H264FormatError extends CodedError<H264ErrorCodeValue> {
  override name = "H264FormatError";
}
