/**
 * This process's entry in the shared store's node directory (`store.nodes`): the roles it
 * runs, where its ports are reached, its version and uptime, CPU and RSS, and a few rates read
 * from the process's metrics, rewritten every couple of seconds and expiring on its own when
 * the process dies. The control role's overview reads it; one announcer per process (not per
 * role), started by `main.ts` once the roles listen.
 *
 * @module
 */

import { cpuUsage } from "node:process";
import { describeError, type Logger } from "../log/mod.ts";
import type { MetricsRegistry } from "../metrics/mod.ts";
import type { NodeDirectory, NodeRecord } from "../store/mod.ts";
import { VERSION } from "./version.ts";

/** Between two announcements (ms). */
export const NODE_ANNOUNCE_INTERVAL_MS = 2_000;
/** A record counts for this many intervals after it was written. */
export const NODE_TTL_INTERVALS = 3;

/**
 * Rates a node reports: name in the record → the metric family whose sum's growth per second
 * it is. Families a process does not have (its roles do not register them) are left out.
 */
export const NODE_RATES: Readonly<Record<string, string>> = {
  dnsQueriesPerSecond: "meridian_dns_queries_total",
  originHttpRequestsPerSecond: "meridian_origin_http_requests_total",
  edgeRequestsPerSecond: "meridian_edge_requests_total",
};

/** Options of {@link NodeAnnouncer}. */
export interface NodeAnnouncerOptions {
  /** Unique per process. @default `${hostname}:${pid}` */
  readonly id?: string;
  /** Roles this process runs. */
  readonly roles: readonly string[];
  /** Where each port is reached (`origin.http` → `http://127.0.0.1:8090`). */
  readonly endpoints: Readonly<Record<string, string>>;
  /** The process's metrics, read for {@link NODE_RATES}: sums over every role's registry. */
  readonly metrics?: Pick<MetricsRegistry, "sum">;
  /** @default NODE_ANNOUNCE_INTERVAL_MS */
  readonly intervalMs?: number;
  /** Unix ms. @default Date.now */
  readonly clock?: () => number;
  /** Where failed writes are reported (once until one succeeds again). */
  readonly log?: Logger;
}

/** `scheme://host:port` for a listener bound to `hostname` (a wildcard bind names this host). */
export function endpointUrl(
  scheme: string,
  hostname: string,
  port: number,
): string {
  let host = hostname;
  if (host === "0.0.0.0" || host === "::" || host === "") {
    try {
      host = Deno.hostname();
    } catch {
      host = "127.0.0.1";
    }
  }
  return `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

function hostnameOrLocal(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

/** Keeps this process's node record current. Failures are logged, never thrown. */
export class NodeAnnouncer {
  readonly #directory: NodeDirectory;
  readonly #o: NodeAnnouncerOptions;
  readonly #id: string;
  readonly #clock: () => number;
  readonly #intervalMs: number;
  readonly #startedAtMs: number;
  #endpoints: Readonly<Record<string, string>>;
  #roles: readonly string[];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #writing: Promise<void> | undefined;
  #failing = false;
  #closed = false;
  #last: { atMs: number; cpuMicros: number; sums: Map<string, number> };

  constructor(directory: NodeDirectory, options: NodeAnnouncerOptions) {
    this.#directory = directory;
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
    this.#intervalMs = options.intervalMs ?? NODE_ANNOUNCE_INTERVAL_MS;
    this.#id = options.id ?? `${hostnameOrLocal()}:${Deno.pid}`;
    this.#startedAtMs = this.#clock() - performance.now();
    this.#endpoints = options.endpoints;
    this.#roles = options.roles;
    this.#last = {
      atMs: this.#clock(),
      cpuMicros: cpuMicros(),
      sums: this.#sums(),
    };
  }

  /** This process's node id. */
  get id(): string {
    return this.#id;
  }

  /** Announces now, then every interval until {@link close}. */
  start(): void {
    this.#tick();
  }

  /** New roles or endpoints (a role restarted on another port); announced at once. */
  update(
    roles: readonly string[],
    endpoints: Readonly<Record<string, string>>,
  ): void {
    this.#roles = roles;
    this.#endpoints = endpoints;
    if (!this.#closed && this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#tick();
    }
  }

  /** The record as it would be written now (and the samples it was computed from kept). */
  snapshot(): NodeRecord {
    const now = this.#clock();
    const cpu = cpuMicros();
    const sums = this.#sums();
    const seconds = Math.max(0.001, (now - this.#last.atMs) / 1000);
    const rates: Record<string, number> = {};
    for (const [name, total] of sums) {
      const before = this.#last.sums.get(name);
      if (before === undefined) continue;
      rates[name] = Math.max(
        0,
        Number(((total - before) / seconds).toFixed(2)),
      );
    }
    const record: NodeRecord = {
      id: this.#id,
      roles: [...this.#roles],
      version: VERSION,
      hostname: hostnameOrLocal(),
      startedAtMs: Math.round(this.#startedAtMs),
      endpoints: { ...this.#endpoints },
      cpu: Number(
        Math.max(0, (cpu - this.#last.cpuMicros) / 1e6 / seconds).toFixed(3),
      ),
      rssBytes: Deno.memoryUsage().rss,
      rates,
      updatedAtMs: now,
      ttlMs: this.#intervalMs * NODE_TTL_INTERVALS,
    };
    this.#last = { atMs: now, cpuMicros: cpu, sums };
    return record;
  }

  /** Stops announcing and withdraws the record. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.#writing;
    await this.#directory.withdraw(this.#id).catch(() => {});
  }

  #sums(): Map<string, number> {
    const out = new Map<string, number>();
    const m = this.#o.metrics;
    if (!m) return out;
    for (const [name, family] of Object.entries(NODE_RATES)) {
      const v = m.sum(family);
      if (v !== undefined) out.set(name, v);
    }
    return out;
  }

  #tick(): void {
    if (this.#closed) return;
    const record = this.snapshot();
    this.#writing = this.#directory.announce(record).then(
      () => {
        if (this.#failing) this.#o.log?.info("node record written again");
        this.#failing = false;
      },
      (e) => {
        if (!this.#failing) {
          this.#o.log?.warn("cannot write node record", {
            error: describeError(e),
          });
        }
        this.#failing = true;
      },
    );
    this.#timer = setTimeout(() => this.#tick(), this.#intervalMs);
  }
}

function cpuMicros(): number {
  const u = cpuUsage();
  return u.user + u.system;
}
