/**
 * The scheduler role: authoritative GeoDNS with ECS (UDP and TCP), and an HTTP 302 scheduler,
 * routing dashboard and explain API, steering viewers to the nearest healthy edge.
 *
 * The DNS wire handling is ours (`dns/query.ts`, `dns/response.ts`) instead of a library's:
 * the hot path parses only header, question and OPT in place and answers from precomputed
 * bytes; `dns/template.ts` builds those bytes once per (name, type, decision) on the slow path.
 *
 * @example
 * ```ts ignore
 * import { startScheduler } from "./mod.ts";
 * const s = await startScheduler(config.scheduler, { log, metrics });
 * console.log(s.dnsPort, s.httpPort);
 * await s.close();
 * ```
 *
 * @module
 */

import type { SchedulerConfig } from "../config/scheduler_schema.ts";
import { type GeoLookup, openGeoDatabase } from "../geo/mod.ts";
import { type Logger, silentLogger } from "../log/mod.ts";
import { openAccessLog } from "../log/access/mod.ts";
import { MetricsRegistry } from "../metrics/mod.ts";
import {
  ConfigError,
  DEFAULTS,
  type LimitsConfig,
  type TlsConfig,
} from "../config/mod.ts";
import {
  accessRecordOf,
  type ConnGuard,
  http1Limits,
  openListener,
  openTlsServing,
  registerConnGuard,
  serveHttp1,
  StartupCleanup,
} from "../net/mod.ts";
import type { SharedStore } from "../store/mod.ts";
import { ConfigEdgeSource, type EdgeSource } from "./edges.ts";
import { StoreEdgeSource } from "./edges_store.ts";
import { DnsHandler } from "./answer/handler.ts";
import { HealthMonitor } from "./health/monitor.ts";
import { NetworkDirectory, openNetworks } from "./networks.ts";
import type { HealthProbe } from "./health/probe.ts";
import { createSchedulerApp } from "./http/app.ts";
import { ResponseRateLimiter } from "./server/rate_limit.ts";
import {
  createDnsTcpGuard,
  startTcpServer,
  type TcpServer,
} from "./server/tcp.ts";
import {
  type QueryHandler,
  startUdpServer,
  type UdpServer,
} from "./server/udp.ts";
import {
  libcUdpAvailable,
  startReusePortUdpServer,
} from "./server/udp_reuseport.ts";
import { registerSchedulerMetrics } from "./metrics.ts";
import { DnsStats } from "./stats.ts";
import {
  dnsSampleEvery,
  type DnsWorkers,
  startDnsWorkers,
  workerChaosId,
} from "./workers.ts";
import { Authority } from "./zone.ts";

export {
  ConfigEdgeSource,
  type EdgeInfo,
  type EdgeSource,
  type EdgeStatus,
} from "./edges.ts";
export {
  registeredLoad,
  StoreEdgeSource,
  type StoreEdgeSourceOptions,
} from "./edges_store.ts";
export { DnsHandler, type QueryClient } from "./answer/handler.ts";
export { HealthMonitor, type HealthSnapshot } from "./health/monitor.ts";
export { Authority } from "./zone.ts";
export {
  type ClientNetwork,
  type EdgeNetworks,
  NetworkDirectory,
  openNetworks,
} from "./networks.ts";
export { DnsStats } from "./stats.ts";

/** Dependencies of {@link startScheduler}; all optional. */
export interface SchedulerDeps {
  readonly log?: Logger;
  readonly metrics?: MetricsRegistry;
  /** Geo lookup; default: the MMDB files of `config.geo` (DB-IP lite from node_modules). */
  readonly geo?: GeoLookup;
  /**
   * Edge list; default per `config.registry.source`: the store's edge registry
   * ({@link StoreEdgeSource}, owned and closed by the scheduler) or `config.edges`
   * ({@link ConfigEdgeSource}).
   */
  readonly edges?: EdgeSource;
  /** The store shared by the cluster: edge registry, drain flags, shared health views. */
  readonly store?: SharedStore;
  /** Health probe; default: http or tcp per `config.health.kind`. */
  readonly probe?: HealthProbe;
  /**
   * The top-level `limits` section: connection caps, trusted networks and request and idle
   * deadlines of the HTTP port (`limits.http`). @default DEFAULTS.limits
   */
  readonly limits?: LimitsConfig;
  /** The top-level `tls` section (the HTTPS port's). @default DEFAULTS.tls */
  readonly tls?: TlsConfig;
}

