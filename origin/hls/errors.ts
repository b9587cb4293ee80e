/**
 * Error type of the HLS packager.
 *
 * @module
 */

import { CodedError } from "../../errors/mod.ts";

/** Stable codes of {@link HlsError}. */
export const HlsErrorCode = {
  /** An {@link HlsStreamOptions} value is out of range (thrown by the constructor). */
  BadOptions: "HLS_BAD_OPTIONS",
  /** A tag could not be packaged and was dropped (recorded, never thrown from `onTag`). */
  BadTag: "HLS_BAD_TAG",
} as const;

/** One of the {@link HlsErrorCode} values. */
export type HlsErrorCodeValue =
  (typeof HlsErrorCode)[keyof typeof HlsErrorCode];

/**
 * A packaging failure with the stream it belongs to; `cause` holds the codec error.
 *
 * @example
 * ```ts
 * import { HlsError, HlsErrorCode } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new HlsError(HlsErrorCode.BadTag, "Cannot package").code, "HLS_BAD_TAG");
 * ```
 */
export class HlsError extends CodedError<HlsErrorCodeValue> {
  override name = "HlsError";
}
