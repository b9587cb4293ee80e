/**
 * Origin health: active `/healthz` checks with rise/fall counts, passive signals from real
 * traffic, and slow start after a recovery.
 *
 * Passive signals never take an origin down by themselves, because viewers choose the URLs: an
 * origin may answer 502 or 503 for one path on purpose, or be slow on one, and three requests
 * for it must not empty the pool. Such a signal (a gateway-class status, a timeout, a
 * connection that broke mid-request) asks for an active check at once instead
 * ({@link HealthMonitor.reportSuspect}, bounded per origin), and only checks count toward
 * `fall`. Only a refused connection, which no URL can cause, takes an origin down directly.
 *
 * Kept apart from selection (gdnsd monitors vs resolvers): selectors only read
 * {@link OriginHealthView}.
 *
 * @module
 */

import type { Logger } from "../../log/mod.ts";
import type { Origin, OriginHealthView } from "./select.ts";

/**
 * Least time between two active checks of one origin that passive signals ask for (ms): a
 * burst of 5xx answers costs the origin at most one `/healthz` a second.
 */
export const SUSPECT_CHECK_MIN_GAP_MS = 1_000;

/** Options of {@link HealthMonitor}; the `edge.upstream` config slice. */
export interface HealthMonitorOptions {
  /** Time between active checks of each origin (ms). */
  readonly intervalMs: number;
  /** An active check slower than this fails (ms). */
  readonly timeoutMs: number;
  /** Consecutive successes that bring a down origin up. */
  readonly rise: number;
  /** Consecutive failures that take an up origin down. */
  readonly fall: number;
  /** Weight ramp after recovery (ms); 0 disables slow start. */
  readonly slowStartMs: number;
}

/** What {@link HealthMonitor} needs from outside. */
export interface HealthMonitorDeps {
  /** One active probe; resolves true when healthy. @default GET {url}/healthz expecting 2xx */
  readonly probe?: (origin: Origin, signal: AbortSignal) => Promise<boolean>;
  /** Epoch ms. @default Date.now */
  readonly now?: () => number;
  readonly log: Logger;
  /** HTTP client for the default probe. */
  readonly client?: Deno.HttpClient;
}

/** One origin's health, for `/healthz` and `/metrics`. */
export interface OriginHealth {
  readonly id: string;
  readonly up: boolean;
  readonly weightFactor: number;
  readonly consecutiveFailures: number;
  readonly consecutiveSuccesses: number;
  readonly lastError: string | undefined;
  readonly lastCheckMs: number | undefined;
}

interface State {
  up: boolean;
  failures: number;
  successes: number;
  recoveredAtMs: number | undefined;
  lastError: string | undefined;
  lastCheckMs: number | undefined;
  /** When the last check asked by a passive signal started. */
  lastSuspectCheckMs: number | undefined;
  /** A check asked by a passive signal is running. */
  suspectChecking: boolean;
}

/**
 * Tracks the health of every origin.
 *
 * @example
 * ```ts
 * import { HealthMonitor } from "./health.ts";
 * import { silentLogger } from "../../log/mod.ts";
 * const origins = [{ id: "a", url: "http://a", weight: 1, region: "" }];
 * const m = new HealthMonitor(origins, { intervalMs: 1000, timeoutMs: 100, rise: 1, fall: 1, slowStartMs: 0 },
 *   { probe: () => Promise.resolve(false), log: silentLogger });
 * await m.checkAll();
 * if (m.isUp("a")) throw new Error("should be down");
 * ```
 */
export class HealthMonitor implements OriginHealthView {
  readonly #origins: readonly Origin[];
  readonly #options: HealthMonitorOptions;
  readonly #probe: (origin: Origin, signal: AbortSignal) => Promise<boolean>;
  readonly #now: () => number;
  readonly #log: Logger;
  readonly #states = new Map<string, State>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #running: Promise<void> | undefined;
  #closed = false;
  readonly #inflight = new Set<AbortController>();
  readonly #suspectChecks = new Set<Promise<void>>();