/** A running scheduler. */
export interface SchedulerHandle {
  readonly dnsPort: number;
  readonly httpPort: number;
  /** The bound HTTPS port; undefined when `scheduler.tls` has no certificate. */
  readonly httpsPort: number | undefined;
  readonly handler: DnsHandler;
  readonly health: HealthMonitor;
  readonly edges: EdgeSource;
  readonly stats: DnsStats;
  close(): Promise<void>;
}

/**
 * Binds UDP and TCP on one port (an ephemeral one when `port` is 0). With `dns.workers` > 1
 * both carry `SO_REUSEPORT` so the workers can bind the same port. When TCP cannot have the
 * port UDP got, the UDP socket is closed before the next try (or the error).
 *
 * @throws {NetError} `NET_LISTEN` naming the port UDP or TCP could not bind.
 * @throws {SchedulerError} From the libc UDP socket (its message names the address).
 */
async function bindDns(
  config: SchedulerConfig,
  handle: QueryHandler,
  deps: {
    rateLimiter: ResponseRateLimiter;
    stats: DnsStats;
    log: Logger;
    guard: ConnGuard;
  },
): Promise<{ udp: UdpServer; tcp: TcpServer }> {
  let lastError: unknown;
  // An ephemeral UDP port may be taken on TCP: try another a few times.
  for (let attempt = 0; attempt < (config.dnsPort === 0 ? 10 : 1); attempt++) {
    // In thread mode the main thread's socket joins the workers' group until they are bound.
    const shared = config.dns.workers > 1 || config.dns.udpSocket === "thread";
    const libc = shared || config.dns.udpSocket === "libc" ||
      (config.dns.udpSocket === "auto" && libcUdpAvailable(config.hostname));
    const udp = libc
      ? startReusePortUdpServer(
        config.hostname,
        config.dnsPort,
        handle,
        deps,
        { reusePort: shared },
      )
      : await openListener(
        "DNS UDP",
        config.hostname,
        config.dnsPort,
        () => startUdpServer(config.hostname, config.dnsPort, handle, deps),
      );
    try {
      const tcp = await openListener(
        "DNS TCP",
        config.hostname,
        udp.port,
        () =>
          startTcpServer(config.hostname, udp.port, handle, {
            idleTimeoutMs: config.dns.tcpIdleTimeoutMs,
            messageTimeoutMs: config.dns.tcpMessageTimeoutMs,
            guard: deps.guard,
            log: deps.log,
            ...(shared ? { reusePort: true } : {}),
          }),
      );
      return { udp, tcp };
    } catch (e) {
      lastError = e;
      await udp.close();
    }
  }
  throw lastError;
}

/**
 * Starts the scheduler: geo database, health checks (primed before DNS serves), DNS on UDP+TCP
 * `dnsPort`, HTTP on `httpPort`.
 *
 * A start-up that fails closes what it had opened (DNS UDP and TCP when the HTTP port is
 * taken, UDP when TCP cannot have its port, workers, health checks, the geo database).
 *
 * @throws {ConfigError} For zones, records or filters that do not parse.
 * @throws {GeoDatabaseError} When the geo database is missing or unreadable.
 * @throws {NetError} `NET_LISTEN` when a DNS or the HTTP port cannot be bound (it names it).
 * @throws {SchedulerError} When the libc UDP socket or a DNS worker cannot start.
 * @throws {AsnDatabaseError} When a steered name uses `isp_match` (not `optional`) and the ASN
 *   database is missing or malformed (naming the file and line).
 */
