/**
 * Per-client lockout after repeated wrong secrets (service password, admin token).
 *
 * Kept in memory, per process: a control node behind a load balancer counts only what it sees.
 * That is enough to make online guessing pointless against generated 190-bit secrets; it is a
 * brake, not the protection.
 *
 * @module
 */

/** Clients tracked at once; the least recently seen is forgotten first (bounded memory). */
export const MAX_TRACKED_CLIENTS = 10_000;

/** Lockout settings (the `control.lockout` config section). */
export interface LockoutOptions {
  /** Wrong attempts within `windowSeconds` that lock a client out. */
  readonly maxFailures: number;
  /** Length of the counting window, from the first failure. */
  readonly windowSeconds: number;
  /** How long a locked-out client is refused. */
  readonly lockSeconds: number;
}

interface ClientState {
  failures: number;
  windowStartMs: number;
  lockedUntilMs: number;
}

/**
 * Counts failures per client key (an IP address) in a fixed window from the first failure.
 *
 * @example
 * ```ts
 * import { FailureLockout } from "./lockout.ts";
 * let now = 0;
 * const lock = new FailureLockout({ maxFailures: 2, windowSeconds: 60, lockSeconds: 300 }, () => now);
 * lock.recordFailure("10.0.0.1");
 * lock.recordFailure("10.0.0.1");
 * if (lock.retryAfterSeconds("10.0.0.1") !== 300) throw new Error("not locked");
 * now = 300_000;
 * if (lock.retryAfterSeconds("10.0.0.1") !== 0) throw new Error("still locked");
 * ```
 */
export class FailureLockout {
  readonly #options: LockoutOptions;
  readonly #clock: () => number;
  readonly #clients = new Map<string, ClientState>();

  /** @param clock Unix ms; tests pass a manual clock. */
  constructor(options: LockoutOptions, clock: () => number = Date.now) {
    this.#options = options;
    this.#clock = clock;
  }

  /** Seconds until `client` may try again (rounded up), or 0 when it is not locked out. */
  retryAfterSeconds(client: string): number {
    const s = this.#clients.get(client);
    if (!s) return 0;
    const left = s.lockedUntilMs - this.#clock();
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  /**
   * Counts one wrong attempt.
   * @returns True when this attempt locked the client out.
   */
  recordFailure(client: string): boolean {
    const now = this.#clock();
    let s = this.#clients.get(client);
    if (s) {
      this.#clients.delete(client); // re-inserted below: Map order is recency
    } else {
      s = { failures: 0, windowStartMs: now, lockedUntilMs: 0 };
      if (this.#clients.size >= MAX_TRACKED_CLIENTS) {
        const oldest = this.#clients.keys().next().value;
        if (oldest !== undefined) this.#clients.delete(oldest);
      }
    }
    if (now - s.windowStartMs >= this.#options.windowSeconds * 1000) {
      s.failures = 0;
      s.windowStartMs = now;
    }
    s.failures++;
    this.#clients.set(client, s);
    if (s.failures >= this.#options.maxFailures) {
      s.failures = 0;
      s.windowStartMs = now;
      s.lockedUntilMs = now + this.#options.lockSeconds * 1000;
      return true;
    }
    return false;
  }

  /** Forgets the client's failures after a right secret. */
  recordSuccess(client: string): void {
    this.#clients.delete(client);
  }

  /** Clients currently tracked (for metrics). */
  get size(): number {
    return this.#clients.size;
  }
}
