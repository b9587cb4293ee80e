/**
 * DNS answering beyond one core (`scheduler.dns.workers` > 1): the main thread and
 * `workers - 1` Deno Workers each bind the same UDP port (a libc socket with `SO_REUSEPORT`,
 * `server/udp_reuseport.ts`) and TCP port (`Deno.listen({ reusePort })`); the Linux kernel
 * spreads datagrams and connections over them by a hash of the client's address and port.
 *
 * Design (the simplest one that keeps every answer consistent): the main thread alone owns the
 * edge source (config list or store registry), the health monitor, the HTTP API and drains.
 * It sends each worker an {@link EdgeSnapshot} (edges, load, drain flags, up/down) at start
 * and whenever the edge or health version changes (checked every {@link SNAPSHOT_POLL_MS}),
 * so workers never probe edges or read the store, and every worker answers from the state the
 * main thread sees, at most {@link SNAPSHOT_POLL_MS} later. Each worker opens the geo database
 * files of `scheduler.geo` itself (a `deps.geo` given to `startScheduler` is used by the main
 * thread only) and builds its own zone data from the config. Workers send their counters
 * every second; the main thread adds them to its {@link DnsStats} (totals, rcodes, transports,
 * ECS scopes, RRL; the dashboard's queries-per-second shows the main thread's share only).
 * Response rate limiting is per worker: a network whose queries hash to k workers gets up to
 * k times `responsesPerSecond`. So is TCP admission: each thread's listener has its own
 * connection guard with the configured caps (the kernel spreads connections over them), and
 * `/metrics` shows the main thread's guard only.
 *
 * `id.server` / `hostname.bind` answer `{chaos.id}-w{N}` per thread (0 = main thread) when
 * workers > 1, so an operator can tell which thread answered.
 *
 * @module
 */

import type { SchedulerAccessLogConfig } from "../config/access_log_schema.ts";
import type { SchedulerConfig } from "../config/scheduler_schema.ts";
import type { Logger } from "../log/mod.ts";
import {
  type EdgeSource,
  type EdgeStatus,
  type StreamIndex,
  StreamTable,
} from "./edges.ts";
import type { HealthSnapshot } from "./health/monitor.ts";
import type { HealthState } from "./health/state.ts";
import type { DnsStats } from "./stats.ts";
import { SchedulerError, SchedulerErrorCode } from "./errors.ts";

/** How often the main thread looks for edge/health changes to send to workers. */
export const SNAPSHOT_POLL_MS = 100;
/** How often workers send their counters (and sampled access log lines). */
export const STATS_PUSH_MS = 1000;
/** Access log lines a worker holds between two pushes; more are dropped (and counted). */
export const MAX_WORKER_ACCESS_LINES = 10_000;

/**
 * Every how many DNS queries one is written to the access log; `undefined` when none is (the
 * log is off or the rate is 0).
 *
 * @example
 * ```ts
 * import { dnsSampleEvery } from "./workers.ts";
 * const on = { enabled: true, format: "json", destination: "stdout" } as const;
 * if (dnsSampleEvery({ ...on, dnsSampleRate: 0.01 }) !== 100) throw new Error("rate");
 * if (dnsSampleEvery({ ...on, dnsSampleRate: 0 }) !== undefined) throw new Error("off");
 * ```
 */
export function dnsSampleEvery(
  config: SchedulerAccessLogConfig,
): number | undefined {
  if (!config.enabled || !(config.dnsSampleRate > 0)) return undefined;
  return Math.max(1, Math.round(1 / config.dnsSampleRate));
}

/** What a worker answers from: the main thread's edges and health at one moment. */
export interface EdgeSnapshot {
  readonly version: number;
  readonly edges: readonly EdgeStatus[];
  /** Ids of the edges the health monitor sees up. */
  readonly up: readonly string[];
  /** Each edge's reported live streams (for `stream_affinity`), and the index's version. */
  readonly streams: readonly { id: string; streams: readonly unknown[] }[];
  readonly streamsVersion: number;
}

