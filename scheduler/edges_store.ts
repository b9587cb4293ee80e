/**
 * The shared store's edge registry as an {@link EdgeSource}: edges register and heartbeat
 * themselves (`edge/registry/`), operators drain them through any scheduler, and every
 * scheduler's health monitor shares its view.
 *
 * DNS answering never waits on the store: {@link StoreEdgeSource.list} returns an in-memory
 * snapshot that a timer re-reads every `refreshMs`, and that feed events (`edge.registered`,
 * `edge.deregistered`, `edge.drain`) refresh at once. `version` changes only when what the
 * answers depend on changed (membership, addresses, drain, load to 1%, other schedulers'
 * health verdicts), so the DNS answer cache is rebuilt only then.
 *
 * @module
 */

import type { SchedulerConfig } from "../config/scheduler_schema.ts";
import { describeError, type Logger } from "../log/mod.ts";
import {
  combineHealthViews,
  type EdgeRecord,
  type HealthView,
  type SharedStore,
} from "../store/mod.ts";
import { type EdgeSource, type EdgeStatus, StreamTable } from "./edges.ts";
import type { HealthSnapshot } from "./health/monitor.ts";
import type { HealthTransition } from "./health/history.ts";
import type { HealthState } from "./health/state.ts";

/** Bits/s of one unit of scheduler `capacity` for registered edges (capacity is in Gbit/s). */
export const CAPACITY_UNIT_BPS = 1e9;
/** A scheduler's health view counts for this many refresh or check intervals. */
const VIEW_TTL_INTERVALS = 3;

/** Options of {@link StoreEdgeSource}. */
export interface StoreEdgeSourceOptions {
  /** Re-read interval (ms): `scheduler.registry.refreshMs`. */
  readonly refreshMs: number;
  /** How health targets are built from an edge's base URL (kind, path). */
  readonly health: Pick<
    SchedulerConfig["health"],
    "kind" | "path" | "intervalMs"
  >;
  /** This scheduler's id in shared health views. @default `{hostname}-{random}` */
  readonly schedulerId?: string;
  readonly log?: Logger;
  /** Unix ms. @default Date.now */
  readonly clock?: () => number;
}

/**
 * Reported load of a registered edge, 0 (idle) .. 1 (full): the larger of egress over
 * `capacityBps` and viewers over `capacityViewers` (each only when that capacity is set),
 * rounded to 1% so small changes do not churn the answer cache.
 *
 * @example
 * ```ts
 * import { registeredLoad } from "./edges_store.ts";
 * const load = registeredLoad({ capacityBps: 1e9, capacityViewers: 100, load: { viewers: 80, egressBitsPerSecond: 5e8, hitRatio: 1 } });
 * if (load !== 0.8) throw new Error(String(load));
 * ```
 */
export function registeredLoad(
  r: Pick<EdgeRecord, "capacityBps" | "capacityViewers" | "load">,
): number {
  let load = 0;
  if (r.capacityBps > 0) {
    load = Math.max(load, r.load.egressBitsPerSecond / r.capacityBps);
  }
  if (r.capacityViewers > 0) {
    load = Math.max(load, r.load.viewers / r.capacityViewers);
  }
  return Math.round(load * 100) / 100;
}

/** What the health monitor checks for a registered edge. */
export function registeredHealthTarget(
  r: Pick<EdgeRecord, "baseUrl">,
  health: Pick<SchedulerConfig["health"], "kind" | "path">,
): string {
  const base = r.baseUrl.replace(/\/+$/, "");
  if (health.kind === "http") return `${base}${health.path}`;
  const u = new URL(base);
  return `${u.hostname}:${u.port || (u.protocol === "https:" ? "443" : "80")}`;
}

