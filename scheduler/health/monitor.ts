/**
 * Active health monitoring of every edge, apart from DNS resolution (gdnsd's split): checks run
 * on their own timer and publish a {@link HealthSnapshot}; resolution only reads it.
 *
 * @module
 */

import type { Logger } from "../../log/mod.ts";
import type { SchedulerConfig } from "../../config/scheduler_schema.ts";
import type { EdgeSource } from "../edges.ts";
import {
  edgeHealthState,
  HealthHistory,
  type HealthTransition,
} from "./history.ts";
import { createHttpProbe, type HealthProbe, tcpProbe } from "./probe.ts";
import { type HealthState, initialHealth, nextHealth } from "./state.ts";

/** What resolution reads: whether an edge is up, and a version that changes with any state. */
export interface HealthSnapshot {
  readonly version: number;
  isUp(edgeId: string): boolean;
  state(edgeId: string): HealthState | undefined;
  /**
   * The edge's recent up/down/draining transitions, oldest first (the dashboard's timeline);
   * absent when the snapshot keeps none.
   */
  history?(edgeId: string): readonly HealthTransition[];
}

/** Dependencies of {@link HealthMonitor}. */
export interface HealthMonitorDeps {
  readonly log?: Logger;
  /** Replaces the http/tcp probe (tests). */
  readonly probe?: HealthProbe;
  readonly now?: () => number;
}

/** Checks every edge of a source every `intervalMs`, with rise/fall hysteresis. */
export class HealthMonitor implements HealthSnapshot {
  #states = new Map<string, HealthState>();
  /** Up/down changes per edge since start (the priming verdict is not one). */
  readonly #flaps = new Map<string, number>();
  readonly #history = new HealthHistory();
  #version = 1;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #round: Promise<void> | undefined;
  #closed = false;
  readonly #probe: HealthProbe;
  readonly #closeProbe: () => void;
  readonly #now: () => number;

  constructor(
    readonly source: EdgeSource,
    readonly config: SchedulerConfig["health"],
    readonly deps: HealthMonitorDeps = {},
  ) {
    this.#now = deps.now ?? Date.now;
    if (deps.probe) {
      this.#probe = deps.probe;
      this.#closeProbe = () => {};
    } else if (config.kind === "http") {
      const http = createHttpProbe();
      this.#probe = http.probe;
      this.#closeProbe = http.close;
    } else {
      this.#probe = tcpProbe;
      this.#closeProbe = () => {};
    }
  }

  get version(): number {
    return this.#version;
  }

  isUp(edgeId: string): boolean {
    return this.#states.get(edgeId)?.up ?? false;
  }

  state(edgeId: string): HealthState | undefined {
    return this.#states.get(edgeId);
  }

  /** Times the edge went up or down after its first verdict (`/metrics`). */
  flaps(edgeId: string): number {
    return this.#flaps.get(edgeId) ?? 0;
  }

  /**
   * The edge's transitions as this monitor saw them, oldest first: the up/down verdict and
   * the source's drain flag, both sampled at each check (a drain shows up one round late).
   */
  history(edgeId: string): readonly HealthTransition[] {
    return this.#history.transitions(edgeId);
  }

  /** Runs one round of checks over every edge (the first round primes the states). */
  async checkAll(): Promise<void> {
    const edges = this.source.list();
    this.#history.retain(new Set(edges.map((s) => s.edge.id)));
    await Promise.all(edges.map(async ({ edge, draining }) => {
      let ok = true;
      let error = "";
      try {
        await this.#probe(edge.healthTarget, this.config.timeoutMs);
      } catch (e) {
        ok = false;
        error = e instanceof Error ? e.message : String(e);
      }
      if (this.#closed) return;
      const now = this.#now();
      const prev = this.#states.get(edge.id);
      const next = prev
        ? nextHealth(prev, ok, now, this.config, error)
        : initialHealth(ok, now, error);
      this.#states.set(edge.id, next);
      this.#history.observe(
        edge.id,
        edgeHealthState(next.up, draining),
        now,
        next.lastError,
      );
      if (prev && prev.up !== next.up) {
        this.#flaps.set(edge.id, (this.#flaps.get(edge.id) ?? 0) + 1);
      }
      if (!prev || prev.up !== next.up) {
        this.#version++;
        this.deps.log?.[next.up ? "info" : "warn"](
          `edge ${next.up ? "up" : "down"}`,
          {
            edge: edge.id,
            target: edge.healthTarget,
            ...(error ? { error } : {}),
          },
        );
      }
    }));
  }

  /** Primes every edge's state with one round, then checks every `intervalMs` until closed. */
  async start(): Promise<void> {
    await this.checkAll();
    const tick = () => {
      if (this.#closed) return;
      this.#round = this.checkAll().finally(() => {
        this.#round = undefined;
        if (!this.#closed) {
          this.#timer = setTimeout(tick, this.config.intervalMs);
        }
      });
    };
    if (!this.#closed) this.#timer = setTimeout(tick, this.config.intervalMs);
  }

  /** Stops checking and waits for a round in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#round;
    this.#closeProbe();
  }
}