/** Counters a worker adds to the main thread's {@link DnsStats} (deltas since the last push). */
export interface StatsDelta {
  readonly total: number;
  readonly ecsQueries: number;
  readonly byRcode: readonly [number, number][];
  readonly udp: number;
  readonly tcp: number;
  readonly scopes: readonly [number, number][];
  readonly rrlDropped: number;
  readonly rrlSlipped: number;
  /** Non-zero cells of {@link DnsStats.queries}: `[index, count]`. */
  readonly queries: readonly [number, number][];
  /** {@link DnsStats.latencyCounts}, whole (a dozen numbers). */
  readonly latencyCounts: readonly number[];
  readonly latencySum: number;
  readonly byEdge: readonly [string, number][];
}

/** Main thread → worker. */
export type ToWorker =
  | {
    readonly kind: "init";
    readonly index: number;
    readonly port: number;
    readonly config: SchedulerConfig;
    /** The process's `limits.trustedNetworks` (exempt from the per-network TCP cap). */
    readonly trustedNetworks: readonly string[];
    readonly snapshot: EdgeSnapshot;
    /** Block the worker's thread in `recvmmsg` (`scheduler.dns.udpSocket: thread`). */
    readonly blockThread: boolean;
  }
  | { readonly kind: "snapshot"; readonly snapshot: EdgeSnapshot }
  | { readonly kind: "close" };

/** Worker → main thread. */
export type FromWorker =
  | { readonly kind: "ready" }
  | { readonly kind: "failed"; readonly error: string }
  | { readonly kind: "stats"; readonly delta: StatsDelta }
  | {
    /** Sampled DNS queries, formatted; `dropped` did not fit the batch. */
    readonly kind: "access";
    readonly lines: readonly string[];
    readonly dropped: number;
  }
  | {
    readonly kind: "log";
    readonly level: "debug" | "info" | "warn" | "error";
    readonly msg: string;
    readonly fields?: Record<string, unknown>;
  }
  | { readonly kind: "closed" };

/** The `id.server` text of thread `index` (0 = main thread) when workers > 1. */
export function workerChaosId(id: string, index: number): string {
  return id ? `${id}-w${index}` : "";
}

/** Takes a snapshot of the main thread's edges and health. */
export function takeSnapshot(
  edges: EdgeSource,
  health: HealthSnapshot,
  version: number,
): EdgeSnapshot {
  const list = edges.list();
  return {
    version,
    edges: list.map((s) => ({
      edge: s.edge,
      load: s.load,
      draining: s.draining,
    })),
    up: list.filter((s) => health.isUp(s.edge.id)).map((s) => s.edge.id),
    streams: streamReports(list, edges.streams),
    streamsVersion: edges.streams?.version ?? 0,
  };
}

/** The edges' streams as {@link StreamTable.update} takes them, from an index. */
function streamReports(
  list: readonly EdgeStatus[],
  index: StreamIndex | undefined,
): { id: string; streams: { key: string; viewers: number }[] }[] {
  if (!index || !(index instanceof StreamTable)) return [];
  const byEdge = new Map<string, { key: string; viewers: number }[]>();
  for (const [key, holders] of index.entries()) {
    for (const [id, viewers] of holders) {
      let l = byEdge.get(id);
      if (!l) byEdge.set(id, l = []);
      l.push({ key, viewers });
    }
  }
  return list.filter((s) => byEdge.has(s.edge.id)).map((s) => ({
    id: s.edge.id,
    streams: byEdge.get(s.edge.id)!,
  }));
}

/** A worker's edge source and health view, replaced by each snapshot. */
export class SnapshotView implements EdgeSource, HealthSnapshot {
  #snapshot: EdgeSnapshot;
  #up: ReadonlySet<string>;
  readonly streams: StreamTable = new StreamTable();

  constructor(snapshot: EdgeSnapshot) {
    this.#snapshot = snapshot;
    this.#up = new Set(snapshot.up);
    this.streams.update(snapshot.streams);
  }

