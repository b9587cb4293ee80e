/**
 * Errors of the VOD library, each with the HTTP status it answers.
 *
 * @module
 */

import { CodedError } from "../../errors/mod.ts";

/** Stable codes of {@link VodError}. */
export const VodErrorCode = {
  /** The path is not a file of any library (or is hidden, or outside it). */
  NotFound: "VOD_NOT_FOUND",
  /** The path is malformed: traversal, absolute, backslash, NUL, bad encoding. */
  BadPath: "VOD_BAD_PATH",
  /** A query value is malformed or out of range (`start`, `end`, a segment number). */
  BadRequest: "VOD_BAD_REQUEST",
  /** The file cannot be read as media (corrupt, truncated, no moov, unknown codec). */
  BadMedia: "VOD_BAD_MEDIA",
  /** The file is valid, but this output cannot carry its codecs. */
  Unsupported: "VOD_UNSUPPORTED",
  /** A helper program (ffmpeg) is missing. */
  NotImplemented: "VOD_NOT_IMPLEMENTED",
  /** Reading the file failed. */
  Io: "VOD_IO",
  /** An upload, move or delete conflicts: wrong offset, a file in the way, one at a time. */
  Conflict: "VOD_CONFLICT",
  /** An upload is over `origin.vod.maxUploadBytes` (or a chunk over its bound). */
  TooLarge: "VOD_TOO_LARGE",
} as const;
export type VodErrorCodeValue =
  (typeof VodErrorCode)[keyof typeof VodErrorCode];

const STATUS: Record<VodErrorCodeValue, number> = {
  VOD_NOT_FOUND: 404,
  VOD_BAD_PATH: 400,
  VOD_BAD_REQUEST: 400,
  VOD_BAD_MEDIA: 422,
  VOD_UNSUPPORTED: 415,
  VOD_NOT_IMPLEMENTED: 501,
  VOD_IO: 500,
  VOD_CONFLICT: 409,
  VOD_TOO_LARGE: 413,
};

/**
 * A VOD request that cannot be answered, with its status.
 *
 * @example
 * ```ts
 * import { VodError, VodErrorCode } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new VodError(VodErrorCode.NotFound, "Cannot find 'a.mp4'").status, 404);
 * ```
 */
export class VodError extends CodedError<VodErrorCodeValue> {
  override name = "VodError";
  readonly status: number;
  constructor(
    code: VodErrorCodeValue,
    message: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.status = STATUS[code];
  }
}