  constructor(
    origins: readonly Origin[],
    options: HealthMonitorOptions,
    deps: HealthMonitorDeps,
  ) {
    this.#origins = origins;
    this.#options = options;
    this.#now = deps.now ?? Date.now;
    this.#log = deps.log;
    const client = deps.client;
    this.#probe = deps.probe ?? (async (origin, signal) => {
      const res = await fetch(`${origin.url}/healthz`, {
        signal,
        ...(client ? { client } : {}),
      });
      await res.body?.cancel();
      return res.ok;
    });
    for (const o of origins) {
      this.#states.set(o.id, {
        up: true,
        failures: 0,
        successes: 0,
        recoveredAtMs: undefined,
        lastError: undefined,
        lastCheckMs: undefined,
        lastSuspectCheckMs: undefined,
        suspectChecking: false,
      });
    }
  }

  /** Starts the periodic active checks (the first one at once). */
  start(): void {
    if (this.#timer !== undefined || this.#closed) return;
    const tick = () => {
      if (this.#running) return; // never overlap rounds
      this.#running = this.checkAll().finally(() => this.#running = undefined);
    };
    tick();
    this.#timer = setInterval(tick, this.#options.intervalMs);
  }

  /** Runs one active check of every origin, in parallel. */
  async checkAll(): Promise<void> {
    await Promise.all(this.#origins.map((o) => this.#checkOne(o)));
  }

  async #checkOne(origin: Origin): Promise<void> {
    const ac = new AbortController();
    this.#inflight.add(ac);
    const timer = setTimeout(() => ac.abort(), this.#options.timeoutMs);
    let ok = false;
    let error: string | undefined;
    try {
      ok = await this.#probe(origin, ac.signal);
      if (!ok) error = "health check answered not ok";
    } catch (e) {
      error = ac.signal.aborted
        ? `health check timed out after ${this.#options.timeoutMs} ms`
        : `health check failed: ${e instanceof Error ? e.message : String(e)}`;
    } finally {
      clearTimeout(timer);
      this.#inflight.delete(ac);
    }
    if (this.#closed) return;
    this.#states.get(origin.id)!.lastCheckMs = this.#now();
    if (ok) this.reportSuccess(origin.id);
    else this.reportFailure(origin.id, error ?? "health check failed");
  }

  /** Passive or active success. */
  reportSuccess(id: string): void {
    const s = this.#states.get(id);
    if (!s) return;
    s.failures = 0;
    s.successes++;
    if (!s.up && s.successes >= this.#options.rise) {
      s.up = true;
      s.recoveredAtMs = this.#now();
      s.lastError = undefined;
      this.#log.info("origin up", { origin: id });
    }
  }

  /**
   * A passive sign that an origin may be failing: a gateway-class status (502, 503, 504), a
   * timeout or a connection that broke mid-request. It does not count as a failure (a viewer
   * picks the URL); it runs an active check of the origin now, unless one asked this way is
   * running or started less than {@link SUSPECT_CHECK_MIN_GAP_MS} ago. The check counts as
   * usual (`fall`).
   */
  reportSuspect(id: string, reason: string): void {
    const s = this.#states.get(id);
    const origin = this.#origins.find((o) => o.id === id);
    if (!s || !origin || this.#closed || s.suspectChecking) return;
    const now = this.#now();
    if (
      s.lastSuspectCheckMs !== undefined &&
      now - s.lastSuspectCheckMs < SUSPECT_CHECK_MIN_GAP_MS
    ) return;
    s.lastSuspectCheckMs = now;
    s.suspectChecking = true;
    this.#log.debug("checking origin after a passive signal", {
      origin: id,
      reason,
    });
    const check = this.#checkOne(origin).finally(() => {
      s.suspectChecking = false;
      this.#suspectChecks.delete(check);
    });
    this.#suspectChecks.add(check);
  }

  /** Checks asked by {@link reportSuspect} that are still running (for tests). */
  async settled(): Promise<void> {
    while (this.#suspectChecks.size > 0) {
      await Promise.allSettled([...this.#suspectChecks]);
    }
  }

  /**
   * An active check failed, or an origin refused a connection (`immediate`: certain, whatever
   * the URL, so it takes the origin down at once). Passive signals that a viewer's choice of
   * URL can cause go to {@link reportSuspect} instead.
   */
  reportFailure(id: string, reason: string, immediate = false): void {
    const s = this.#states.get(id);
    if (!s) return;
    s.successes = 0;
    s.failures++;
    s.lastError = reason;
    if (s.up && (immediate || s.failures >= this.#options.fall)) {
      s.up = false;
      s.recoveredAtMs = undefined;
      this.#log.warn("origin down", { origin: id, reason });
    }
  }

  isUp(id: string): boolean {
    return this.#states.get(id)?.up ?? false;
  }

  weightFactor(id: string): number {
    const s = this.#states.get(id);
    if (!s || !s.up) return 0;
    const ramp = this.#options.slowStartMs;
    if (s.recoveredAtMs === undefined || ramp <= 0) return 1;
    return Math.min(1, (this.#now() - s.recoveredAtMs) / ramp);
  }

  snapshot(): OriginHealth[] {
    return this.#origins.map((o) => {
      const s = this.#states.get(o.id)!;
      return {
        id: o.id,
        up: s.up,
        weightFactor: this.weightFactor(o.id),
        consecutiveFailures: s.failures,
        consecutiveSuccesses: s.successes,
        lastError: s.lastError,
        lastCheckMs: s.lastCheckMs,
      };
    });
  }

  /** Stops the timer and aborts checks in flight; waits for the current round. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const ac of this.#inflight) ac.abort();
    await this.#running;
    await this.settled();
  }
}
