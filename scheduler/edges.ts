/**
 * Where the scheduler's edges come from. {@link EdgeSource} is the seam: the config list
 * ({@link ConfigEdgeSource}, drain flags local to this process) or the shared store's edge
 * registry (`edges_store.ts`, drain flags shared by every scheduler).
 *
 * @module
 */

import type { SchedulerConfig } from "../config/scheduler_schema.ts";
import { boundEdgeStreams, type EdgeStreamLoad } from "../store/mod.ts";

/** An edge as the scheduler answers it. */
export interface EdgeInfo {
  readonly id: string;
  /** IPv4 for A answers; "" when the edge has none. */
  readonly address: string;
  /** IPv6 for AAAA answers; "" when the edge has none. */
  readonly address6: string;
  readonly region: string;
  readonly latitude: number;
  readonly longitude: number;
  readonly capacity: number;
  /** What the health monitor checks: an http(s) URL, or `host:port` for TCP. */
  readonly healthTarget: string;
  /** Carriers it is on (`scheduler.isps` names); absent or empty: see `networks.ts`. */
  readonly isps?: readonly string[];
  /** AS numbers it is on, beside its carriers'. */
  readonly asns?: readonly number[];
}

/** An edge with what its registry reports beyond active health checks. */
export interface EdgeStatus {
  readonly edge: EdgeInfo;
  /** Reported load, 0 (idle) .. 1 (full); more is overload. */
  readonly load: number;
  /** Drained by an operator or the edge itself: answered only as a last resort. */
  readonly draining: boolean;
}

/** The list of edges, with a version that changes whenever the list or a status changes. */
export interface EdgeSource {
  readonly version: number;
  list(): readonly EdgeStatus[];
  /**
   * Sets or clears an operator drain flag (`/api/edges/{id}/drain`); absent when the source
   * has none. @returns false for an unknown edge.
   */
  setDraining?(id: string, draining: boolean): boolean | Promise<boolean>;
  /**
   * Which edges serve which live streams (their heartbeats' `streams`); absent when the
   * source has no such reports.
   */
  readonly streams?: StreamIndex;
}

/** The edges serving each live stream, by stream key. */
export interface StreamIndex {
  /**
   * Changes when a stream starts or stops on an edge, or its viewers there cross a power of
   * two: stream-affine decisions are kept until it does, and viewer counts in between do not
   * churn them.
   */
  readonly version: number;
  /** Edge id → viewers of the stream there; `undefined` when no edge reports it. */
  holders(key: string): ReadonlyMap<string, number> | undefined;
}

/** A {@link StreamIndex} rebuilt from each edge's reported streams. */
export class StreamTable implements StreamIndex {
  #version = 1;
  #byKey = new Map<string, Map<string, number>>();
  #fingerprint = "";

  get version(): number {
    return this.#version;
  }

  holders(key: string): ReadonlyMap<string, number> | undefined {
    return this.#byKey.get(key);
  }

  /** Every stream and its holders (snapshots for DNS workers). */
  entries(): IterableIterator<[string, ReadonlyMap<string, number>]> {
    return this.#byKey.entries();
  }

  /** Streams some edge serves (dashboard). */
  get size(): number {
    return this.#byKey.size;
  }

  /**
   * Replaces the table with the edges' current reports (each bounded again here: a record may
   * come from an older or foreign writer).
   * @returns True when {@link version} changed.
   */
  update(
    reports: Iterable<{ readonly id: string; readonly streams: unknown }>,
  ): boolean {
    const byKey = new Map<string, Map<string, number>>();
    const marks: string[] = [];
    for (const r of reports) {
      for (const s of boundEdgeStreams(r.streams)) {
        let m = byKey.get(s.key);
        if (!m) byKey.set(s.key, m = new Map());
        m.set(r.id, s.viewers);
        marks.push(`${r.id}:${s.key}:${bucket(s.viewers)}`);
      }
    }
    this.#byKey = byKey;
    const fingerprint = marks.sort().join(",");
    if (fingerprint === this.#fingerprint) return false;
    this.#fingerprint = fingerprint;
    this.#version++;
    return true;
  }
}

/** The power-of-two bucket of a viewer count (0, 1, 2-3, 4-7, …). */
function bucket(viewers: number): number {
  return viewers <= 0 ? 0 : 32 - Math.clz32(viewers);
}

export type { EdgeStreamLoad };

/** Builds the health target of a configured edge. */
function healthTarget(
  e: SchedulerConfig["edges"][number],
  health: SchedulerConfig["health"],
): string {
  if (e.healthUrl) return e.healthUrl;
  const host = e.address || `[${e.address6}]`;
  return health.kind === "http"
    ? `http://${host}:${health.port}${health.path}`
    : `${host}:${health.port}`;
}

/** The config list as an {@link EdgeSource}, with an operator drain flag and reported load. */
export class ConfigEdgeSource implements EdgeSource {
  #version = 1;
  #statuses: EdgeStatus[];
  readonly streams: StreamTable = new StreamTable();
  readonly #reported = new Map<string, readonly EdgeStreamLoad[]>();

  constructor(config: Pick<SchedulerConfig, "edges" | "health">) {
    this.#statuses = config.edges.map((e) => ({
      edge: {
        id: e.id,
        address: e.address,
        address6: e.address6,
        region: e.region,
        latitude: e.latitude,
        longitude: e.longitude,
        capacity: e.capacity,
        healthTarget: healthTarget(e, config.health),
        isps: e.isp ?? [],
        asns: e.asns ?? [],
      },
      load: 0,
      draining: false,
    }));
  }

  get version(): number {
    return this.#version;
  }

  list(): readonly EdgeStatus[] {
    return this.#statuses;
  }

  #update(
    id: string,
    patch: Partial<Pick<EdgeStatus, "load" | "draining">>,
  ): boolean {
    const i = this.#statuses.findIndex((s) => s.edge.id === id);
    if (i < 0) return false;
    this.#statuses = this.#statuses.map((
      s,
      j,
    ) => (j === i ? { ...s, ...patch } : s));
    this.#version++;
    return true;
  }

  /** Sets or clears an edge's drain flag. @returns false for an unknown id. */
  setDraining(id: string, draining: boolean): boolean {
    return this.#update(id, { draining });
  }

  /** Records an edge's load (0..1). @returns false for an unknown id. */
  setLoad(id: string, load: number): boolean {
    return this.#update(id, { load });
  }

  /** Records the live streams an edge serves (tests, simulations). @returns false for an unknown id. */
  setStreams(id: string, streams: readonly EdgeStreamLoad[]): boolean {
    if (!this.#statuses.some((s) => s.edge.id === id)) return false;
    this.#reported.set(id, streams);
    this.streams.update(
      [...this.#reported].map(([id, streams]) => ({ id, streams })),
    );
    return true;
  }
}