  /** Installs a newer snapshot (an older or equal version is ignored). */
  apply(snapshot: EdgeSnapshot): void {
    if (snapshot.version <= this.#snapshot.version) return;
    this.#snapshot = snapshot;
    this.#up = new Set(snapshot.up);
    this.streams.update(snapshot.streams);
  }

  get version(): number {
    return this.#snapshot.version;
  }

  list(): readonly EdgeStatus[] {
    return this.#snapshot.edges;
  }

  isUp(edgeId: string): boolean {
    return this.#up.has(edgeId);
  }

  state(_edgeId: string): HealthState | undefined {
    return undefined; // workers answer from up/down only
  }
}

/** Counts what changed in `stats` since the previous call (worker side). */
export function statsDelta(
  stats: DnsStats,
  previous: { value?: StatsDelta },
): StatsDelta {
  const now: StatsDelta = {
    total: stats.total,
    ecsQueries: stats.ecsQueries,
    byRcode: [...stats.byRcode],
    udp: stats.byTransport.udp,
    tcp: stats.byTransport.tcp,
    scopes: stats.scopeHistogram.flatMap((v, i) => v ? [[i, v]] : []) as [
      number,
      number,
    ][],
    rrlDropped: stats.rrlDropped,
    rrlSlipped: stats.rrlSlipped,
    queries: sparse(stats.queries),
    latencyCounts: [...stats.latencyCounts],
    latencySum: stats.latencySum,
    byEdge: [...stats.byEdge].map(([id, c]) => [id, c.count]),
  };
  const p = previous.value;
  previous.value = now;
  if (!p) return now;
  const minus = <K>(
    a: readonly [K, number][],
    b: readonly [K, number][],
  ) => {
    const old = new Map(b);
    return a.map(([k, v]) => [k, v - (old.get(k) ?? 0)] as [K, number])
      .filter(([, v]) => v !== 0);
  };
  return {
    total: now.total - p.total,
    ecsQueries: now.ecsQueries - p.ecsQueries,
    byRcode: minus(now.byRcode, p.byRcode),
    udp: now.udp - p.udp,
    tcp: now.tcp - p.tcp,
    scopes: minus(now.scopes, p.scopes),
    rrlDropped: now.rrlDropped - p.rrlDropped,
    rrlSlipped: now.rrlSlipped - p.rrlSlipped,
    queries: minus(now.queries, p.queries),
    latencyCounts: now.latencyCounts.map((v, i) =>
      v - (p.latencyCounts[i] ?? 0)
    ),
    latencySum: now.latencySum - p.latencySum,
    byEdge: minus(now.byEdge, p.byEdge),
  };
}

function sparse(a: Float64Array): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < a.length; i++) if (a[i]) out.push([i, a[i]!]);
  return out;
}

/** Adds a worker's counters to the main thread's stats. */
export function addStats(stats: DnsStats, d: StatsDelta): void {
  stats.total += d.total;
  stats.ecsQueries += d.ecsQueries;
  for (const [k, v] of d.byRcode) {
    stats.byRcode.set(k, (stats.byRcode.get(k) ?? 0) + v);
  }
  stats.byTransport.udp += d.udp;
  stats.byTransport.tcp += d.tcp;
  for (const [i, v] of d.scopes) {
    stats.scopeHistogram[i] = (stats.scopeHistogram[i] ?? 0) + v;
  }
  stats.rrlDropped += d.rrlDropped;
  stats.rrlSlipped += d.rrlSlipped;
  for (const [i, v] of d.queries) {
    stats.queries[i] = (stats.queries[i] ?? 0) + v;
  }
  d.latencyCounts.forEach((v, i) => {
    if (i < stats.latencyCounts.length) stats.latencyCounts[i]! += v;
  });
  stats.latencySum += d.latencySum;
  for (const [id, v] of d.byEdge) stats.edgeCounter(id).count += v;
}

/** Running DNS workers. */
export interface DnsWorkers {
  readonly count: number;
  close(): Promise<void>;
}