export async function startScheduler(
  config: SchedulerConfig,
  deps: SchedulerDeps = {},
): Promise<SchedulerHandle> {
  const log = deps.log ?? silentLogger;
  const metrics = deps.metrics ?? new MetricsRegistry();
  const networks = NetworkDirectory.fromConfig(config);
  const authority = Authority.fromConfig(config, { networks });
  // What is open so far, closed newest first if a later step fails (no half-started scheduler).
  const opened = new StartupCleanup();
  // Opened only when a steered name uses isp_match; a bad file stops start-up naming it.
  const asnDb = await openNetworks(networks, config, log.child("asn"));
  if (asnDb) opened.add(() => asnDb.close());
  let closeGeo = () => asnDb?.close();
  let geo = deps.geo;
  if (!geo) {
    const db = await openGeoDatabase({
      ipv4Path: config.geo.ipv4Path,
      ipv6Path: config.geo.ipv6Path,
      reloadCheckMs: config.geo.reloadCheckSeconds * 1000,
      load: config.geo.load,
      onReload: ({ path, error }) =>
        error
          ? log.warn("geo database reload failed", {
            path,
            error: String(error),
          })
          : log.info("geo database reloaded", { path }),
    });
    log.info("geo database open", {
      files: db.info.map((i) =>
        `${i.path} (${i.databaseType}, ${i.buildEpoch})`
      ),
    });
    geo = db;
    opened.add(() => db.close());
    closeGeo = () => {
      db.close();
      asnDb?.close();
    };
  }
  const source = config.registry.source;
  let owned: StoreEdgeSource | undefined;
  if (
    !deps.edges && (source === "store" || (source === "auto" && deps.store))
  ) {
    if (!deps.store) {
      await opened.close();
      throw new ConfigError(
        "scheduler.registry.source",
        source,
        "'config' or 'auto' in a process without a shared store",
      );
    }
    owned = new StoreEdgeSource(deps.store, {
      refreshMs: config.registry.refreshMs,
      health: config.health,
      log: log.child("registry"),
    });
    const fromStore = owned;
    await opened.run(() => fromStore.start());
    opened.add(() => fromStore.close());
  }
  const edges = deps.edges ?? owned ?? new ConfigEdgeSource(config);
  const monitor = new HealthMonitor(edges, config.health, {
    log: log.child("health"),
    ...(deps.probe ? { probe: deps.probe } : {}),
  });
  // With a shared registry, answers combine every scheduler's verdicts (they then agree).
  const health = edges instanceof StoreEdgeSource
    ? edges.attachHealth(monitor)
    : monitor;
  const stats = new DnsStats();
  // `udpSocket: thread`: every UDP thread is a Worker blocked in recvmmsg; the main thread
  // hands its socket over once they are bound (it keeps TCP and everything else).
  const threadMode = config.dns.udpSocket === "thread";
  const workerCount = threadMode ? config.dns.workers : config.dns.workers - 1;
  const accessLog = await opened.run(() =>
    openAccessLog(config.accessLog, {
      role: "scheduler",
      metrics,
      log: log.child("access-log"),
    })
  );
  opened.add(() => accessLog?.close());
  const sampleEvery = dnsSampleEvery(config.accessLog);
  const handler = new DnsHandler({
    authority,
    geo,
    edges,
    health,
    networks,
    config: workerCount > 0
      ? {
        dns: {
          ...config.dns,
          chaos: {
            ...config.dns.chaos,
            id: workerChaosId(config.dns.chaos.id, 0),
          },
        },
      }
      : config,
    stats,
    ...(accessLog && sampleEvery !== undefined
      ? { sample: { every: sampleEvery, record: (r) => accessLog.dns(r) } }
      : {}),
  });
  const rateLimiter = new ResponseRateLimiter(config.dns.rateLimit);

  opened.add(() => monitor.close());
  // Primed: every edge has a state before the first answer.
  await opened.run(() => monitor.start());
  // In slices, so that health checks and the other roles' timers keep running meanwhile.
  const warmT0 = performance.now();
  const warmed = await opened.run(async () => {
    let n = 0;
    while (n < config.dns.warmupQueries) {
      const more = handler.warm(Math.min(500, config.dns.warmupQueries - n), n);
      if (more === 0) break;
      n += more;
      await new Promise((r) => setTimeout(r, 0));
    }
    return n;
  });
  if (warmed) {
    log.debug("dns answers warmed up", {
      queries: warmed,
      ms: Math.round(performance.now() - warmT0),
    });
  }
  const trustedNetworks = deps.limits?.trustedNetworks ??
    DEFAULTS.limits.trustedNetworks;
  const guard = createDnsTcpGuard(config, trustedNetworks);
  const dns = await opened.run(() =>
    bindDns(config, (q, c, cls) => handler.handleQuery(q, c, cls), {
      rateLimiter,
      stats,
      log: log.child("dns"),
      guard,
    })
  );
  opened.add(() => dns.udp.close());
  opened.add(() => dns.tcp.close());
  const workers: DnsWorkers | undefined = workerCount > 0
    ? await opened.run(() =>
      startDnsWorkers(workerCount, dns.udp.port, config, {
        edges,
        health,
        stats,
        log: log.child("dns-workers"),
        trustedNetworks,
        ...(accessLog
          ? {
            accessLine: (l: string) => accessLog.line(l),
            accessDropped: (n: number) => accessLog.countDropped(n),
          }
          : {}),
      })
    )
    : undefined;
  if (workers) opened.add(() => workers.close());
  // The workers' sockets are in the port's group: the main thread's leaves it, so every
  // datagram reaches a blocked thread (a few queued during the start-up may be dropped).
  if (threadMode) await dns.udp.close();

  registerConnGuard(metrics, "scheduler_dns_tcp", guard);
  registerSchedulerMetrics(metrics, { stats, edges, health, monitor });

  const app = createSchedulerApp({
    handler,
    edges,
    health,
    stats,
    metrics,
    redirect: config.redirect,
    adminToken: config.adminToken,
  });
  // Meridian's HTTP/1.1 server rather than Deno.serve: the connection limits and request
  // deadlines of every HTTP port (limits.http) hold here too.
  const http = await opened.listen(
    "HTTP",
    config.hostname,
    config.httpPort,
    () =>
      serveHttp1({
        hostname: config.hostname,
        port: config.httpPort,
        ...http1Limits(
          deps.limits ?? DEFAULTS.limits,
          metrics,
          "scheduler_http",
        ),
        ...(accessLog
          ? { observe: (x) => accessLog.http(accessRecordOf(x)) }
          : {}),
        onError: (message, context) => log.debug(message, context),
      }, (req, info) => app.fetch(req, info)),
  );
  opened.add(() => http.shutdown());
  const httpPort = (http.addr as Deno.NetAddr).port;
  // HTTPS: the 302 scheduler for viewers on HTTPS pages (`scheduler.tls`).
  const serving = await opened.run(() =>
    openTlsServing(config.tls, deps.tls ?? DEFAULTS.tls, "scheduler_https", {
      log: log.child("tls"),
      metrics,
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
          ...http1Limits(
            deps.limits ?? DEFAULTS.limits,
            metrics,
            "scheduler_https",
          ),
          tls: serving,
          onError: (message, context) => log.debug(message, context),
        }, (req, info) => app.fetch(req, info)),
    )
    : undefined;
  const httpsPort = https?.addr.port;
  log.info("scheduler listening", {
    dns: `${config.hostname}:${dns.udp.port}`,
    dnsThreads: config.dns.workers,
    http: `http://${config.hostname}:${httpPort}`,
    ...(httpsPort ? { https: `https://${config.hostname}:${httpsPort}` } : {}),
  });

  return {
    dnsPort: dns.udp.port,
    httpPort,
    httpsPort,
    handler,
    health: monitor,
    edges,
    stats,
    async close() {
      await http.shutdown();
      await https?.shutdown();
      serving?.certificates.close();
      await workers?.close();
      await dns.udp.close();
      await dns.tcp.close();
      await monitor.close();
      await owned?.close();
      closeGeo();
      await accessLog?.close();
    },
  };
}
