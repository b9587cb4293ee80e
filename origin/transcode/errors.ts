/**
 * Errors of transcoding (live renditions, VOD jobs, snapshots), each with the HTTP status its
 * API answers.
 *
 * @module
 */

import { CodedError } from "../../errors/mod.ts";

/** Stable codes of {@link TranscodeError}. */
export const TranscodeErrorCode = {
  /** ffmpeg is not installed (or `origin.transcode.ffmpegPath` names nothing). */
  FfmpegMissing: "TRANSCODE_FFMPEG_MISSING",
  /** The child could not be started (permissions, resources). */
  Spawn: "TRANSCODE_SPAWN",
  /** ffmpeg exited or was killed before its input ended. */
  Crashed: "TRANSCODE_CRASHED",
  /** A rendition crashed `maxRestarts` times in a row and is not restarted. */
  GaveUp: "TRANSCODE_GAVE_UP",
  /** ffmpeg wrote nothing for `stallTimeoutSeconds` (an undecodable source, a hang). */
  Stalled: "TRANSCODE_STALLED",
  /** ffmpeg fell behind the live source by more than the viewer queue cap. */
  TooSlow: "TRANSCODE_TOO_SLOW",
  /** `origin.transcode.maxProcesses` children run already. */
  Limit: "TRANSCODE_LIMIT",
  /** A rendition's stream name is already published by someone else. */
  NameTaken: "TRANSCODE_NAME_TAKEN",
  /** A job request is malformed (path, profiles, format). */
  BadRequest: "TRANSCODE_BAD_REQUEST",
  /** No such job, file or stream. */
  NotFound: "TRANSCODE_NOT_FOUND",
  /** The request conflicts with what exists (an output folder, a finished job). */
  Conflict: "TRANSCODE_CONFLICT",
  /** A job's ffmpeg failed, or its output could not be written. */
  JobFailed: "TRANSCODE_JOB_FAILED",
  /** The job queue is full. */
  QueueFull: "TRANSCODE_QUEUE_FULL",
} as const;
export type TranscodeErrorCodeValue =
  (typeof TranscodeErrorCode)[keyof typeof TranscodeErrorCode];

const STATUS: Record<TranscodeErrorCodeValue, number> = {
  TRANSCODE_FFMPEG_MISSING: 501,
  TRANSCODE_SPAWN: 500,
  TRANSCODE_CRASHED: 500,
  TRANSCODE_GAVE_UP: 500,
  TRANSCODE_TOO_SLOW: 500,
  TRANSCODE_STALLED: 500,
  TRANSCODE_LIMIT: 503,
  TRANSCODE_NAME_TAKEN: 409,
  TRANSCODE_BAD_REQUEST: 400,
  TRANSCODE_NOT_FOUND: 404,
  TRANSCODE_CONFLICT: 409,
  TRANSCODE_JOB_FAILED: 500,
  TRANSCODE_QUEUE_FULL: 503,
};

/**
 * A transcoding failure, with the status an API answers it with.
 *
 * @example
 * ```ts
 * import { TranscodeError, TranscodeErrorCode } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new TranscodeError(TranscodeErrorCode.NotFound, "Cannot find job 'x'").status, 404);
 * ```
 */
export class TranscodeError extends CodedError<TranscodeErrorCodeValue> {
  override name = "TranscodeError";
  readonly status: number;
  constructor(
    code: TranscodeErrorCodeValue,
    message: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.status = STATUS[code];
  }
}
