/**
 * The rise/fall state machine of one edge's health (gdnsd/HAProxy style). Pure.
 *
 * @module
 */

/** One edge's health state. */
export interface HealthState {
  readonly up: boolean;
  /** Consecutive results against the current state (successes while down, failures while up). */
  readonly streak: number;
  readonly lastChangeMs: number;
  readonly lastCheckMs: number;
  readonly lastError: string;
}

/** The first state, from the priming check: the first result decides at once. */
export function initialHealth(
  ok: boolean,
  nowMs: number,
  error = "",
): HealthState {
  return {
    up: ok,
    streak: 0,
    lastChangeMs: nowMs,
    lastCheckMs: nowMs,
    lastError: error,
  };
}

/**
 * Applies one check result: `fall` failures in a row take an up edge down, `rise` successes in
 * a row bring a down edge up.
 *
 * @example
 * ```ts
 * import { initialHealth, nextHealth } from "./state.ts";
 * let s = initialHealth(true, 0);
 * s = nextHealth(s, false, 1, { rise: 2, fall: 2 });
 * s = nextHealth(s, false, 2, { rise: 2, fall: 2 });
 * if (s.up) throw new Error("should be down after 2 failures");
 * ```
 */
export function nextHealth(
  s: HealthState,
  ok: boolean,
  nowMs: number,
  limits: { readonly rise: number; readonly fall: number },
  error = "",
): HealthState {
  const lastError = ok ? "" : error;
  if (ok === s.up) return { ...s, streak: 0, lastCheckMs: nowMs, lastError };
  const streak = s.streak + 1;
  if (streak >= (s.up ? limits.fall : limits.rise)) {
    return {
      up: ok,
      streak: 0,
      lastChangeMs: nowMs,
      lastCheckMs: nowMs,
      lastError,
    };
  }
  return { ...s, streak, lastCheckMs: nowMs, lastError };
}
