/**
 * Per-client lockout after repeated wrong secrets (service password, admin token), shared by
 * every admin gate (control, edge, scheduler) and the token service.
 *
 * A lockout refuses wrong secrets only: the right one always passes, locked or not. A lock
 * that also refused the right secret would let anyone who shares the operator's address (a
 * NAT, a proxy, the same host) lock the operator out for `lockSeconds` with a few wrong
 * guesses. The price is that a locked client still tells right from wrong (429 against
 * success): the lock slows nobody who guesses, it stops counting and says so. Guessing is
 * defeated by the secrets' length (generated admin tokens carry 190 bits; configured ones
 * need at least 16 characters, service passwords 12), not by this brake.
 *
 * Kept in memory, per process: a control node behind a load balancer counts only what it sees.
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

/** What a gate does with one presented secret ({@link FailureLockout.judge}). */
export type LockoutVerdict =
  /** The secret is right: let it through, whatever the client's lock. */
  | { readonly kind: "pass" }
  /** Wrong, counted; `lockedNow` when this attempt locked the client. */
  | { readonly kind: "wrong"; readonly lockedNow: boolean }
  /** Wrong, while the client is locked out: refuse (429) without counting. */
  | { readonly kind: "locked"; readonly retryAfterSeconds: number };

interface ClientState {
  failures: number;
  windowStartMs: number;
  lockedUntilMs: number;
}

/**
 * Counts wrong secrets per client key (an IP address) in a fixed window from the first one.
 *
 * @example
 * ```ts
 * import { FailureLockout } from "./lockout.ts";
 * let now = 0;
 * const lock = new FailureLockout({ maxFailures: 2, windowSeconds: 60, lockSeconds: 300 }, () => now);
 * lock.judge("10.0.0.1", false);
 * lock.judge("10.0.0.1", false);
 * if (lock.judge("10.0.0.1", false).kind !== "locked") throw new Error("not locked");
 * if (lock.judge("10.0.0.1", true).kind !== "pass") throw new Error("the right secret waits");
 * now = 300_000;
 * if (lock.retryAfterSeconds("10.0.0.1") !== 0) throw new Error("still locked");
 * ```
 */
export class FailureLockout {
  readonly #options: LockoutOptions;
  readonly #clock: () => number;
  readonly #clients = new Map<string, ClientState>();
  #lockouts = 0;

  /** @param clock Unix ms; tests pass a manual clock. */
  constructor(options: LockoutOptions, clock: () => number = Date.now) {
    this.#options = options;
    this.#clock = clock;
  }

  /**
   * Seconds until `client`'s wrong secrets are counted again (rounded up), or 0 when it is not
   * locked out. A request without any secret is refused (429) meanwhile.
   */
  retryAfterSeconds(client: string): number {
    const s = this.#clients.get(client);
    if (!s) return 0;
    const left = s.lockedUntilMs - this.#clock();
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  /**
   * Judges one presented secret: a right one passes (locked or not, and it clears the count of
   * a client that is not locked); a wrong one is refused while the client is locked out, and
   * counted otherwise.
   *
   * @param client The client key (its address).
   * @param right Whether the presented secret is right (compare it in constant time first).
   */
  judge(client: string, right: boolean): LockoutVerdict {
    if (right) {
      // A lock stays: the client may be someone else behind the same address.
      if (this.retryAfterSeconds(client) === 0) this.#clients.delete(client);
      return { kind: "pass" };
    }
    const retryAfterSeconds = this.retryAfterSeconds(client);
    if (retryAfterSeconds > 0) return { kind: "locked", retryAfterSeconds };
    return { kind: "wrong", lockedNow: this.#recordFailure(client) };
  }

  /** Counts one wrong attempt. @returns True when it locked the client out. */
  #recordFailure(client: string): boolean {
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
      this.#lockouts++;
      return true;
    }
    return false;
  }

  /** Clients currently tracked (for metrics). */
  get size(): number {
    return this.#clients.size;
  }

  /** Times a client was locked out (for metrics). */
  get lockouts(): number {
    return this.#lockouts;
  }
}
