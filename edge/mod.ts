/**
 * The edge role: a pull-through HTTP cache in front of the origins, with request coalescing,
 * RFC 9111 freshness, Cache-Status (RFC 9211), live HTTP-FLV fan-out, origin health and
 * failover, and the purge/prefetch admin API.
 *
 * Streams the origin marks as protected (`X-Meridian-Access`, see `access/`) stay protected
 * through the edge: cached objects need a session credential, joiners of a shared live upstream
 * spend a token use; the policy itself stays in the origin's config.
 *
 * `startEdge(config.edge, deps)` wires the parts from the `edge` config section and serves them
 * on Meridian's HTTP/1.1 server (`net/http1/`; `edge.httpServer: deno` for
 * Deno.serve), default 127.0.0.1:8080. Plain fresh hits are written from prebuilt bytes before
 * any `Request` or routing exists (`EdgeCache.hitBytes`), and so are plain requests that
 * collapse onto another request's origin fetch, straight from the shared body as it arrives
 * (`EdgeCache.joinFill`).
 *
 * We wrote the cache rather than put nginx or Varnish in front because the edge must share the
 * origin's URL space, FLV hub semantics and admin API in one process, and CEILINGS.md shows a
 * Deno server within reach of nginx on hits; the HTTP client is Deno's own `fetch` (no npm
 * dependency: it pools connections and a `Deno.HttpClient` per edge is closed on shutdown).
 *
 * @example
 * ```ts ignore
 * import { startEdge } from "./mod.ts";
 * import { EDGE_DEFAULTS } from "../config/edge_schema.ts";
 * const edge = await startEdge({ ...EDGE_DEFAULTS, port: 0 }, { log, metrics });
 * console.log(edge.port);
 * await edge.close();
 * ```
 *
 * @module
 */

import type { EdgeConfig } from "../config/edge_schema.ts";
import type { MeridianConfig } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import { openAccessLog } from "../log/access/mod.ts";
import type { MetricsRegistry } from "../metrics/mod.ts";
import { DEFAULTS } from "../config/mod.ts";
import {
  createResumeApi,
  type FastPath,
  http1Limits,
  httpDate,
  openTlsServing,
  readCaCertificates,
  serveHttp1,
  StartupCleanup,
} from "../net/mod.ts";
import type { SharedStore } from "../store/mod.ts";
import { EdgeAccess } from "./access/edge_access.ts";
import { InProcessPurgeBus, type PurgeBus } from "./admin/purge.ts";
import { createEdgeApp } from "./app.ts";
import { DiskStore } from "./cache/disk_store.ts";
import { MemoryStore } from "./cache/memory_store.ts";
import { TieredStore } from "./cache/tiered_store.ts";
import { EdgeCache } from "./middleware/cache.ts";
import {
  deriveEdgeIdentity,
  EdgeRegistrar,
  machineHostname,
} from "./registry/registrar.ts";
import { StorePurgeBus } from "./registry/store_purge_bus.ts";
import { prefetchAll } from "./admin/prefetch.ts";
import { createEdgeObserver, EDGE_TIME_EVERY, EdgeMetrics } from "./metrics.ts";
import { EdgeStats } from "./stats.ts";
import { UpstreamClient } from "./upstream/client.ts";
import { FlvFanout } from "./upstream/flv_fanout.ts";
import { HealthMonitor } from "./upstream/health.ts";
import { createHealthWeightedRr } from "./upstream/health_weighted_rr.ts";
import { parseOrigins } from "./upstream/select.ts";

export type { EdgeConfig } from "../config/edge_schema.ts";
export {
  ACCESS_MARKER_HEADER,
  AccessMark,
  EdgeAccess,
  type EdgeRefusal,
} from "./access/mod.ts";
export { EDGE_CONSTRAINTS, EDGE_DEFAULTS } from "../config/edge_schema.ts";
export {
  InProcessPurgeBus,
  type PurgeBus,
  type PurgeMessage,
  type PurgeRequest,
} from "./admin/purge.ts";
export type { CachedObject, CacheStore } from "./cache/store.ts";
export {
  deriveEdgeIdentity,
  type EdgeIdentity,
  EdgeRegistrar,
  StorePurgeBus,
} from "./registry/mod.ts";
export { EdgeError, EdgeErrorCode, UpstreamError } from "./errors.ts";
export type { FlvSessionSummary } from "./upstream/flv_fanout.ts";
export type { Origin, OriginSelector } from "./upstream/select.ts";

