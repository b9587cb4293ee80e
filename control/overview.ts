/**
 * `GET /admin/overview`: every node of the deployment (the store's node directory: roles,
 * version, uptime, ports, CPU, RSS) and the live numbers the console charts: streams, viewers
 * by protocol, egress, cache hit ratio, DNS queries per second, ingest.
 *
 * @module
 */

import { Hono } from "hono";
import { NO_STORE } from "../net/http/respond.ts";
import type {
  NodeRecord,
  RegistrySnapshot,
  SharedStore,
} from "../store/mod.ts";
import type { ControlEnv } from "./console_auth.ts";

/** A node as the overview shows it. */
export interface NodeView {
  readonly id: string;
  readonly roles: readonly string[];
  readonly version: string;
  readonly hostname: string;
  readonly startedAt: string;
  readonly uptimeSeconds: number;
  readonly endpoints: Readonly<Record<string, string>>;
  /** `up` while its record is fresh; an edge the schedulers see down is `degraded`. */
  readonly state: "up" | "degraded" | "draining";
  readonly cpu: number;
  readonly rssBytes: number;
  readonly rates: Readonly<Record<string, number>>;
  readonly updatedAt: string;
}

/** The deployment's live numbers. */
export interface OverviewTotals {
  readonly nodes: number;
  readonly origins: number;
  readonly edges: number;
  readonly streams: number;
  /** Viewers by where they are counted: origin HTTP-FLV and RTMP, edge HTTP-FLV. */
  readonly viewers: {
    readonly originFlv: number;
    readonly originRtmp: number;
    readonly edge: number;
  };
  /** Bits per second edges send to viewers. */
  readonly egressBps: number;
  /** Edges' cache hit ratio (0..1), weighted by their egress; `null` without edges. */
  readonly hitRatio: number | null;
  readonly dnsQps: number;
}

/** The whole overview. */
export interface Overview {
  readonly at: string;
  readonly nodes: readonly NodeView[];
  readonly totals: OverviewTotals;
}

/** Builds the overview from the store's directories (pure: tests feed it records). */
export function buildOverview(
  nodes: readonly NodeRecord[],
  edges: RegistrySnapshot,
  streams: readonly {
    readonly streams: readonly {
      readonly app: string;
      readonly name: string;
      readonly viewersByProtocol?: Readonly<Record<string, number>>;
    }[];
  }[],
  nowMs: number,
): Overview {
  const edgeDown = new Set(
    edges.health.filter((h) => !h.up).map((h) => h.edgeId),
  );
  const edgeUrls = new Map(edges.edges.map((e) => [e.baseUrl, e.id]));
  const views = nodes.map((n): NodeView => {
    const edgeId = edgeUrls.get(n.endpoints["edge.http"] ?? "");
    const state = edgeId !== undefined && edges.drains.has(edgeId)
      ? "draining"
      : edgeId !== undefined && edgeDown.has(edgeId)
      ? "degraded"
      : "up";
    return {
      id: n.id,
      roles: n.roles,
      version: n.version,
      hostname: n.hostname,
      startedAt: new Date(n.startedAtMs).toISOString(),
      uptimeSeconds: Math.max(0, Math.round((nowMs - n.startedAtMs) / 1000)),
      endpoints: n.endpoints,
      state,
      cpu: n.cpu,
      rssBytes: n.rssBytes,
      rates: n.rates,
      updatedAt: new Date(n.updatedAtMs).toISOString(),
    };
  });
  const keys = new Set<string>();
  let originFlv = 0;
  let originRtmp = 0;
  for (const l of streams) {
    for (const s of l.streams) {
      keys.add(`${s.app}/${s.name}`);
      originFlv += s.viewersByProtocol?.flv ?? 0;
      originRtmp += s.viewersByProtocol?.rtmp ?? 0;
    }
  }
  let egress = 0;
  let edgeViewers = 0;
  let hitWeighted = 0;
  for (const e of edges.edges) {
    egress += e.load.egressBitsPerSecond;
    edgeViewers += e.load.viewers;
    hitWeighted += e.load.hitRatio * Math.max(1, e.load.egressBitsPerSecond);
  }
  const weights = edges.edges.reduce(
    (n, e) => n + Math.max(1, e.load.egressBitsPerSecond),
    0,
  );
  return {
    at: new Date(nowMs).toISOString(),
    nodes: views,
    totals: {
      nodes: nodes.length,
      origins: streams.length,
      edges: edges.edges.length,
      streams: keys.size,
      viewers: { originFlv, originRtmp, edge: edgeViewers },
      egressBps: egress,
      hitRatio: weights > 0 ? Number((hitWeighted / weights).toFixed(4)) : null,
      dnsQps: Number(
        nodes.reduce((n, r) => n + (r.rates.dnsQueriesPerSecond ?? 0), 0)
          .toFixed(2),
      ),
    },
  };
}

/** The route, relative to `/admin`. */
export function createOverviewRoutes(
  deps: { readonly store: SharedStore; readonly clock: () => number },
): Hono<ControlEnv> {
  const app = new Hono<ControlEnv>();
  app.get("/overview", async (c) => {
    const now = deps.clock();
    const [nodes, edges, listings] = await Promise.all([
      deps.store.nodes.list(now),
      deps.store.edges.snapshot(now),
      deps.store.streams.list(now),
    ]);
    return c.json(buildOverview(nodes, edges, listings, now), 200, NO_STORE);
  });
  return app;
}
