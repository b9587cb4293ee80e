/**
 * The edge's HTTP face (Hono): the same URL space as the origin, served from the cache; live
 * HTTP-FLV through the fan-out; `/healthz`, `/metrics` and the admin API.
 *
 * @module
 */

import { createAdminGate } from "../net/mod.ts";
import { Hono } from "hono";
import type { Logger } from "../log/mod.ts";
import type { MetricsRegistry } from "../metrics/mod.ts";
import { parsePrefetchRequest, prefetchAll } from "./admin/prefetch.ts";
import { parsePurgeRequest, PurgeRequestError } from "../cluster/mod.ts";
import { applyPurge, type Purgeable, type PurgeBus } from "./admin/purge.ts";
import type { CacheStoreStats } from "./cache/store.ts";
import { EdgeError } from "./errors.ts";
import type { EdgeCache } from "./middleware/cache.ts";
import type { EdgeStats } from "./stats.ts";
import type { FlvFanout } from "./upstream/flv_fanout.ts";
import type { HealthMonitor } from "./upstream/health.ts";

/** The config slice of the edge app. */
export interface EdgeAppOptions {
  /** Bearer token of `/admin/*`; "" disables it. */
  readonly adminToken: string;
  /** This edge's id on the purge bus and in `/healthz`. */
  readonly edgeId: string;
}

/** What the edge app needs. */
export interface EdgeAppDeps {
  readonly cache: EdgeCache;
  readonly fanout: FlvFanout;
  readonly health: HealthMonitor;
  readonly stats: EdgeStats;
  readonly storeStats: () => {
    memory: CacheStoreStats;
    disk: CacheStoreStats | undefined;
  };
  readonly purgeBus: PurgeBus;
  readonly metrics: MetricsRegistry;
  readonly log: Logger;
  /** `/api/resume` (net/http/resume_api.ts), answered here from the shared store. */
  readonly resume?: Hono | undefined;
  /** Told when a purge from the bus has been applied, with how long after its publication. */
  readonly onPurgeApplied?: (lagSeconds: number) => void;
}

const LIVE_FLV =
  /^\/(?!vod\/)[A-Za-z0-9_-][A-Za-z0-9_.-]*\/[A-Za-z0-9_-][A-Za-z0-9_.-]*\.flv$/;

/** True for a live HTTP-FLV path (`/{app}/{stream}.flv`, not below `/vod/`). */
export function isLiveFlvPath(path: string): boolean {
  return LIVE_FLV.test(path) && !path.includes("..");
}

/** Registers the edge's metric families (computed at scrape time). */
function registerMetrics(deps: EdgeAppDeps): void {
  const { metrics, stats, health, fanout } = deps;
  metrics.collect(
    "meridian_edge_requests_total",
    "Edge responses by cache outcome",
    "counter",
    () => Object.entries(stats.outcomes).map(([cache, n]) => [{ cache }, n]),
  );
  metrics.collect(
    "meridian_edge_bytes_total",
    "Body bytes by source (origin: pulled; cache: served from store; viewers: all sent)",
    "counter",
    () => [
      [{ source: "origin" }, stats.bytesFromOrigin],
      [{ source: "cache" }, stats.bytesFromCache],
      [{ source: "viewers" }, stats.bytesToViewers],
    ],
  );
  metrics.collect(
    "meridian_edge_egress_bytes_per_second",
    'Bytes per second sent to viewers, averaged over the last 10 s (rate(meridian_edge_bytes_total{source="viewers"}) over any window)',
    "gauge",
    () => [[undefined, Math.round(stats.egress.perSecond())]],
  );
  metrics.collect(
    "meridian_edge_origin_requests_total",
    "Upstream requests by origin and outcome",
    "counter",
    () =>
      [...stats.origins].flatMap(([origin, c]) => [
        [{ origin, outcome: "ok" }, c.requests - c.errors - c.status5xx],
        [{ origin, outcome: "error" }, c.errors],
        [{ origin, outcome: "5xx" }, c.status5xx],
      ]),
  );
  metrics.collect(
    "meridian_edge_origin_up",
    "1 when the origin is up (active checks and passive errors)",
    "gauge",
    () => health.snapshot().map((h) => [{ origin: h.id }, h.up ? 1 : 0]),
  );
  metrics.collect(
    "meridian_edge_origin_weight_factor",
    "Slow-start weight factor of each origin (0..1)",
    "gauge",
    () => health.snapshot().map((h) => [{ origin: h.id }, h.weightFactor]),
  );
  metrics.collect(
    "meridian_edge_cache_bytes",
    "Bytes held by each cache tier",
    "gauge",
    () => {
      const s = deps.storeStats();
      const out: [Record<string, string>, number][] = [[
        { tier: "memory" },
        s.memory.bytes,
      ]];
      if (s.disk) out.push([{ tier: "disk" }, s.disk.bytes]);
      return out;
    },
  );
  metrics.collect(
    "meridian_edge_cache_objects",
    "Objects held by each cache tier",
    "gauge",
    () => {
      const s = deps.storeStats();
      const out: [Record<string, string>, number][] = [[
        { tier: "memory" },
        s.memory.objects,
      ]];
      if (s.disk) out.push([{ tier: "disk" }, s.disk.objects]);
      return out;
    },
  );
  metrics.collect(
    "meridian_edge_cache_evictions_total",
    "Objects evicted to stay within each cache tier's byte cap",
    "counter",
    () => {
      const s = deps.storeStats();
      const out: [Record<string, string>, number][] = [[
        { tier: "memory" },
        s.memory.evictions,
      ]];
      if (s.disk) out.push([{ tier: "disk" }, s.disk.evictions]);
      return out;
    },
  );
  metrics.collect(
    "meridian_edge_cache_max_bytes",
    "Byte cap of each cache tier",
    "gauge",
    () => {
      const s = deps.storeStats();
      const out: [Record<string, string>, number][] = [[
        { tier: "memory" },
        s.memory.maxBytes,
      ]];
      if (s.disk) out.push([{ tier: "disk" }, s.disk.maxBytes]);
      return out;
    },
  );
  metrics.collect(
    "meridian_edge_origin_fetches_in_flight",
    "Origin fetches in flight that other requests may join (request coalescing)",
    "gauge",
    () => [[undefined, deps.cache.inflightCount]],
  );
  metrics.collect(
    "meridian_edge_collapsed_waiters",
    "Requests waiting now on another request's origin fetch",
    "gauge",
    () => [[undefined, deps.cache.collapsedWaiters]],
  );
  metrics.collect(
    "meridian_edge_flv_viewers",
    "Live HTTP-FLV viewers by stream",
    "gauge",
    () => fanout.sessions().map((s) => [{ stream: s.path }, s.viewers]),
  );
  metrics.collect(
    "meridian_edge_flv_upstreams",
    "Live HTTP-FLV streams pulled from an origin (one upstream each, however many viewers)",
    "gauge",
    () => [[undefined, fanout.sessions().length]],
  );
  metrics.collect(
    "meridian_edge_flv_reconnects_total",
    "Upstream origin switches of live HTTP-FLV sessions",
    "counter",
    () => fanout.sessions().map((s) => [{ stream: s.path }, s.reconnects]),
  );
}

