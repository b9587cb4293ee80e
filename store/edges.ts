/**
 * The edge registry: which edges exist, where they are, how loaded they are, whether an
 * operator drained them, and what each scheduler's health monitor thinks of them.
 *
 * This is the typed repository STYLE.md B7 asks for: edges and schedulers read and write the
 * registry only through {@link EdgeRegistry} (`store.edges`), never through raw KV calls. The
 * pure helpers here ({@link isEdgeFresh}, {@link combineHealthViews}) hold the rules every
 * reader must apply the same way, so several schedulers reading one store agree.
 *
 * Liveness is a heartbeat: an edge rewrites its record every `heartbeatSeconds`; the record
 * expires in KV after {@link EXPIRY_HEARTBEATS} missed beats, and readers also drop it when
 * `updatedAtMs` is that old, because KV deletes expired keys lazily.
 *
 * @module
 */

/** Missed heartbeats after which an edge counts as gone. */
export const EXPIRY_HEARTBEATS = 3;

/** What an edge reports about its load with every heartbeat (its `/healthz` `load`). */
export interface EdgeLoad {
  /** Live viewers (HTTP-FLV sessions). */
  readonly viewers: number;
  /** Bits per second written to viewers, averaged over the last seconds. */
  readonly egressBitsPerSecond: number;
  /** Cache hit ratio 0..1. */
  readonly hitRatio: number;
}

/** One edge as registered. */
export interface EdgeRecord {
  /** Unique id, `[A-Za-z0-9_.-]{1,64}`, e.g. `fra1` or `host-8080`. */
  readonly id: string;
  /** Region name that scheduler network overrides refer to; "" when unused. */
  readonly region: string;
  readonly latitude: number;
  readonly longitude: number;
  /** IPv4 answered in A records; "" when none. */
  readonly address: string;
  /** IPv6 answered in AAAA records; "" when none. */
  readonly address6: string;
  /** Where the edge's HTTP port is reached (health checks), e.g. `http://10.0.0.5:8080`. */
  readonly baseUrl: string;
  /** Egress capacity in bits/s; 0 means unknown. */
  readonly capacityBps: number;
  /** Viewer capacity; 0 means unlimited. */
  readonly capacityViewers: number;
  /** Seconds between heartbeats; sets the expiry. */
  readonly heartbeatSeconds: number;
  /** Unix ms of this registration (a restart registers anew). */
  readonly registeredAtMs: number;
  /** Unix ms of the last heartbeat. */
  readonly updatedAtMs: number;
  readonly load: EdgeLoad;
}

/** One scheduler's opinion of one edge's health. */
export interface HealthView {
  readonly edgeId: string;
  readonly schedulerId: string;
  readonly up: boolean;
  readonly lastError: string;
  /** Unix ms when the scheduler wrote it. */
  readonly reportedAtMs: number;
  /** The view counts for this long after `reportedAtMs` (ms). */
  readonly ttlMs: number;
}

/** Everything a scheduler reads from the registry in one refresh. */
export interface RegistrySnapshot {
  /** Fresh edges only, sorted by id. */
  readonly edges: readonly EdgeRecord[];
  /** Drained edge ids → Unix ms when the drain was set. */
  readonly drains: ReadonlyMap<string, number>;
  /** Fresh health views only. */
  readonly health: readonly HealthView[];
}

/** The registry's operations; `store.edges` of every {@link SharedStore}. */
export interface EdgeRegistry {
  /** Writes the record and announces it on the feed (`edge.registered`). */
  register(record: EdgeRecord): Promise<void>;
  /** Rewrites the record (new load, new `updatedAtMs`), pushing its expiry back. */
  heartbeat(record: EdgeRecord): Promise<void>;
  /** Deletes the record and announces it (`edge.deregistered`); the drain flag stays. */
  deregister(id: string): Promise<void>;
  /**
   * Sets or clears an operator drain flag and announces it (`edge.drain`). The flag is kept
   * apart from the record, so it survives the edge's restarts and expiry.
   */
  setDraining(id: string, draining: boolean, nowMs: number): Promise<void>;
  /** Writes one scheduler's view of several edges. */
  reportHealth(
    schedulerId: string,
    views: readonly {
      readonly edgeId: string;
      readonly up: boolean;
      readonly lastError: string;
    }[],
    nowMs: number,
    ttlMs: number,
  ): Promise<void>;
  /** Fresh edges, drains and fresh health views. */
  snapshot(nowMs: number): Promise<RegistrySnapshot>;
}

/**
 * True while an edge's last heartbeat is younger than {@link EXPIRY_HEARTBEATS} beats.
 *
 * @example
 * ```ts
 * import { isEdgeFresh } from "./edges.ts";
 * const r = { heartbeatSeconds: 5, updatedAtMs: 0 };
 * if (!isEdgeFresh(r, 15_000) || isEdgeFresh(r, 15_001)) throw new Error("3 beats of 5 s");
 * ```
 */
export function isEdgeFresh(
  record: Pick<EdgeRecord, "heartbeatSeconds" | "updatedAtMs">,
  nowMs: number,
): boolean {
  return nowMs - record.updatedAtMs <=
    record.heartbeatSeconds * 1000 * EXPIRY_HEARTBEATS;
}

/** True while a health view still counts. */
export function isViewFresh(
  view: Pick<HealthView, "reportedAtMs" | "ttlMs">,
  nowMs: number,
): boolean {
  return nowMs - view.reportedAtMs <= view.ttlMs;
}

/**
 * Combines several schedulers' views of one edge: up when at least as many say up as down (a
 * tie keeps the edge: one scheduler's bad network should not empty everyone's answers);
 * `undefined` without any view.
 *
 * @example
 * ```ts
 * import { combineHealthViews } from "./edges.ts";
 * if (combineHealthViews([{ up: true }, { up: false }]) !== true) throw new Error("tie is up");
 * if (combineHealthViews([{ up: false }, { up: false }, { up: true }]) !== false) throw new Error();
 * if (combineHealthViews([]) !== undefined) throw new Error("no view");
 * ```
 */
export function combineHealthViews(
  views: readonly { readonly up: boolean }[],
): boolean | undefined {
  if (views.length === 0) return undefined;
  let up = 0;
  for (const v of views) if (v.up) up++;
  return up >= views.length - up;
}