/** Builds the scheduler's view of one registered edge. */
function toStatus(
  r: EdgeRecord,
  draining: boolean,
  health: StoreEdgeSourceOptions["health"],
): EdgeStatus {
  return {
    edge: {
      id: r.id,
      address: r.address,
      address6: r.address6,
      region: r.region,
      latitude: r.latitude,
      longitude: r.longitude,
      capacity: r.capacityBps > 0 ? r.capacityBps / CAPACITY_UNIT_BPS : 1,
      healthTarget: registeredHealthTarget(r, health),
    },
    load: registeredLoad(r),
    draining,
  };
}

/**
 * The store-backed edge source. Call {@link start} before handing it to the scheduler (the
 * first read is awaited, so the first answer already sees the registered edges) and
 * {@link close} after the scheduler closed.
 *
 * @example
 * ```ts ignore
 * const edges = new StoreEdgeSource(store, {
 *   health: config.scheduler.health,
 *   refreshMs: config.scheduler.registry.refreshMs,
 * });
 * await edges.start();
 * const s = await startScheduler(config.scheduler, { edges });
 * ```
 */
export class StoreEdgeSource implements EdgeSource {
  readonly schedulerId: string;
  readonly #store: Pick<SharedStore, "edges" | "subscribe">;
  readonly #o: StoreEdgeSourceOptions;
  readonly #refreshMs: number;
  readonly #clock: () => number;
  #version = 1;
  /** Which registered edges serve which streams (their heartbeats' `load.streams`). */
  readonly streams: StreamTable = new StreamTable();
  #statuses: readonly EdgeStatus[] = [];
  #records: readonly EdgeRecord[] = [];
  #fingerprint = "";
  /** Other schedulers' fresh views, by edge id. */
  #remote = new Map<string, HealthView[]>();
  #local: HealthSnapshot | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #refreshing: Promise<void> | undefined;
  #again = false;
  #unsubscribe: (() => void) | undefined;
  #closed = false;
  #failing = false;

  constructor(
    store: Pick<SharedStore, "edges" | "subscribe">,
    options: StoreEdgeSourceOptions,
  ) {
    this.#store = store;
    this.#o = options;
    this.#refreshMs = options.refreshMs;
    // A test seam, like schedulerId: not config.
    this.#clock = options.clock ?? Date.now;
    this.schedulerId = options.schedulerId ??
      `${hostname()}-${crypto.randomUUID().slice(0, 8)}`;
  }

  get version(): number {
    return this.#version;
  }

  list(): readonly EdgeStatus[] {
    return this.#statuses;
  }

  /** The registry records behind {@link list} (load details, base URLs) as last read. */
  records(): readonly EdgeRecord[] {
    return this.#records;
  }

