/**
 * Opening a role's listeners at start-up: a listener that cannot be bound is an error naming
 * the address, and a start-up that fails half-way closes what it had already opened, so that a
 * failed start leaves no port bound and no timer running (and a supervisor's retry can bind).
 *
 * @module
 */

import { CodedError } from "../errors/mod.ts";

/** Stable codes of {@link NetError}. */
export const NetErrorCode = {
  /** A listener (TCP or UDP) cannot be bound: the message names what and the address. */
  Listen: "NET_LISTEN",
} as const;

/** One of the {@link NetErrorCode} values. */
export type NetErrorCodeValue =
  (typeof NetErrorCode)[keyof typeof NetErrorCode];

/** A listener that cannot be opened; `cause` holds the system's error. */
export class NetError extends CodedError<NetErrorCodeValue> {
  override name = "NetError";
}

/** `host:port`, with an IPv6 address in brackets. */
function authority(hostname: string, port: number): string {
  return `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}

/**
 * Opens a listener with `open`; if it throws, the error becomes a {@link NetError} naming what
 * the listener is for and its address, with the system's error as `cause`.
 *
 * @param what What listens, as a user reads it: `"RTMP"`, `"HTTP"`, `"DNS TCP"`.
 * @throws {NetError} `NET_LISTEN` when `open` throws.
 *
 * @example
 * ```ts
 * import { NetError, openListener } from "./listen.ts";
 * import assert from "node:assert/strict";
 * const held = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const port = (held.addr as Deno.NetAddr).port;
 * try {
 *   await assert.rejects(
 *     openListener("HTTP", "127.0.0.1", port, () => Deno.listen({ hostname: "127.0.0.1", port })),
 *     (e) => e instanceof NetError && e.message.startsWith(`Cannot listen for HTTP on 127.0.0.1:${port}`),
 *   );
 * } finally {
 *   held.close();
 * }
 * ```
 */
export async function openListener<T>(
  what: string,
  hostname: string,
  port: number,
  open: () => T | Promise<T>,
): Promise<T> {
  try {
    return await open();
  } catch (cause) {
    const reason = cause instanceof Deno.errors.AddrInUse
      ? "the address is in use"
      : cause instanceof Error
      ? cause.message
      : String(cause);
    throw new NetError(
      NetErrorCode.Listen,
      `Cannot listen for ${what} on ${authority(hostname, port)}: ${reason}`,
      { cause },
    );
  }
}

/**
 * What a start-up has opened so far (listeners, timers, subscriptions), closed newest first
 * when a later step fails: a role either starts whole or leaves nothing behind.
 *
 * @example
 * ```ts
 * import { StartupCleanup } from "./listen.ts";
 * import assert from "node:assert/strict";
 * const closed: string[] = [];
 * const opened = new StartupCleanup();
 * opened.add(() => closed.push("first"));
 * opened.add(() => closed.push("second"));
 * await assert.rejects(opened.run(() => { throw new Error("third fails"); }), /third fails/);
 * assert.deepEqual(closed, ["second", "first"]);
 * ```
 */
export class StartupCleanup {
  #closers: (() => unknown)[] = [];

  /** Remembers how to close something just opened. */
  add(close: () => unknown): void {
    this.#closers.push(close);
  }

  /**
   * Runs one start-up step; if it throws, closes everything added so far and rethrows the
   * step's error (a failed close is not what the operator needs to read first).
   */
  async run<T>(step: () => T | Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  /**
   * {@link openListener} as one step of {@link run}: a listener that cannot be bound closes
   * what was opened before it, and the error names its address.
   *
   * @throws {NetError} `NET_LISTEN` when `open` throws.
   */
  listen<T>(
    what: string,
    hostname: string,
    port: number,
    open: () => T | Promise<T>,
  ): Promise<T> {
    return this.run(() => openListener(what, hostname, port, open));
  }

  /** Closes everything added, newest first, each once; a close that fails is skipped. */
  async close(): Promise<void> {
    const closers = this.#closers.reverse();
    this.#closers = [];
    for (const close of closers) {
      try {
        await close();
      } catch {
        // Best effort: the start-up error is rethrown by the caller.
      }
    }
  }
}