/**
 * Starts `count` workers answering on `port` (already bound by the main thread with
 * `SO_REUSEPORT`) and resolves once every one is bound.
 *
 * @throws {SchedulerError} `SCHEDULER_WORKER` when a worker fails to start (the others are
 *   stopped first).
 */
export async function startDnsWorkers(
  count: number,
  port: number,
  config: SchedulerConfig,
  deps: {
    readonly edges: EdgeSource;
    readonly health: HealthSnapshot;
    readonly stats: DnsStats;
    readonly log: Logger;
    readonly trustedNetworks: readonly string[];
    /** Where the workers' sampled access log lines go (the main thread's access log). */
    readonly accessLine?: (line: string) => void;
    /** Where lines a worker had to drop are counted. */
    readonly accessDropped?: (lines: number) => void;
  },
): Promise<DnsWorkers> {
  let version = 1;
  let seen = `${deps.edges.version}:${deps.health.version}:${
    deps.edges.streams?.version ?? 0
  }`;
  let snapshot = takeSnapshot(deps.edges, deps.health, version);
  const workers: {
    w: Worker;
    closed: PromiseWithResolvers<void>;
    log: Logger;
  }[] = [];
  const starts: Promise<void>[] = [];
  for (let i = 1; i <= count; i++) {
    const w = new Worker(new URL("./workers_main.ts", import.meta.url).href, {
      type: "module",
      name: `meridian-dns-${i}`,
    });
    const ready = Promise.withResolvers<void>();
    const closed = Promise.withResolvers<void>();
    const log = deps.log.child(`w${i}`);
    w.onmessage = (ev: MessageEvent<FromWorker>) => {
      const m = ev.data;
      switch (m.kind) {
        case "ready":
          ready.resolve();
          break;
        case "failed":
          ready.reject(
            new SchedulerError(
              SchedulerErrorCode.Worker,
              `Cannot start DNS worker ${i}: ${m.error}`,
            ),
          );
          break;
        case "stats":
          addStats(deps.stats, m.delta);
          break;
        case "access":
          for (const l of m.lines) deps.accessLine?.(l);
          if (m.dropped > 0) deps.accessDropped?.(m.dropped);
          break;
        case "log":
          log[m.level](m.msg, m.fields);
          break;
        case "closed":
          closed.resolve();
          break;
      }
    };
    w.onerror = (e) => {
      e.preventDefault();
      const error = new SchedulerError(
        SchedulerErrorCode.Worker,
        `Cannot start DNS worker ${i}: it crashed: ${e.message}`,
      );
      ready.reject(error);
      closed.resolve();
      log.error("dns worker crashed", { error: e.message });
    };
    const init: ToWorker = {
      kind: "init",
      index: i,
      port,
      config,
      trustedNetworks: deps.trustedNetworks,
      snapshot,
      blockThread: config.dns.udpSocket === "thread",
    };
    w.postMessage(init);
    workers.push({ w, closed, log });
    starts.push(ready.promise);
  }

  const stopAll = async () => {
    clearInterval(timer);
    await Promise.all(workers.map(async ({ w, closed }) => {
      w.postMessage({ kind: "close" } satisfies ToWorker);
      const t = setTimeout(() => closed.resolve(), 2000);
      await closed.promise;
      clearTimeout(t);
      w.terminate();
    }));
  };

  const timer = setInterval(() => {
    const key = `${deps.edges.version}:${deps.health.version}:${
      deps.edges.streams?.version ?? 0
    }`;
    if (key === seen) return;
    seen = key;
    snapshot = takeSnapshot(deps.edges, deps.health, ++version);
    for (const { w } of workers) {
      w.postMessage({ kind: "snapshot", snapshot } satisfies ToWorker);
    }
  }, SNAPSHOT_POLL_MS);

  try {
    await Promise.all(starts);
  } catch (e) {
    await stopAll();
    throw e;
  }
  return { count, close: stopAll };
}
