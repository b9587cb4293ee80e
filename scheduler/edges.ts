/**
 * Where the scheduler's edges come from. {@link EdgeSource} is the seam: the config list
 * ({@link ConfigEdgeSource}, drain flags local to this process) or the shared store's edge
 * registry (`edges_store.ts`, drain flags shared by every scheduler).
 *
 * @module
 */

import type { SchedulerConfig } from "../config/scheduler_schema.ts";

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
}

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
}