/** A running edge. */
export interface EdgeHandle {
  readonly hostname: string;
  readonly port: number;
  /** The bound HTTPS port; undefined when `edge.tls` has no certificate. */
  readonly httpsPort: number | undefined;
  /** Id on the purge bus and in `/healthz` (`edge@host:port`). */
  readonly id: string;
  readonly cache: EdgeCache;
  readonly fanout: FlvFanout;
  readonly health: HealthMonitor;
  readonly stats: EdgeStats;
  /** This edge's entry in the shared edge registry; undefined without a store. */
  readonly registrar: EdgeRegistrar | undefined;
  /** Stops listening, ends live sessions and health checks, releases the stores. */
  close(): Promise<void>;
}

/** What the edge needs from the process. */
export interface EdgeDeps {
  readonly log: Logger;
  readonly metrics: MetricsRegistry;
  /**
   * Shared purge bus (cross-edge). Default: a {@link StorePurgeBus} over `store` when one is
   * given, else a private in-process bus.
   */
  readonly purgeBus?: PurgeBus;
  /**
   * The store shared by the cluster. With it the edge registers itself in the edge registry
   * (`edge.registry`) and, unless `purgeBus` is given, spreads purges through the store's feed.
   */
  readonly store?: SharedStore;
  /** Start active health checks. @default true */
  readonly healthChecks?: boolean;
  /**
   * The top-level `auth` section: its `sessionSecret` (or, when `""`, the one generated in
   * `store`) verifies the session credentials the origin signs. Used with `store` only.
   * @default { sessionSecret: "" }
   */
  readonly auth?: Pick<MeridianConfig["auth"], "sessionSecret">;
  /**
   * The top-level `limits` section: connection caps of the viewer port (`limits.http`, the
   * trusted networks exempt from its per-address cap) and its request and idle deadlines.
   * @default DEFAULTS.limits
   */
  readonly limits?: MeridianConfig["limits"];
  /**
   * The top-level `tls` section: the HTTPS port's handshake deadline and certificate reload,
   * and `caFile`, CAs trusted for `https://` origins besides the built-in roots.
   * @default DEFAULTS.tls
   */
  readonly tls?: MeridianConfig["tls"];
}

/**
 * Starts the edge from its config section.
 *
 * @param config The `edge` section.
 * @param deps Logger, metrics registry and (optionally) the shared purge bus.
 * @returns The running edge; `port` is the bound port (useful with `port: 0`).
 * @throws {EdgeError} `EDGE_STORE` when the disk tier cannot be opened.
 * @throws {TokenError} When `auth.sessionSecret` is set but too short.
 * @throws {NetError} `NET_LISTEN` when the port cannot be bound (it names the address).
 * @throws {TlsError} When a certificate, key or `tls.caFile` cannot be read or used.
 *
 * A start-up that fails closes what it had opened (health checks, the HTTP client, the stores,
 * the listener when the registry refuses) before the error goes up.
 */
