/**
 * Error type of the AAC codec.
 *
 * @module
 */

import { CodedError } from "../../errors/mod.ts";

/** Stable codes of {@link AacFormatError}. */
export const AacErrorCode = {
  /** An AudioSpecificConfig is too short or names a reserved sampling frequency index. */
  BadConfig: "AAC_BAD_CONFIG",
  /** An ADTS header is malformed (sync word, layer, length). */
  BadAdts: "AAC_BAD_ADTS",
  /** A configuration cannot be expressed in an ADTS header (object type, explicit rate). */
  Unsupported: "AAC_UNSUPPORTED",
} as const;

/** One of the {@link AacErrorCode} values. */
export type AacErrorCodeValue =
  (typeof AacErrorCode)[keyof typeof AacErrorCode];

/**
 * Malformed AAC configuration or framing.
 *
 * @example
 * ```ts
 * import { AacErrorCode, AacFormatError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new AacFormatError(AacErrorCode.BadAdts, "Cannot decode").code, "AAC_BAD_ADTS");
 * ```
 */
export class AacFormatError extends CodedError<AacErrorCodeValue> {
  override name = "AacFormatError";
}
