/**
 * Test peers of the edge: a real origin on 127.0.0.1:0 that counts requests, an edge started
 * with `startEdge`, and an in-process `EdgeCache` with a manual clock.
 */
import { EDGE_DEFAULTS, type EdgeConfig } from "../../../config/edge_schema.ts";
import { silentLogger } from "../../../log/mod.ts";
import { MetricsRegistry } from "../../../metrics/mod.ts";
import { MemoryStore } from "../../../edge/cache/memory_store.ts";
import { TieredStore } from "../../../edge/cache/tiered_store.ts";
import {
  EdgeCache,
  type EdgeCacheDeps,
  type EdgeCacheOptions,
} from "../../../edge/middleware/cache.ts";
import {
  type EdgeDeps,
  type EdgeHandle,
  startEdge,
} from "../../../edge/mod.ts";
import { EdgeStats } from "../../../edge/stats.ts";
import { UpstreamClient } from "../../../edge/upstream/client.ts";
import { HealthMonitor } from "../../../edge/upstream/health.ts";
import { createHealthWeightedRr } from "../../../edge/upstream/health_weighted_rr.ts";
import { parseOrigins } from "../../../edge/upstream/select.ts";

/** A real HTTP origin in this process. */
export interface TestOrigin {
  readonly url: string;
  readonly port: number;
  /** Requests seen, by path + query. */
  count(pathAndQuery: string): number;
  /** Total requests seen (all paths but /healthz). */
  readonly total: number;
  /** Request headers of every request, in order. */
  readonly requests: { path: string; headers: Headers }[];
  close(): Promise<void>;
}

export type OriginHandler = (
  req: Request,
  url: URL,
  n: number,
) => Response | Promise<Response>;

/** Starts a Deno.serve origin on 127.0.0.1:0. `n` is the 1-based count for that path. */
export function startTestOrigin(handler: OriginHandler): TestOrigin {
  const counts = new Map<string, number>();
  const requests: { path: string; headers: Headers }[] = [];
  let total = 0;
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/healthz") return new Response("ok");
    const k = url.pathname + url.search;
    const n = (counts.get(k) ?? 0) + 1;
    counts.set(k, n);
    total++;
    requests.push({ path: k, headers: req.headers });
    return handler(req, url, n);
  });
  const port = server.addr.port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    count: (k) => counts.get(k) ?? 0,
    get total() {
      return total;
    },
    requests,
    close: () => server.shutdown(),
  };
}

/** An edge config on 127.0.0.1:0 pulling from `origins`. */
export function edgeConfig(
  origins: string[],
  patch: {
    adminToken?: string;
    cache?: Partial<EdgeConfig["cache"]>;
    live?: Partial<EdgeConfig["live"]>;
    upstream?: Partial<EdgeConfig["upstream"]>;
  } = {},
): EdgeConfig {
  return {
    ...EDGE_DEFAULTS,
    port: 0,
    adminToken: patch.adminToken ?? "",
    origins: origins.map((url) => ({ url, weight: 1, region: "" })),
    cache: { ...EDGE_DEFAULTS.cache, ...patch.cache },
    live: { ...EDGE_DEFAULTS.live, ...patch.live },
    upstream: {
      ...EDGE_DEFAULTS.upstream,
      timeoutMs: 5_000,
      ...patch.upstream,
    },
  };
}

/** Starts an edge with health checks off unless asked (tests drive health themselves). */
export function startTestEdge(
  config: EdgeConfig,
  deps: Partial<EdgeDeps> = {},
): Promise<EdgeHandle> {
  return startEdge(config, {
    log: silentLogger,
    metrics: new MetricsRegistry(),
    healthChecks: false,
    ...deps,
  });
}

/** A manual clock. */
export class ManualClock {
  nowMs = 1_700_000_000_000;
  now = (): number => this.nowMs;
  advance(ms: number): void {
    this.nowMs += ms;
  }
}

/** An `EdgeCache` over real origins with a manual clock, no HTTP listener. */
export function createTestCache(
  origins: string[],
  clock: ManualClock,
  options: Partial<EdgeCacheOptions> = {},
  deps: Partial<Pick<EdgeCacheDeps, "access" | "log">> = {},
): {
  cache: EdgeCache;
  stats: EdgeStats;
  health: HealthMonitor;
  close(): Promise<void>;
} {
  const parsed = parseOrigins(
    origins.map((url) => ({ url, weight: 1, region: "" })),
  );
  const client = Deno.createHttpClient({});
  const health = new HealthMonitor(parsed, {
    intervalMs: 1000,
    timeoutMs: 500,
    rise: 1,
    fall: 1,
    slowStartMs: 0,
  }, {
    log: silentLogger,
    client,
  });
  const stats = new EdgeStats();
  const upstream = new UpstreamClient({ timeoutMs: 5_000 }, {
    selector: createHealthWeightedRr(parsed, health),
    health,
    client,
    // Request/response times come from the manual clock, as a real edge's would from Date.now.
    now: clock.now,
  });
  const store = new TieredStore(
    new MemoryStore({ maxBytes: 64 << 20, maxObjectBytes: 16 << 20 }),
    undefined,
  );
  const cache = new EdgeCache({
    ignoredQueryParams: EDGE_DEFAULTS.cache.ignoredQueryParams,
    maxObjectBytes: 16 << 20,
    segmentTtlSeconds: 86_400,
    defaultTargetDurationSeconds: 2,
    collapseWaitMs: 5_000,
    bodyTimeoutMs: 5_000,
    ...options,
  }, { store, upstream, stats, log: silentLogger, now: clock.now, ...deps });
  return {
    cache,
    stats,
    health,
    async close() {
      await cache.drain();
      await health.close();
      client.close();
    },
  };
}

/** GET through a cache and read the body. */
export async function get(
  cache: EdgeCache,
  path: string,
  headers: HeadersInit = {},
  method = "GET",
): Promise<{ status: number; headers: Headers; body: string }> {
  const res = await cache.handle(
    new Request(`http://edge${path}`, { headers, method }),
  );
  return { status: res.status, headers: res.headers, body: await res.text() };
}
