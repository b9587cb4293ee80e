/**
 * Errors of the time-addressed archive (DVR, time-shift, recordings, clips), each with the HTTP
 * status it answers and, where it helps the caller, what is available instead.
 *
 * @module
 */

/** Stable codes of {@link ArchiveError}. */
export const ArchiveErrorCode = {
  /** A malformed request: a bad time, a start after its end, an unknown field. */
  BadRequest: "ARCHIVE_BAD_REQUEST",
  /** No such stream in the archive (never published here, or DVR off), job or recording. */
  NotFound: "ARCHIVE_NOT_FOUND",
  /** The range lies outside what the window holds (or is longer than the window). */
  OutOfWindow: "ARCHIVE_OUT_OF_WINDOW",
  /** A recording of the stream is already running (start) or is not (stop). */
  Conflict: "ARCHIVE_CONFLICT",
  /** The media cannot be written in the asked format (HEVC as HLS, exact cuts of non-H.264). */
  Unsupported: "ARCHIVE_UNSUPPORTED",
  /** The disk is full: nothing more can be written now. */
  DiskFull: "ARCHIVE_DISK_FULL",
  /** A helper program (ffmpeg) is missing or failed. */
  Tool: "ARCHIVE_TOOL",
  /** Writing or reading failed (a folder that is not writable, a vanished file). */
  Io: "ARCHIVE_IO",
  /** The job was cancelled. */
  Cancelled: "ARCHIVE_CANCELLED",
} as const;
export type ArchiveErrorCodeValue =
  (typeof ArchiveErrorCode)[keyof typeof ArchiveErrorCode];

const STATUS: Record<ArchiveErrorCodeValue, number> = {
  ARCHIVE_BAD_REQUEST: 400,
  ARCHIVE_NOT_FOUND: 404,
  // RFC 9110 §15.5.17: the range cannot be served from what the window holds.
  ARCHIVE_OUT_OF_WINDOW: 416,
  ARCHIVE_CONFLICT: 409,
  ARCHIVE_UNSUPPORTED: 422,
  // RFC 4918 §11.5: the server cannot store what the request needs.
  ARCHIVE_DISK_FULL: 507,
  ARCHIVE_TOOL: 502,
  ARCHIVE_IO: 500,
  ARCHIVE_CANCELLED: 409,
};

/** A time span the archive holds, as the errors and listings name it. */
export interface AvailableRange {
  /** ISO 8601 (UTC). */
  readonly start: string;
  readonly end: string;
  /** Unix seconds. */
  readonly startUnix: number;
  readonly endUnix: number;
}

/** The span `[startMs, endMs]` in both forms. */
export function availableRange(startMs: number, endMs: number): AvailableRange {
  return {
    start: new Date(startMs).toISOString(),
    end: new Date(endMs).toISOString(),
    startUnix: Math.floor(startMs / 1000),
    endUnix: Math.ceil(endMs / 1000),
  };
}

/**
 * An archive request that cannot be answered, with its status.
 *
 * @example
 * ```ts
 * import { ArchiveError, ArchiveErrorCode } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new ArchiveError(ArchiveErrorCode.OutOfWindow, "Cannot serve 'start'").status, 416);
 * ```
 */
export class ArchiveError extends Error {
  override name = "ArchiveError";
  readonly code: ArchiveErrorCodeValue;
  readonly status: number;
  /** What the stream's window holds, for 416 and 404 answers. */
  readonly available: AvailableRange | undefined;
  /** The request field at fault, when one is. */
  readonly field: string | undefined;
  constructor(
    code: ArchiveErrorCodeValue,
    message: string,
    options?: ErrorOptions & {
      readonly available?: AvailableRange | undefined;
      readonly field?: string | undefined;
    },
  ) {
    super(message, options);
    this.code = code;
    this.status = STATUS[code];
    this.available = options?.available;
    this.field = options?.field;
  }

  /** The JSON body of the answer: the message, the code, and the available range if known. */
  toJSON(): Record<string, unknown> {
    return {
      error: this.message,
      code: this.code,
      ...(this.field === undefined ? {} : { field: this.field }),
      ...(this.available === undefined ? {} : { available: this.available }),
    };
  }
}

/** True when `err` says the disk (or quota) is full. */
export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}
