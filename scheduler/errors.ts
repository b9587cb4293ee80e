/**
 * Errors of the scheduler role outside DNS decoding (which has `dns/errors.ts`): the libc UDP
 * socket and DNS workers that cannot start. A port that cannot be bound is net/'s `NetError`.
 *
 * @module
 */

import { CodedError } from "../errors/mod.ts";

/** Stable codes of {@link SchedulerError}. */
export const SchedulerErrorCode = {
  /**
   * The libc UDP socket cannot be used here: not Linux, or `scheduler.hostname` is not an IP
   * address (`scheduler.dns.workers` > 1 or `scheduler.dns.udpSocket: libc` need both).
   */
  Platform: "SCHEDULER_PLATFORM",
  /** A libc socket call failed (socket, setsockopt, bind): the message has `strerror`'s text. */
  Socket: "SCHEDULER_SOCKET",
  /** A DNS worker thread failed to start or crashed. */
  Worker: "SCHEDULER_WORKER",
} as const;

/** One of the {@link SchedulerErrorCode} values. */
export type SchedulerErrorCodeValue =
  (typeof SchedulerErrorCode)[keyof typeof SchedulerErrorCode];

/**
 * A start-up failure of the scheduler; `cause` holds the underlying error.
 *
 * @example
 * ```ts
 * import { SchedulerError, SchedulerErrorCode } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const e = new SchedulerError(SchedulerErrorCode.Worker, "Cannot start DNS worker 2: it crashed");
 * assert.equal(e.code, "SCHEDULER_WORKER");
 * ```
 */
export class SchedulerError extends CodedError<SchedulerErrorCodeValue> {
  override name = "SchedulerError";
}
