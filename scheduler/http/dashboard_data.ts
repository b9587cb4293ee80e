/**
 * The routing dashboard's data (`GET /api/dashboard`): every edge with its state timeline,
 * load and hit ratio, where client regions are routed, and the DNS counters. The page renders
 * exactly this object, so anything on the page is also here.
 *
 * @module
 */

import { DBIP_ATTRIBUTION_HTML } from "../../geo/mod.ts";
import type { EdgeSource } from "../edges.ts";
import { StoreEdgeSource } from "../edges_store.ts";
import {
  type EdgeHealthState,
  edgeHealthState,
  type TimelineSegment,
  timelineSegments,
} from "../health/history.ts";
import type { HealthSnapshot } from "../health/monitor.ts";
import type { RoutingSnapshot, RoutingStats } from "../routing_stats.ts";
import type { DnsStats } from "../stats.ts";

/** How far back each edge's state timeline reaches (ms). */
export const TIMELINE_MS = 15 * 60_000;

/** One edge as the dashboard shows it. */
export interface DashboardEdge {
  readonly id: string;
  readonly region: string;
  readonly address: string;
  readonly address6: string;
  readonly latitude: number;
  readonly longitude: number;
  readonly capacity: number;
  /** Reported load, 0..1 (more is overload). */
  readonly load: number;
  /** Cache hit ratio 0..1 as the edge registry reports it; `null` for config-listed edges. */
  readonly hitRatio: number | null;
  /** Viewers as the edge registry reports them; `null` for config-listed edges. */
  readonly viewers: number | null;
  /** Carriers it declares (`isp`), and AS numbers (`asns`). */
  readonly isps: readonly string[];
  readonly asns: readonly number[];
  /** Live streams it reports serving; `null` for config-listed edges. */
  readonly streams: number | null;
  /** What answers use now (with a shared registry: every scheduler's verdicts combined). */
  readonly state: EdgeHealthState;
  /** ISO time of the last check; "" before the first. */
  readonly lastCheck: string;
  readonly lastError: string;
  readonly healthTarget: string;
  /** This scheduler's checks over the last {@link TIMELINE_MS}, oldest first. */
  readonly timeline: readonly TimelineSegment[];
}

/** The whole `/api/dashboard` object. */
export interface DashboardData {
  readonly generatedAtMs: number;
  /** The span every edge's `timeline` covers. */
  readonly timeline: { readonly fromMs: number; readonly toMs: number };
  readonly edges: readonly DashboardEdge[];
  readonly routing: RoutingSnapshot;
  /** {@link DnsStats.snapshot} plus `rateHistory`: answers per second, oldest first. */
  readonly dns: Record<string, unknown> & { readonly rateHistory: number[] };
  readonly cachedTemplates: number;
  readonly attribution: string;
}

/** What {@link buildDashboard} reads. */
export interface DashboardSources {
  readonly edges: EdgeSource;
  readonly health: HealthSnapshot;
  readonly stats: DnsStats;
  readonly routing: RoutingStats;
  readonly cachedTemplates: number;
  readonly now?: () => number;
}

/** Builds the dashboard's data at one moment. */
export function buildDashboard(src: DashboardSources): DashboardData {
  const now = (src.now ?? Date.now)();
  const fromMs = now - TIMELINE_MS;
  // Registered edges report load details with their heartbeats; config edges have none.
  const records = src.edges instanceof StoreEdgeSource
    ? new Map(src.edges.records().map((r) => [r.id, r]))
    : undefined;
  const edges = src.edges.list().map((s): DashboardEdge => {
    const h = src.health.state(s.edge.id);
    const rec = records?.get(s.edge.id);
    return {
      id: s.edge.id,
      region: s.edge.region,
      address: s.edge.address,
      address6: s.edge.address6,
      latitude: s.edge.latitude,
      longitude: s.edge.longitude,
      capacity: s.edge.capacity,
      load: s.load,
      hitRatio: rec ? rec.load.hitRatio : null,
      viewers: rec ? rec.load.viewers : null,
      isps: s.edge.isps ?? [],
      asns: s.edge.asns ?? [],
      streams: rec ? rec.load.streams?.length ?? 0 : null,
      state: edgeHealthState(src.health.isUp(s.edge.id), s.draining),
      lastCheck: h ? new Date(h.lastCheckMs).toISOString() : "",
      lastError: h?.lastError ?? "",
      healthTarget: s.edge.healthTarget,
      timeline: timelineSegments(
        src.health.history?.(s.edge.id) ?? [],
        fromMs,
        now,
      ),
    };
  });
  return {
    generatedAtMs: now,
    timeline: { fromMs, toMs: now },
    edges,
    routing: src.routing.snapshot(),
    dns: { ...src.stats.snapshot(), rateHistory: src.stats.rateHistory() },
    cachedTemplates: src.cachedTemplates,
    attribution: DBIP_ATTRIBUTION_HTML,
  };
}
