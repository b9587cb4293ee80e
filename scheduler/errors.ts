/**
 * Errors of the scheduler role outside DNS decoding (which has `dns/errors.ts`): listeners that
 * cannot be opened and DNS workers that cannot start.
 *
 * @module
 */

import { CodedError } from "../errors/mod.ts";

/** Stable codes of {@link SchedulerError}. */
export const SchedulerErrorCode = {
  /** A DNS (UDP or TCP) or HTTP port cannot be bound: the message names the address. */
  Listen: "SCHEDULER_LISTEN",
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
 * const e = new SchedulerError(SchedulerErrorCode.Listen, "Cannot bind DNS TCP port on 127.0.0.1:53");
 * assert.equal(e.code, "SCHEDULER_LISTEN");
 * ```
 */
export class SchedulerError extends CodedError<SchedulerErrorCodeValue> {
  override name = "SchedulerError";
}
