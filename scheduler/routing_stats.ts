/**
 * Which client regions the scheduler routes to which edges, over a sliding window: the routing
 * dashboard's map and its "client region → edge" table.
 *
 * Cost on the DNS hot path: one integer increment per steered answer. The handler asks
 * {@link RoutingStats.route} for a {@link RouteCounter} only when it computes a decision (a
 * decision-cache miss, where the geo lookup already happened), keeps the counter next to the
 * cached decision, and bumps `queries` on every answer served from it. So shares are exact
 * per query, not per decision, without sampling, and nothing is allocated or looked up per
 * query. The window is kept as marks (copies of every counter's total, taken at most every
 * {@link ROUTE_MARK_MS}, lazily when a decision is computed or the dashboard polls), never by
 * a timer, so an idle scheduler does no work.
 *
 * A client's region is its country as the geo lookup places the client subnet (the ECS subnet,
 * or the resolver's address without one); its position is the mean of the looked-up positions
 * in that country (a centroid of where its clients are, not of its territory).
 *
 * @module
 */

import type { ContinentCode, GeoResult } from "../geo/mod.ts";

/** Length of the sliding window the shares are computed over (ms). */
export const ROUTE_WINDOW_MS = 5 * 60_000;
/** Minimum time between two window marks (ms): the window's granularity. */
export const ROUTE_MARK_MS = 10_000;
/**
 * Distinct (region, edge) counters kept. Beyond it, counters idle over a whole window are
 * dropped, and new regions count as {@link OTHER_REGION}.
 */
export const MAX_ROUTES = 1024;
/** The region of clients the geo lookup cannot place (private, reserved or unknown). */
export const UNKNOWN_REGION = "??";
/** The region new clients count as while {@link MAX_ROUTES} counters are in use. */
export const OTHER_REGION = "other";

/** Answers served to one client region from one edge (since the counter was created). */
export class RouteCounter {
  /** Answers served; the handler increments it directly. */
  queries = 0;
  /**
   * @param carrier The client's carrier as `isp_match` placed it ("" when no filter did).
   * @param onNet The edge is on that carrier.
   */
  constructor(
    readonly region: string,
    readonly edgeId: string,
    readonly carrier = "",
    readonly onNet = false,
  ) {}
}

/** One row of {@link RoutingSnapshot.carriers}: answers to one carrier's clients. */
export interface CarrierShare {
  /** A `scheduler.isps` name, or `AS{n}` for a network of no listed carrier. */
  readonly carrier: string;
  /** Answers in the window. */
  readonly queries: number;
  /** Of them, answers whose edge is on the client's carrier. */
  readonly onNet: number;
  /** `onNet / queries`, 0..1. */
  readonly onNetShare: number;
}

/** One row of {@link RoutingSnapshot.routes}. */
export interface RouteShare {
  /** ISO 3166-1 alpha-2 country, {@link UNKNOWN_REGION} or {@link OTHER_REGION}. */
  readonly region: string;
  readonly continent: ContinentCode | null;
  /** Mean position of the region's looked-up clients; `null` when none had one. */
  readonly latitude: number | null;
  readonly longitude: number | null;
  readonly edgeId: string;
  /** Answers in the window. */
  readonly queries: number;
  /** `queries` over all routed answers in the window, 0..1. */
  readonly share: number;
}

/** What the dashboard shows of the routing. */
export interface RoutingSnapshot {
  /**
   * Seconds the counts cover: {@link ROUTE_WINDOW_MS} up to one {@link ROUTE_MARK_MS} more
   * (less while the scheduler is younger, more after a gap without decisions or polls).
   */
  readonly windowSeconds: number;
  /** Routed answers in the window. */
  readonly queries: number;
  /** Busiest first. */
  readonly routes: readonly RouteShare[];
  /** Answers by the client's carrier (chains with `isp_match`), busiest first. */
  readonly carriers: readonly CarrierShare[];
  /** Answers placed by carrier, and the share of them served on-net (0..1; 0 with none). */
  readonly carrierQueries: number;
  readonly onNetShare: number;
}

interface Region {
  continent: ContinentCode | null;
  latSum: number;
  lonSum: number;
  located: number;
}

interface Mark {
  readonly atMs: number;
  readonly totals: ReadonlyMap<RouteCounter, number>;
}

/**
 * The routing aggregation. One per scheduler process; the handler owns it.
 *
 * @example
 * ```ts
 * import { RoutingStats } from "./routing_stats.ts";
 * let now = 0;
 * const r = new RoutingStats(() => now);
 * const geo = { record: { country: "DE", latitude: 50, longitude: 8 }, prefixLength: 24, reserved: false };
 * const counter = r.route(geo, "fra1");
 * counter.queries += 3;
 * now = 1000;
 * const s = r.snapshot();
 * if (s.routes[0]?.share !== 1 || s.queries !== 3) throw new Error("one route");
 * ```
 */
export class RoutingStats {
  readonly #routes = new Map<string, RouteCounter>();
  readonly #regions = new Map<string, Region>();
  #marks: Mark[];

  constructor(readonly now: () => number = Date.now) {
    this.#marks = [{ atMs: now(), totals: new Map() }];
  }

  /** Distinct (region, edge) counters in use. */
  get size(): number {
    return this.#routes.size;
  }

