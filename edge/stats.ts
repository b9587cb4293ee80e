/**
 * The edge's load counters: cache outcomes, bytes, egress rate, origin latency. Read by
 * `/healthz` (a summary the scheduler can steer by) and `/metrics`.
 *
 * @module
 */

/** Cache outcomes counted per response. */
export type CacheOutcome =
  | "hit"
  | "stale"
  | "miss"
  | "collapsed"
  | "revalidated"
  | "pass"
  | "error";

/** Bytes per second over a sliding window of one-second buckets. */
export class RateMeter {
  readonly #windowSeconds: number;
  readonly #buckets: Float64Array;
  #lastSecond = 0;
  readonly #now: () => number;

  constructor(windowSeconds = 10, now: () => number = Date.now) {
    this.#windowSeconds = windowSeconds;
    this.#buckets = new Float64Array(windowSeconds);
    this.#now = now;
    this.#lastSecond = Math.floor(now() / 1000);
  }

  #advance(): number {
    const sec = Math.floor(this.#now() / 1000);
    const gap = Math.min(sec - this.#lastSecond, this.#windowSeconds);
    for (let i = 1; i <= gap; i++) {
      this.#buckets[(this.#lastSecond + i) % this.#windowSeconds] = 0;
    }
    if (sec > this.#lastSecond) this.#lastSecond = sec;
    return sec;
  }

  add(n: number): void {
    const sec = this.#advance();
    this.#buckets[sec % this.#windowSeconds]! += n;
  }

  /** Average per second over the completed seconds of the window. */
  perSecond(): number {
    const sec = this.#advance();
    let sum = 0;
    for (let i = 1; i < this.#windowSeconds; i++) {
      sum += this
        .#buckets[(sec - i + this.#windowSeconds) % this.#windowSeconds]!;
    }
    return sum / (this.#windowSeconds - 1);
  }
}

/** Per-origin latency and outcome counters. */
export interface OriginCounters {
  requests: number;
  errors: number;
  status5xx: number;
  latencySecondsSum: number;
}

/**
 * Mutable counters owned by one edge.
 *
 * @example
 * ```ts
 * import { EdgeStats } from "./stats.ts";
 * const s = new EdgeStats();
 * s.count("hit");
 * s.count("miss");
 * if (s.hitRatio() !== 0.5) throw new Error("ratio");
 * ```
 */
export class EdgeStats {
  readonly outcomes: Record<CacheOutcome, number> = {
    hit: 0,
    stale: 0,
    miss: 0,
    collapsed: 0,
    revalidated: 0,
    pass: 0,
    error: 0,
  };
  bytesFromCache = 0;
  bytesFromOrigin = 0;
  bytesToViewers = 0;
  readonly egress: RateMeter;
  readonly origins = new Map<string, OriginCounters>();

  constructor(now: () => number = Date.now) {
    this.egress = new RateMeter(10, now);
  }

  count(outcome: CacheOutcome): void {
    this.outcomes[outcome]++;
  }

  /** Bytes written to viewers (any path). */
  sent(n: number): void {
    this.bytesToViewers += n;
    this.egress.add(n);
  }

  originResult(
    id: string,
    outcome: "ok" | "error" | "5xx",
    latencyMs: number,
  ): void {
    let c = this.origins.get(id);
    if (!c) {
      c = { requests: 0, errors: 0, status5xx: 0, latencySecondsSum: 0 };
      this.origins.set(id, c);
    }
    c.requests++;
    if (outcome === "error") c.errors++;
    if (outcome === "5xx") c.status5xx++;
    c.latencySecondsSum += latencyMs / 1000;
  }

  /** Hits (fresh and stale) over all cacheable lookups; 0 before any. */
  hitRatio(): number {
    const o = this.outcomes;
    const hits = o.hit + o.stale + o.collapsed + o.revalidated;
    const total = hits + o.miss;
    return total === 0 ? 0 : hits / total;
  }
}