/**
 * Creates the edge's Hono app.
 *
 * @param options Admin token and edge id.
 * @param deps The cache, fan-out, health monitor, stats and purge bus of this edge.
 * @returns The app; serve it with `Deno.serve` (see `mod.ts`).
 */
export function createEdgeApp(
  options: EdgeAppOptions,
  deps: EdgeAppDeps,
): Hono {
  const { cache, fanout, stats, health, purgeBus, log } = deps;
  const startedAt = Date.now();
  registerMetrics(deps);

  const purgeTarget: Purgeable = cache;
  purgeBus.subscribe(async (m) => {
    if (m.sourceId === options.edgeId) return; // applied when received
    const n = await applyPurge(purgeTarget, m.request);
    if (m.publishedAtMs !== undefined) {
      deps.onPurgeApplied?.((Date.now() - m.publishedAtMs) / 1000);
    }
    log.info("purge from bus", { from: m.sourceId, removed: n });
  });

  const app = new Hono();

  app.get("/healthz", (c) => {
    const s = deps.storeStats();
    return c.json(
      {
        status: "ok",
        role: "edge",
        id: options.edgeId,
        uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
        load: {
          viewers: fanout.viewerCount,
          egressBitsPerSecond: Math.round(stats.egress.perSecond() * 8),
          hitRatio: Number(stats.hitRatio().toFixed(4)),
        },
        cache: {
          objects: s.memory.objects + (s.disk?.objects ?? 0),
          bytes: s.memory.bytes + (s.disk?.bytes ?? 0),
          inflight: cache.inflightCount,
        },
        origins: health.snapshot().map((h) => ({
          origin: h.id,
          up: h.up,
          weightFactor: Number(h.weightFactor.toFixed(3)),
        })),
        live: fanout.sessions(),
      },
      200,
      { "cache-control": "no-store" },
    );
  });

  app.get("/metrics", (c) =>
    c.body(deps.metrics.render(), 200, {
      "content-type": "text/plain; version=0.0.4",
      "cache-control": "no-store",
    }));

  const admin = new Hono();
  admin.use(
    "*",
    createAdminGate(options.adminToken, { log: log.child("admin") }),
  );
  admin.post("/purge", async (c) => {
    let request;
    try {
      request = parsePurgeRequest(await c.req.json());
    } catch (e) {
      return c.json({ error: adminError(e) }, 400);
    }
    const removed = await applyPurge(purgeTarget, request);
    await purgeBus.publish({
      request,
      sourceId: options.edgeId,
      publishedAtMs: Date.now(),
    });
    log.info("purge", { removed, all: request.all });
    return c.json({ removed });
  });
  admin.post("/prefetch", async (c) => {
    let urls;
    try {
      urls = parsePrefetchRequest(await c.req.json());
    } catch (e) {
      return c.json({ error: adminError(e) }, 400);
    }
    const results = await prefetchAll(urls, (u) => cache.prefetch(u));
    return c.json({ results });
  });
  app.route("/admin", admin);
  if (deps.resume) app.route("/", deps.resume);

  app.get("*", (c) => {
    const path = c.req.path;
    if (isLiveFlvPath(path)) {
      if (c.req.method === "HEAD") {
        return c.body(null, 200, { "content-type": "video/x-flv" });
      }
      const info = c.env as
        | { remoteAddr?: { hostname: string; port: number } }
        | undefined;
      const peer = info?.remoteAddr
        ? `${info.remoteAddr.hostname}:${info.remoteAddr.port}`
        : "http";
      const url = new URL(c.req.url);
      return fanout.attach(url.pathname + url.search, peer);
    }
    return cache.handle(c.req.raw);
  });
  app.all("*", (c) => cache.handle(c.req.raw));
  return app;
}

function adminError(e: unknown): string {
  if (e instanceof EdgeError || e instanceof PurgeRequestError) {
    return e.message;
  }
  if (e instanceof SyntaxError) return "Invalid request body: expected JSON";
  return e instanceof Error ? e.message : String(e);
}