  /**
   * The counter of answers from `edgeId` to the client `geo` placed. Called when a decision is
   * computed, not per answer; the caller increments `queries` for each answer it serves.
   */
  route(
    geo: GeoResult,
    edgeId: string,
    carrier?: { readonly name: string; readonly onNet: boolean },
  ): RouteCounter {
    const now = this.now();
    this.#maybeMark(now);
    const rec = geo.record;
    let region = rec?.country?.toUpperCase() || UNKNOWN_REGION;
    const net = carrier ? `|${carrier.name}|${carrier.onNet ? 1 : 0}` : "";
    let key = `${region}|${edgeId}${net}`;
    let counter = this.#routes.get(key);
    if (!counter && this.#routes.size >= MAX_ROUTES) {
      this.#prune(now);
      if (this.#routes.size >= MAX_ROUTES) {
        region = OTHER_REGION;
        key = `${region}|${edgeId}${net}`;
        counter = this.#routes.get(key);
      }
    }
    if (!counter) {
      counter = new RouteCounter(
        region,
        edgeId,
        carrier?.name ?? "",
        carrier?.onNet ?? false,
      );
      this.#routes.set(key, counter);
    }
    let r = this.#regions.get(region);
    if (!r) {
      r = {
        continent: region === OTHER_REGION ? null : rec?.continent ?? null,
        latSum: 0,
        lonSum: 0,
        located: 0,
      };
      this.#regions.set(region, r);
    }
    if (
      region !== OTHER_REGION && rec?.latitude !== undefined &&
      rec.longitude !== undefined
    ) {
      r.latSum += rec.latitude;
      r.lonSum += rec.longitude;
      r.located++;
    }
    return counter;
  }

  #maybeMark(now: number): void {
    const last = this.#marks.at(-1);
    if (last && now - last.atMs < ROUTE_MARK_MS) return;
    const totals = new Map<RouteCounter, number>();
    for (const c of this.#routes.values()) totals.set(c, c.queries);
    this.#marks.push({ atMs: now, totals });
    // Keep the marks inside the window plus the newest one before it (the baseline after a
    // gap in polling).
    const from = now - ROUTE_WINDOW_MS;
    let drop = 0;
    while (
      drop + 1 < this.#marks.length && this.#marks[drop + 1]!.atMs <= from
    ) drop++;
    if (drop) this.#marks = this.#marks.slice(drop);
  }

  /**
   * The mark the window counts from: the newest one at least a window old, else the oldest
   * (the scheduler is younger than a window).
   */
  #baseline(now: number): Mark {
    const from = now - ROUTE_WINDOW_MS;
    let base = this.#marks[0]!;
    for (const m of this.#marks) {
      if (m.atMs > from) break;
      base = m;
    }
    return base;
  }

  /**
   * Drops counters that served nothing over the whole window. A cached decision may still
   * hold one; its later answers are then not counted until the decision is recomputed.
   */
  #prune(now: number): void {
    const base = this.#marks[0]!;
    if (now - base.atMs < ROUTE_WINDOW_MS) return;
    for (const [key, c] of this.#routes) {
      if (c.queries === (base.totals.get(c) ?? 0)) this.#routes.delete(key);
    }
    const used = new Set<string>();
    for (const c of this.#routes.values()) used.add(c.region);
    for (const region of this.#regions.keys()) {
      if (!used.has(region)) this.#regions.delete(region);
    }
  }

  /** The window's routes with their shares, busiest first. */
  snapshot(): RoutingSnapshot {
    const now = this.now();
    const base = this.#baseline(now);
    this.#maybeMark(now);
    // Counters split by carrier; routes add them up per (region, edge).
    const byRoute = new Map<string, { c: RouteCounter; n: number }>();
    const byCarrier = new Map<string, { queries: number; onNet: number }>();
    let total = 0;
    let carrierQueries = 0;
    let onNetQueries = 0;
    for (const c of this.#routes.values()) {
      const n = c.queries - (base.totals.get(c) ?? 0);
      if (n <= 0) continue;
      const k = `${c.region}|${c.edgeId}`;
      const r = byRoute.get(k);
      if (r) r.n += n;
      else byRoute.set(k, { c, n });
      total += n;
      if (c.carrier) {
        const x = byCarrier.get(c.carrier) ?? { queries: 0, onNet: 0 };
        x.queries += n;
        if (c.onNet) x.onNet += n;
        byCarrier.set(c.carrier, x);
        carrierQueries += n;
        if (c.onNet) onNetQueries += n;
      }
    }
    const counts = [...byRoute.values()];
    counts.sort((a, b) =>
      b.n - a.n || a.c.region.localeCompare(b.c.region) ||
      a.c.edgeId.localeCompare(b.c.edgeId)
    );
    return {
      windowSeconds: Math.round((now - base.atMs) / 1000),
      queries: total,
      routes: counts.map(({ c, n }) => {
        const r = this.#regions.get(c.region);
        const located = r && r.located > 0;
        return {
          region: c.region,
          continent: r?.continent ?? null,
          latitude: located ? round2(r.latSum / r.located) : null,
          longitude: located ? round2(r.lonSum / r.located) : null,
          edgeId: c.edgeId,
          queries: n,
          share: Math.round((n / total) * 10_000) / 10_000,
        };
      }),
      carriers: [...byCarrier].map(([carrier, x]) => ({
        carrier,
        queries: x.queries,
        onNet: x.onNet,
        onNetShare: Math.round((x.onNet / x.queries) * 10_000) / 10_000,
      })).sort((a, b) =>
        b.queries - a.queries || a.carrier.localeCompare(b.carrier)
      ),
      carrierQueries,
      onNetShare: carrierQueries
        ? Math.round((onNetQueries / carrierQueries) * 10_000) / 10_000
        : 0,
    };
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