export async function startEdge(
  config: EdgeConfig,
  deps: EdgeDeps,
): Promise<EdgeHandle> {
  const log = deps.log;
  const stats = new EdgeStats();
  const edgeMetrics = new EdgeMetrics(deps.metrics);
  const origins = parseOrigins(config.origins);
  const tls = deps.tls ?? DEFAULTS.tls;
  // Origins over https:// are checked against the built-in roots plus tls.caFile.
  const caCerts = await readCaCertificates(tls.caFile);
  // With the shared store the edge checks viewers of streams the origin marks as protected
  // (tokens, session credentials); without it such objects are never shared.
  const access = deps.store
    ? await EdgeAccess.open(deps.auth ?? { sessionSecret: "" }, {
      store: deps.store,
      log: log.child("access"),
      metrics: deps.metrics,
    })
    : undefined;
  // What is open so far, closed newest first if a later step fails (no half-started edge).
  const opened = new StartupCleanup();
  opened.add(() => access?.close());
  const client = Deno.createHttpClient(caCerts.length ? { caCerts } : {});
  opened.add(() => client.close());
  const health = new HealthMonitor(origins, {
    ...config.upstream.healthCheck,
    slowStartMs: config.upstream.slowStartMs,
  }, { log: log.child("health"), client });
  opened.add(() => health.close());
  const selector = createHealthWeightedRr(origins, health);
  const upstream = new UpstreamClient(
    { timeoutMs: config.upstream.timeoutMs },
    {
      selector,
      health,
      client,
      observe: (o, outcome, ms, failure) => {
        stats.originResult(o.id, outcome, ms);
        edgeMetrics.originFetch(o.id, ms / 1000, failure);
      },
    },
  );

  const memory = new MemoryStore({
    maxBytes: config.cache.memoryMaxBytes,
    maxObjectBytes: Math.min(
      config.cache.maxObjectBytes,
      config.cache.memoryMaxBytes,
    ),
  });
  const diskDir = config.cache.diskDir;
  const disk = diskDir
    ? await opened.run(() =>
      DiskStore.open({
        dir: diskDir,
        maxBytes: config.cache.diskMaxBytes,
        maxObjectBytes: config.cache.maxObjectBytes,
      })
    )
    : undefined;
  const store = new TieredStore(memory, disk);
  opened.add(() => store.close());

  const cache = new EdgeCache({
    ignoredQueryParams: config.cache.ignoredQueryParams,
    maxObjectBytes: config.cache.maxObjectBytes,
    segmentTtlSeconds: config.cache.segmentTtlSeconds,
    defaultTargetDurationSeconds: config.cache.defaultTargetDurationSeconds,
    collapseWaitMs: config.cache.collapseWaitMs,
    bodyTimeoutMs: config.upstream.timeoutMs,
  }, { store, upstream, stats, log: log.child("cache"), access });

  const fanout = new FlvFanout({
    flushIntervalMs: config.live.flushIntervalMs,
    maxViewerQueueBytes: config.live.maxViewerQueueBytes,
    maxGopCacheBytes: config.live.maxGopCacheBytes,
    idleCloseMs: config.live.idleCloseMs,
    reconnectWindowMs: config.live.reconnectWindowMs,
    readTimeoutMs: config.upstream.timeoutMs,
  }, { upstream, health, stats, log: log.child("flv"), access });
  opened.add(() => fanout.close());

  const storeBus = !deps.purgeBus && deps.store
    ? new StorePurgeBus(deps.store, {
      pollIntervalMs: config.purgePollIntervalMs,
      log: log.child("purge"),
    })
    : undefined;
  opened.add(() => storeBus?.close());
  const purgeBus = deps.purgeBus ?? storeBus ?? new InProcessPurgeBus();
  // The id is fixed before the port is known: use host and configured port, plus a nonce.
  const id = `edge@${config.hostname}:${config.port}#${
    crypto.randomUUID().slice(0, 8)
  }`;
  const httpLog = log.child("http");
  const accessLog = await opened.run(() =>
    openAccessLog(config.accessLog, {
      role: "edge",
      metrics: deps.metrics,
      log: log.child("access-log"),
    })
  );
  opened.add(() => accessLog?.close());
  const observe = createEdgeObserver(edgeMetrics, accessLog);
  const app = createEdgeApp({ adminToken: config.adminToken, edgeId: id }, {
    cache,
    fanout,
    health,
    stats,
    storeStats: () => store.tierStats(),
    purgeBus,
    metrics: deps.metrics,
    log: httpLog,
    // The player pages it passes through write resume positions here, as on the origin.
    resume: deps.store
      ? createResumeApi({ store: deps.store, log: log.child("resume") })
      : undefined,
    onPurgeApplied: (s) => edgeMetrics.purgeApplied(s),
  });

  // Prefetches sent to the control port reach every edge through the shared feed.
  const unsubscribePrefetch = deps.store?.subscribe((entry) => {
    const e = entry.event;
    if (e.kind !== "prefetch") return;
    void prefetchAll(e.urls, (u) => cache.prefetch(u)).then((results) => {
      const failed = results.filter((r) =>
        r.status === 0 || r.status >= 400
      ).length;
      log.info("prefetch from the shared feed", {
        seq: entry.seq,
        urls: results.length,
        failed,
      });
    });
  });

  opened.add(() => unsubscribePrefetch?.());

  if (deps.healthChecks !== false) health.start();
  const limits = deps.limits ?? DEFAULTS.limits;
  if (config.httpServer === "deno") {
    // Deno.serve has no accept hook and no head deadline of its own to set.
    log.warn(
      "limits.http, the access log and the request-time metrics do not apply with edge.httpServer: deno",
      { maxConnections: limits.http.maxConnections },
    );
  }
  const fastPath: FastPath = (head, x) => {
    const date = httpDate();
    const hit = cache.hitBytes(head, date);
    if (hit) {
      x.label = "hit";
      return hit;
    }
    x.label = "collapsed";
    return cache.joinFill(head, date);
  };
  const timeEvery = accessLog ? 1 : EDGE_TIME_EVERY;
  const server: { readonly addr: Deno.NetAddr; shutdown(): Promise<void> } =
    await opened.listen(
      "HTTP",
      config.hostname,
      config.port,
      () =>
        config.httpServer === "deno"
          ? Deno.serve({
            hostname: config.hostname,
            port: config.port,
            onListen: () => {},
          }, (req, info) => cache.tryHit(req) ?? app.fetch(req, info))
          : serveHttp1({
            hostname: config.hostname,
            port: config.port,
            ...http1Limits(limits, deps.metrics, "edge_http"),
            fastPath,
            observe,
            // An access log line wants every request's times; the histograms do with a sample.
            timeEvery,
            onError: (message, context) => httpLog.debug(message, context),
          }, (req, info) => app.fetch(req, info)),
    );
  opened.add(() => server.shutdown());
  const port = server.addr.port;
  // HTTPS: the same fast path, handler and cache on its own port and guard, always on
  // net/http1 (certificates by SNI, reloaded), whatever edge.httpServer says.
  const serving = await opened.run(() =>
    openTlsServing(config.tls, tls, "edge_https", {
      log: log.child("tls"),
      metrics: deps.metrics,
    })
  );
  opened.add(() => serving?.certificates.close());
  const https = serving
    ? await opened.listen(
      "HTTPS",
      config.hostname,
      config.tls.port,
      () =>
        serveHttp1({
          hostname: config.hostname,
          port: config.tls.port,
          ...http1Limits(limits, deps.metrics, "edge_https"),
          tls: serving,
          fastPath,
          observe,
          timeEvery,
          onError: (message, context) => httpLog.debug(message, context),
        }, (req, info) => app.fetch(req, info)),
    )
    : undefined;
  opened.add(() => https?.shutdown());
  const httpsPort = https?.addr.port;
  log.info("edge listening", {
    http: `http://${config.hostname}:${port}`,
    ...(httpsPort ? { https: `https://${config.hostname}:${httpsPort}` } : {}),
    origins: origins.map((o) => o.url),
  });

  const registrar = deps.store
    ? new EdgeRegistrar(
      deriveEdgeIdentity(
        config.registry,
        { hostname: config.hostname, port },
        machineHostname(config.hostname),
      ),
      {
        registry: deps.store.edges,
        load: () => ({
          viewers: fanout.viewerCount,
          egressBitsPerSecond: Math.round(stats.egress.perSecond() * 8),
          hitRatio: Number(stats.hitRatio().toFixed(4)),
        }),
        // Which streams this edge already pulls: the scheduler's stream_affinity reads them.
        streams: () => fanout.sessions(),
        log: log.child("registry"),
      },
    )
    : undefined;
  if (registrar) await opened.run(() => registrar.start());

  return {
    hostname: config.hostname,
    port,
    httpsPort,
    id,
    cache,
    fanout,
    health,
    stats,
    registrar,
    async close() {
      // Leave the registry first so schedulers stop answering this edge while it drains.
      await registrar?.close();
      storeBus?.close();
      unsubscribePrefetch?.();
      access?.close();
      await fanout.close();
      await health.close();
      await server.shutdown();
      await https?.shutdown();
      serving?.certificates.close();
      await cache.drain();
      await store.close();
      client.close();
      await accessLog?.close();
    },
  };
}
