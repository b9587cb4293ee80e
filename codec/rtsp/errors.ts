/**
 * Error type of the RTSP codec.
 *
 * @module
 */

import { CodedError } from "../../errors/mod.ts";

/** Stable codes of {@link RtspFormatError}. */
export const RtspErrorCode = {
  /** A request or status line, or a header line, is malformed. */
  BadMessage: "RTSP_BAD_MESSAGE",
  /** A head, a header count, a body or an interleaved frame is over its limit. */
  TooLarge: "RTSP_TOO_LARGE",
  /** A header value (Transport, Session, Authorization, …) cannot be parsed. */
  BadHeader: "RTSP_BAD_HEADER",
} as const;

/** One of the {@link RtspErrorCode} values. */
export type RtspErrorCodeValue =
  (typeof RtspErrorCode)[keyof typeof RtspErrorCode];

/**
 * Malformed RTSP input.
 *
 * @example
 * ```ts
 * import { RtspErrorCode, RtspFormatError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new RtspFormatError(RtspErrorCode.TooLarge, "Cannot read").code, "RTSP_TOO_LARGE");
 * ```
 */
export class RtspFormatError extends CodedError<RtspErrorCodeValue> {
  override name = "RtspFormatError";
}