  /**
   * Reads the registry once (awaited), then keeps reading every `refreshMs` and on feed events.
   * @throws {StoreError} When the first read fails.
   */
  async start(): Promise<void> {
    await this.#refreshOnce();
    this.#unsubscribe = this.#store.subscribe((entry) => {
      const k = entry.event.kind;
      if (
        k === "edge.registered" || k === "edge.deregistered" ||
        k === "edge.drain"
      ) void this.refresh();
    });
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      void this.refresh().finally(() => this.#schedule());
    }, this.#refreshMs);
  }

  /** Re-reads the registry now (coalesced with a read in flight); failures are logged. */
  refresh(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#refreshing) {
      this.#again = true;
      return this.#refreshing;
    }
    const run = async () => {
      do {
        this.#again = false;
        try {
          await this.#refreshOnce();
          if (this.#failing) {
            this.#failing = false;
            this.#o.log?.info("edge registry readable again");
          }
        } catch (err) {
          if (this.#closed) return;
          if (!this.#failing) {
            this.#failing = true;
            // Keep answering from the last snapshot: a store outage must not empty DNS.
            this.#o.log?.warn("cannot read edge registry; keeping last list", {
              error: describeError(err),
            });
          }
        }
      } while (this.#again && !this.#closed);
    };
    this.#refreshing = run().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refreshOnce(): Promise<void> {
    if (this.#local) await this.#report(this.#local);
    const snap = await this.#store.edges.snapshot(this.#clock());
    const statuses = snap.edges.map((r) =>
      toStatus(r, snap.drains.has(r.id), this.#o.health)
    );
    const remote = new Map<string, HealthView[]>();
    for (const v of snap.health) {
      if (v.schedulerId === this.schedulerId) continue;
      const list = remote.get(v.edgeId) ?? [];
      list.push(v);
      remote.set(v.edgeId, list);
    }
    const fingerprint = JSON.stringify([
      statuses,
      [...remote].map(([id, vs]) => [
        id,
        vs.map((v) => `${v.schedulerId}:${v.up}`).sort(),
      ]).sort(),
    ]);
    if (this.#closed) return;
    this.#records = snap.edges;
    // Drained edges serve out their viewers but take no new stream-affine ones.
    this.streams.update(
      snap.edges.filter((r) => !snap.drains.has(r.id)).map((r) => ({
        id: r.id,
        streams: r.load.streams,
      })),
    );
    this.#remote = remote;
    if (fingerprint !== this.#fingerprint) {
      const before = new Set(this.#statuses.map((s) => s.edge.id));
      const after = new Set(statuses.map((s) => s.edge.id));
      for (const id of after) {
        if (!before.has(id)) this.#o.log?.info("edge joined", { edge: id });
      }
      for (const id of before) {
        if (!after.has(id)) this.#o.log?.info("edge left", { edge: id });
      }
      this.#fingerprint = fingerprint;
      this.#statuses = statuses;
      this.#version++;
    }
  }

  /** Writes this scheduler's view of every edge its monitor has checked. */
  async #report(local: HealthSnapshot): Promise<void> {
    const views = [];
    for (const s of this.#statuses) {
      const st = local.state(s.edge.id);
      if (st) {
        views.push({ edgeId: s.edge.id, up: st.up, lastError: st.lastError });
      }
    }
    if (!views.length) return;
    const ttlMs = VIEW_TTL_INTERVALS *
      Math.max(this.#refreshMs, this.#o.health.intervalMs);
    await this.#store.edges.reportHealth(
      this.schedulerId,
      views,
      this.#clock(),
      ttlMs,
    );
  }

  /**
   * Sets or clears an edge's drain flag in the store (every scheduler sees it) and re-reads.
   * @returns `false` for an edge that is not registered.
   */
  async setDraining(id: string, draining: boolean): Promise<boolean> {
    if (!this.#statuses.some((s) => s.edge.id === id)) {
      await this.refresh();
      if (!this.#statuses.some((s) => s.edge.id === id)) return false;
    }
    await this.#store.edges.setDraining(id, draining, this.#clock());
    await this.refresh();
    return true;
  }

  /**
   * Shares `local`'s verdicts through the store and returns what answering should read: for
   * each edge, {@link combineHealthViews} over this scheduler's verdict and the other
   * schedulers' fresh ones, so schedulers sharing a store agree.
   */
  attachHealth(local: HealthSnapshot): HealthSnapshot {
    this.#local = local;
    const remote = () => this.#remote;
    return {
      get version() {
        // Other schedulers' verdicts change this source's `version`, which answers also key on.
        return local.version;
      },
      isUp(edgeId: string): boolean {
        const views: { up: boolean }[] = [...(remote().get(edgeId) ?? [])];
        if (local.state(edgeId)) views.push({ up: local.isUp(edgeId) });
        return combineHealthViews(views) ?? false;
      },
      state(edgeId: string): HealthState | undefined {
        return local.state(edgeId);
      },
      // The dashboard's timeline shows this scheduler's own verdicts.
      history(edgeId: string): readonly HealthTransition[] {
        return local.history?.(edgeId) ?? [];
      },
    };
  }

  /** Stops refreshing; waits for a read in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#unsubscribe?.();
    await this.#refreshing;
  }
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "scheduler";
  }
}
