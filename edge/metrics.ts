/**
 * The edge's request-time series: responses by cache result and status class, time to first
 * byte and total time per cache result, origin fetch durations and failures by reason, purge
 * lag. Fed by the HTTP/1.1 server's observer (every response, prebuilt-bytes hits included)
 * and the upstream client; every label set is resolved once, so an observation is a map lookup
 * and two array scans.
 *
 * The series read from state at scrape time (cache tiers, live FLV sessions, origin health)
 * are registered in `app.ts`.
 *
 * @module
 */

import type { AccessLog } from "../log/access/mod.ts";
import { accessRecordOf, type Http1Exchange } from "../net/mod.ts";
import { isLiveFlvPath } from "./app.ts";
import {
  type CounterChild,
  type CounterFamily,
  type HistogramChild,
  type HistogramFamily,
  LATENCY_BUCKETS_SECONDS,
  type MetricsRegistry,
} from "../metrics/mod.ts";

/**
 * What a response was, as the metrics and access log name it: the cache outcomes, `live` for
 * HTTP-FLV through the fan-out, `none` for the edge's own pages (`/metrics`, `/healthz`,
 * `/admin/*`).
 */
export type CacheResult =
  | "hit"
  | "stale"
  | "miss"
  | "collapsed"
  | "revalidated"
  | "pass"
  | "error"
  | "live"
  | "none";

/**
 * The cache result a `Cache-Status` field (RFC 9211 §2) of ours says.
 *
 * @example
 * ```ts
 * import { cacheResultOf } from "./metrics.ts";
 * import assert from "node:assert/strict";
 * assert.equal(cacheResultOf("Meridian; hit; ttl=3"), "hit");
 * assert.equal(cacheResultOf("Meridian; fwd=miss; fwd-status=200; stored; collapsed"), "collapsed");
 * assert.equal(cacheResultOf("Meridian; fwd=miss; fwd-status=200; detail=no-store"), "pass");
 * assert.equal(cacheResultOf(null), "none");
 * ```
 */
export function cacheResultOf(cacheStatus: string | null): CacheResult {
  if (cacheStatus === null) return "none";
  const s = cacheStatus;
  if (s.includes("detail=upstream-error") || s.includes("detail=timeout")) {
    return "error";
  }
  if (s.includes("; hit")) {
    return s.includes("stale-while-revalidate") ? "stale" : "hit";
  }
  if (s.includes("stale-if-error")) return "stale";
  if (s.includes("fwd-status=304")) return "revalidated";
  if (s.includes("fwd=bypass") || s.includes("fwd=request")) return "pass";
  if (s.includes("collapsed")) return "collapsed";
  if (s.includes("fwd=miss") || s.includes("fwd=stale")) {
    return s.includes("; stored") ? "miss" : "pass";
  }
  return "none";
}

/**
 * Without an access log (which times every request), one response in this many is timed for
 * the TTFB and total-time histograms: two clock reads cost about 7 % of a prebuilt-bytes hit
 * (bench/metrics_bench.ts), one in 8 under 1 %. Every response is counted.
 */
export const EDGE_TIME_EVERY = 8;

/** Why an origin fetch failed (`meridian_edge_origin_fetch_failures_total{reason}`). */
export type OriginFailure = "timeout" | "connect" | "broken" | "status";

/** Purge lag buckets (seconds): one feed poll (100 ms) to a stalled store. */
export const PURGE_LAG_BUCKETS_SECONDS: readonly number[] = [
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
];

const STATUS_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"] as const;

interface ResultSeries {
  readonly byClass: CounterChild[];
  readonly ttfb: HistogramChild;
  readonly total: HistogramChild;
}

interface OriginSeries {
  readonly duration: HistogramChild;
  readonly failures: Map<OriginFailure, CounterChild>;
}

/**
 * The edge's request-time metrics.
 *
 * @example
 * ```ts
 * import { MetricsRegistry } from "../metrics/mod.ts";
 * import { EdgeMetrics } from "./metrics.ts";
 * const m = new MetricsRegistry();
 * const e = new EdgeMetrics(m);
 * e.response("hit", 200, 0.0002, 0.0003);
 * if (!m.render().includes('meridian_edge_responses_total{cache="hit",status_class="2xx"} 1')) {
 *   throw new Error(m.render());
 * }
 * ```
 */
export class EdgeMetrics {
  readonly #responses: CounterFamily;
  readonly #ttfb: HistogramFamily;
  readonly #total: HistogramFamily;
  readonly #fetch: HistogramFamily;
  readonly #failures: CounterFamily;
  readonly #purgeLag: HistogramChild;
  readonly #byResult = new Map<string, ResultSeries>();
  readonly #byOrigin = new Map<string, OriginSeries>();

