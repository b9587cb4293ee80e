/**
 * The edge's cache-hit path in-process: `EdgeCache.handle()` and the whole Hono app, for a small
 * live playlist and a 2 MiB segment (the two columns of CEILINGS.md's HTTP table).
 *
 * `deno bench -A bench/edge_hit_bench.ts`
 */
import { silentLogger } from "../log/mod.ts";
import { MetricsRegistry } from "../metrics/mod.ts";
import { InProcessPurgeBus } from "../edge/admin/purge.ts";
import { createEdgeApp } from "../edge/app.ts";
import { MemoryStore } from "../edge/cache/memory_store.ts";
import type { CachedObject } from "../edge/cache/store.ts";
import { TieredStore } from "../edge/cache/tiered_store.ts";
import { EdgeCache } from "../edge/middleware/cache.ts";
import { EdgeStats } from "../edge/stats.ts";
import { UpstreamClient } from "../edge/upstream/client.ts";
import { FlvFanout } from "../edge/upstream/flv_fanout.ts";
import { HealthMonitor } from "../edge/upstream/health.ts";
import { createHealthWeightedRr } from "../edge/upstream/health_weighted_rr.ts";

const origins = [{
  id: "http://127.0.0.1:9",
  url: "http://127.0.0.1:9",
  weight: 1,
  region: "",
}];
const health = new HealthMonitor(origins, {
  intervalMs: 1000,
  timeoutMs: 100,
  rise: 1,
  fall: 1,
  slowStartMs: 0,
}, {
  log: silentLogger,
});
const upstream = new UpstreamClient({ timeoutMs: 1000 }, {
  selector: createHealthWeightedRr(origins, health),
  health,
});
const memory = new MemoryStore({ maxBytes: 64 << 20, maxObjectBytes: 8 << 20 });
const store = new TieredStore(memory, undefined);
const stats = new EdgeStats();
const cache = new EdgeCache({
  ignoredQueryParams: ["token"],
  maxObjectBytes: 8 << 20,
  segmentTtlSeconds: 86_400,
  defaultTargetDurationSeconds: 2,
  collapseWaitMs: 1000,
  bodyTimeoutMs: 1000,
}, { store, upstream, stats, log: silentLogger });

const object = (body: Uint8Array, type: string): CachedObject => ({
  status: 200,
  headers: [["content-type", type], ["cache-control", "public, max-age=3600"], [
    "etag",
    '"b"',
  ]],
  body,
  storedAtMs: Date.now(),
  initialAgeMs: 0,
  lifetimeMs: 3_600_000,
  staleWhileRevalidateMs: 0,
  staleIfErrorMs: 0,
  mustRevalidate: false,
  etag: '"b"',
  lastModified: undefined,
  persistent: false,
});
await store.put(
  "/live/demo.m3u8",
  object(new Uint8Array(358).fill(0x23), "application/vnd.apple.mpegurl"),
);
await store.put(
  "/live/demo/seg-1.ts",
  object(new Uint8Array(2 << 20).fill(0x47), "video/mp2t"),
);

const app = createEdgeApp({ adminToken: "", edgeId: "bench" }, {
  cache,
  fanout: new FlvFanout({
    flushIntervalMs: 33,
    maxViewerQueueBytes: 1 << 20,
    maxGopCacheBytes: 1 << 20,
    idleCloseMs: 1000,
    reconnectWindowMs: 1000,
    readTimeoutMs: 1000,
  }, { upstream, health, stats, log: silentLogger }),
  health,
  stats,
  storeStats: () => store.tierStats(),
  purgeBus: new InProcessPurgeBus(),
  metrics: new MetricsRegistry(),
  log: silentLogger,
});

const playlistReq = () =>
  new Request("http://edge/live/demo.m3u8?token=ABCDEFGHIJKLMNOP");

Deno.bench({
  name: "EdgeCache.handle() hit, 358 B playlist",
  group: "playlist",
  baseline: true,
}, async () => {
  const res = await cache.handle(playlistReq());
  await res.arrayBuffer();
});

Deno.bench(
  {
    name: "EdgeCache.tryHit() (before routing), 358 B playlist",
    group: "playlist",
  },
  async () => {
    const res = cache.tryHit(new Request("http://edge/live/demo.m3u8"))!;
    await res.arrayBuffer();
  },
);

Deno.bench(
  { name: "Request + new Response, nothing else (floor)", group: "playlist" },
  async () => {
    const req = new Request("http://edge/live/demo.m3u8");
    const res = new Response(new Uint8Array(358), {
      headers: {
        "content-type": "application/vnd.apple.mpegurl",
        "x-cache": "HIT",
      },
    });
    req.headers.has("range");
    await res.arrayBuffer();
  },
);

Deno.bench(
  { name: "Hono app hit, 358 B playlist", group: "playlist" },
  async () => {
    const res = await app.fetch(playlistReq());
    await res.arrayBuffer();
  },
);

Deno.bench({
  name: "EdgeCache.handle() hit, 2 MiB segment",
  group: "segment",
  baseline: true,
}, async () => {
  const res = await cache.handle(new Request("http://edge/live/demo/seg-1.ts"));
  await res.body?.cancel();
});

Deno.bench({
  name: "EdgeCache.handle() hit, 2 MiB segment, Range 1 MiB",
  group: "segment",
}, async () => {
  const res = await cache.handle(
    new Request("http://edge/live/demo/seg-1.ts", {
      headers: { range: "bytes=0-1048575" },
    }),
  );
  await res.body?.cancel();
});
