/**
 * Error type of the FLV codec.
 *
 * @module
 */

import { CodedError } from "../../errors/mod.ts";

/**
 * Stable codes of {@link FlvFormatError}, one per way FLV input can be wrong.
 */
export const FlvErrorCode = {
  /** The file does not start with the "FLV" signature or has an unknown version. */
  BadSignature: "FLV_BAD_SIGNATURE",
  /** The header's DataOffset is below 9 or above the header limit. */
  BadHeader: "FLV_BAD_HEADER",
  /** A tag header names a type other than audio (8), video (9) or script data (18). */
  BadTagType: "FLV_BAD_TAG_TYPE",
  /** A tag body is larger than the reader's limit (or, when encoding, than 24 bits allow). */
  TagTooLarge: "FLV_TAG_TOO_LARGE",
  /** A PreviousTagSize field disagrees with the tag it follows. */
  BadPreviousTagSize: "FLV_BAD_PREVIOUS_TAG_SIZE",
  /** The input ended inside the header or a tag. */
  Truncated: "FLV_TRUNCATED",
  /** A tag body is too short for the header its codec requires. */
  BadTagBody: "FLV_BAD_TAG_BODY",
  /** A value given to an encoder is out of range (negative timestamp, ...). */
  BadValue: "FLV_BAD_VALUE",
} as const;

/** One of the {@link FlvErrorCode} values. */
export type FlvErrorCodeValue =
  (typeof FlvErrorCode)[keyof typeof FlvErrorCode];

/**
 * Malformed FLV input or an unencodable FLV value.
 *
 * @example
 * ```ts
 * import { FlvErrorCode, FlvFormatError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const e = new FlvFormatError(FlvErrorCode.BadTagType, "Cannot read FLV tag: unknown type 7");
 * assert.equal(e.code, "FLV_BAD_TAG_TYPE");
 * ```
 */
export class FlvFormatError extends CodedError<FlvErrorCodeValue> {
  override name = "FlvFormatError";
}