  constructor(registry: MetricsRegistry) {
    this.#responses = registry.counter(
      "meridian_edge_responses_total",
      "Responses to viewers by cache result (hit, stale, miss, collapsed, revalidated, pass, error, live, none) and status class",
      { labelNames: ["cache", "status_class"] },
    );
    this.#ttfb = registry.histogram(
      "meridian_edge_ttfb_seconds",
      `Time from a request's head to the first byte of its response, by cache result (sampled: one response in ${EDGE_TIME_EVERY} unless the access log is on)`,
      { labelNames: ["cache"] },
    );
    this.#total = registry.histogram(
      "meridian_edge_response_duration_seconds",
      `Time from a request's head to the last byte of its response, by cache result (live FLV sessions excluded; sampled like meridian_edge_ttfb_seconds)`,
      { labelNames: ["cache"] },
    );
    this.#fetch = registry.histogram(
      "meridian_edge_origin_fetch_duration_seconds",
      "Time from sending a request to an origin to its response headers (or failure), by origin",
      { labelNames: ["origin"], buckets: LATENCY_BUCKETS_SECONDS },
    );
    this.#failures = registry.counter(
      "meridian_edge_origin_fetch_failures_total",
      "Origin fetches that got no usable answer, by origin and reason (timeout, connect: refused, broken: cut mid-request, status: not an HTTP status)",
      { labelNames: ["origin", "reason"] },
    );
    this.#purgeLag = registry.histogram(
      "meridian_edge_purge_lag_seconds",
      "Time from a purge's publication (any edge or the control role) to this edge having applied it",
      { buckets: PURGE_LAG_BUCKETS_SECONDS },
    ).labels();
  }

  #result(cache: string): ResultSeries {
    let r = this.#byResult.get(cache);
    if (!r) {
      r = {
        byClass: STATUS_CLASSES.map((c) => this.#responses.labels(cache, c)),
        ttfb: this.#ttfb.labels(cache),
        total: this.#total.labels(cache),
      };
      this.#byResult.set(cache, r);
    }
    return r;
  }

  /**
   * Counts one response.
   *
   * @param ttfbSeconds Head → first byte; `undefined` when nothing was written or the
   *   response was not timed.
   * @param totalSeconds Head → last byte; `undefined` when not timed; not observed for `live`
   *   (a session, not a latency).
   */
  response(
    cache: CacheResult,
    status: number,
    ttfbSeconds: number | undefined,
    totalSeconds: number | undefined,
  ): void {
    const r = this.#result(cache);
    const cls = Math.floor(status / 100) - 1;
    if (cls >= 0 && cls < 5) r.byClass[cls]!.inc();
    if (ttfbSeconds !== undefined) r.ttfb.observe(ttfbSeconds);
    if (totalSeconds !== undefined && cache !== "live") {
      r.total.observe(totalSeconds);
    }
  }

  #origin(id: string): OriginSeries {
    let o = this.#byOrigin.get(id);
    if (!o) {
      o = { duration: this.#fetch.labels(id), failures: new Map() };
      this.#byOrigin.set(id, o);
    }
    return o;
  }

  /** Counts one origin fetch attempt: its time to headers, and why it failed if it did. */
  originFetch(
    origin: string,
    seconds: number,
    failure: OriginFailure | undefined,
  ): void {
    const o = this.#origin(origin);
    o.duration.observe(seconds);
    if (failure === undefined) return;
    let c = o.failures.get(failure);
    if (!c) {
      c = this.#failures.labels(origin, failure);
      o.failures.set(failure, c);
    }
    c.inc();
  }

  /** A purge applied `seconds` after its publication. */
  purgeApplied(seconds: number): void {
    this.#purgeLag.observe(Math.max(0, seconds));
  }
}

/** What an observed exchange was, as the edge's metrics and access log name it. */
export function cacheOfExchange(x: Http1Exchange): CacheResult {
  if (x.fast) {
    // Prebuilt bytes: a plain hit, or a request joined to another's fill (502/504 when that
    // fill failed).
    if (x.status >= 500) return "error";
    return x.label === "collapsed" ? "collapsed" : "hit";
  }
  // HTTP-FLV through the fan-out carries a Cache-Status of its upstream too: its path decides.
  const q = x.head.target.indexOf("?");
  if (isLiveFlvPath(q < 0 ? x.head.target : x.head.target.slice(0, q))) {
    return "live";
  }
  return cacheResultOf(x.response?.headers.get("cache-status") ?? null);
}

/**
 * The edge's observer of its HTTP/1.1 server: every answered request (prebuilt-bytes hits
 * included) counted in {@link EdgeMetrics} and, when on, written to the access log.
 */
export function createEdgeObserver(
  metrics: EdgeMetrics,
  accessLog: AccessLog | undefined,
): (x: Http1Exchange) => void {
  return (x) => {
    const cache = cacheOfExchange(x);
    if (x.timed) {
      metrics.response(
        cache,
        x.status,
        x.firstByteMs > 0 ? (x.firstByteMs - x.startMs) / 1000 : undefined,
        (x.endMs - x.startMs) / 1000,
      );
    } else metrics.response(cache, x.status, undefined, undefined);
    accessLog?.http(accessRecordOf(x, cache));
  };
}
