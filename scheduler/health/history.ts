/**
 * A bounded history of each edge's health transitions (up, down, draining), for the routing
 * dashboard's state timeline. Pure: the health monitor feeds it with the time of each check.
 *
 * @module
 */

/** What the dashboard shows for an edge at one moment. */
export type EdgeHealthState = "up" | "down" | "draining";

/** One change of an edge's state. */
export interface HealthTransition {
  /** Unix ms of the check that saw the change. */
  readonly atMs: number;
  readonly state: EdgeHealthState;
  /** The failed check's error when the edge went down; "" otherwise. */
  readonly error: string;
}

/** One stretch of a timeline: `state` from `fromMs` (inclusive) to `toMs`. */
export interface TimelineSegment {
  /** `unknown`: before the first check the history still holds. */
  readonly state: EdgeHealthState | "unknown";
  readonly fromMs: number;
  readonly toMs: number;
}

/** Transitions kept per edge; older ones are dropped first. */
export const MAX_TRANSITIONS_PER_EDGE = 64;

/** The state an edge is shown in: a drain flag masks up and down. */
export function edgeHealthState(
  up: boolean,
  draining: boolean,
): EdgeHealthState {
  return draining ? "draining" : up ? "up" : "down";
}

/**
 * Per-edge transition lists, each at most {@link MAX_TRANSITIONS_PER_EDGE} long.
 *
 * @example
 * ```ts
 * import { HealthHistory } from "./history.ts";
 * const h = new HealthHistory();
 * h.observe("fra1", "up", 0);
 * h.observe("fra1", "up", 1000); // no change, nothing kept
 * h.observe("fra1", "down", 2000, "HTTP 503");
 * if (h.transitions("fra1").length !== 2) throw new Error("two transitions");
 * ```
 */
export class HealthHistory {
  readonly #byEdge = new Map<string, HealthTransition[]>();

  constructor(readonly maxPerEdge: number = MAX_TRANSITIONS_PER_EDGE) {}

  /** Records `state` for an edge if it differs from the last one recorded. */
  observe(
    edgeId: string,
    state: EdgeHealthState,
    atMs: number,
    error = "",
  ): void {
    let list = this.#byEdge.get(edgeId);
    if (!list) this.#byEdge.set(edgeId, list = []);
    if (list.at(-1)?.state === state) return;
    list.push({ atMs, state, error: state === "down" ? error : "" });
    if (list.length > this.maxPerEdge) {
      list.splice(0, list.length - this.maxPerEdge);
    }
  }

  /** The edge's transitions, oldest first (empty for an unknown edge). */
  transitions(edgeId: string): readonly HealthTransition[] {
    return this.#byEdge.get(edgeId) ?? [];
  }

  /** Drops the history of edges not in `ids` (edges that left the registry). */
  retain(ids: ReadonlySet<string>): void {
    for (const id of this.#byEdge.keys()) {
      if (!ids.has(id)) this.#byEdge.delete(id);
    }
  }
}

/**
 * Cuts a transition list into the segments covering `[fromMs, toMs]`: the state in force at
 * `fromMs` (`unknown` if the history starts later), then one segment per later transition.
 *
 * @example
 * ```ts
 * import { timelineSegments } from "./history.ts";
 * const segs = timelineSegments([
 *   { atMs: 0, state: "up", error: "" },
 *   { atMs: 600, state: "down", error: "timeout" },
 * ], 500, 1000);
 * if (segs.map((s) => s.state).join() !== "up,down") throw new Error("segments");
 * ```
 */
export function timelineSegments(
  transitions: readonly HealthTransition[],
  fromMs: number,
  toMs: number,
): TimelineSegment[] {
  const out: TimelineSegment[] = [];
  let state: TimelineSegment["state"] = "unknown";
  let start = fromMs;
  for (const t of transitions) {
    if (t.atMs <= fromMs) {
      state = t.state;
      continue;
    }
    if (t.atMs >= toMs) break;
    if (t.atMs > start) out.push({ state, fromMs: start, toMs: t.atMs });
    state = t.state;
    start = t.atMs;
  }
  out.push({ state, fromMs: start, toMs });
  return out;
}
