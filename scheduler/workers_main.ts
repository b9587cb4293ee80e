/**
 * Entry point of one DNS worker (a Deno Worker started by `workers.ts`): binds the shared
 * UDP and TCP port with `SO_REUSEPORT` and answers from the main thread's edge snapshots.
 *
 * @module
 */

/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

import { openGeoDatabase } from "../geo/mod.ts";
import type { Logger } from "../log/mod.ts";
import { formatDns } from "../log/access/mod.ts";
import { DnsHandler } from "./answer/handler.ts";
import { NetworkDirectory, openNetworks } from "./networks.ts";
import { ResponseRateLimiter } from "./server/rate_limit.ts";
import {
  createDnsTcpGuard,
  startTcpServer,
  type TcpServer,
} from "./server/tcp.ts";
import type { QueryHandler, UdpServer } from "./server/udp.ts";
import { startReusePortUdpServer } from "./server/udp_reuseport.ts";
import { DnsStats } from "./stats.ts";
import {
  dnsSampleEvery,
  type FromWorker,
  MAX_WORKER_ACCESS_LINES,
  SnapshotView,
  STATS_PUSH_MS,
  type StatsDelta,
  statsDelta,
  type ToWorker,
  workerChaosId,
} from "./workers.ts";
import { Authority } from "./zone.ts";

const post = (m: FromWorker) => self.postMessage(m);

function forwardingLogger(component: string): Logger {
  const at = (level: "debug" | "info" | "warn" | "error") =>
  (
    msg: string,
    fields?: Record<string, unknown>,
  ) => post({ kind: "log", level, msg: `${component}${msg}`, fields });
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (c) => forwardingLogger(`${component}${c}: `),
  };
}

let view: SnapshotView | undefined;
let udp: UdpServer | undefined;
let tcp: TcpServer | undefined;
let closeGeo = () => {};
let statsTimer: ReturnType<typeof setInterval> | undefined;
let stats: DnsStats | undefined;
const previous: { value?: StatsDelta } = {};
let starting: Promise<void> | undefined;
/** Sampled access log lines since the last push. */
let accessLines: string[] = [];
let accessDropped = 0;

function pushAccess(): void {
  if (accessLines.length === 0 && accessDropped === 0) return;
  post({ kind: "access", lines: accessLines, dropped: accessDropped });
  accessLines = [];
  accessDropped = 0;
}

async function start(m: Extract<ToWorker, { kind: "init" }>): Promise<void> {
  const { config, index, port } = m;
  const guard = createDnsTcpGuard(config, m.trustedNetworks);
  const log = forwardingLogger("");
  const geo = await openGeoDatabase({
    ipv4Path: config.geo.ipv4Path,
    ipv6Path: config.geo.ipv6Path,
    reloadCheckMs: config.geo.reloadCheckSeconds * 1000,
    load: config.geo.load,
    onReload: ({ path, error }) =>
      error
        ? log.warn("geo database reload failed", { path, error: String(error) })
        : log.info("geo database reloaded", { path }),
  });
  const networks = NetworkDirectory.fromConfig(config);
  const asnDb = await openNetworks(networks, config, log.child("asn"));
  closeGeo = () => {
    geo.close();
    asnDb?.close();
  };
  view = new SnapshotView(m.snapshot);
  stats = new DnsStats();
  const chaos = config.dns.chaos;
  const every = dnsSampleEvery(config.accessLog);
  const format = config.accessLog.format;
  const handler = new DnsHandler({
    authority: Authority.fromConfig(config, { networks }),
    geo,
    networks,
    edges: view,
    health: view,
    config: {
      dns: {
        ...config.dns,
        chaos: { ...chaos, id: workerChaosId(chaos.id, index) },
      },
    },
    stats,
    ...(every === undefined ? {} : {
      sample: {
        every,
        record: (r) => {
          if (accessLines.length >= MAX_WORKER_ACCESS_LINES) accessDropped++;
          else accessLines.push(formatDns(r, format, "scheduler"));
        },
      },
    }),
  });
  handler.warm(config.dns.warmupQueries);
  const handle: QueryHandler = (q, c, cls) => handler.handleQuery(q, c, cls);
  udp = startReusePortUdpServer(config.hostname, port, handle, {
    rateLimiter: new ResponseRateLimiter(config.dns.rateLimit),
    stats,
    log: log.child("dns"),
  }, { blockThread: m.blockThread });
  // A thread blocked in recvmmsg would serve TCP only between waits: the main thread keeps it.
  tcp = m.blockThread
    ? undefined
    : startTcpServer(config.hostname, port, handle, {
      idleTimeoutMs: config.dns.tcpIdleTimeoutMs,
      messageTimeoutMs: config.dns.tcpMessageTimeoutMs,
      guard,
      log: log.child("dns"),
      reusePort: true,
    });
  statsTimer = setInterval(() => {
    post({ kind: "stats", delta: statsDelta(stats!, previous) });
    pushAccess();
  }, STATS_PUSH_MS);
}

async function stop(): Promise<void> {
  await starting?.catch(() => {});
  clearInterval(statsTimer);
  await udp?.close();
  await tcp?.close();
  closeGeo();
  if (stats) post({ kind: "stats", delta: statsDelta(stats, previous) });
  pushAccess();
  post({ kind: "closed" });
  self.close();
}

self.onmessage = (ev: MessageEvent<ToWorker>) => {
  const m = ev.data;
  switch (m.kind) {
    case "init":
      starting = start(m);
      starting.then(
        () => post({ kind: "ready" }),
        (e) => post({ kind: "failed", error: String(e) }),
      );
      break;
    case "snapshot":
      view?.apply(m.snapshot);
      break;
    case "close":
      void stop();
      break;
  }
};
