/**
 * Smooth weighted round-robin (nginx's `ngx_http_upstream_get_peer`), each weight scaled by the
 * origin's health factor (slow start), over the origins that are up.
 *
 * Smooth WRR spreads a heavy origin's picks evenly (weights 5,1,1 give a a b a c a a rather than
 * a a a a a b c), which keeps per-origin load steady for a CDN fill.
 *
 * @module
 */

import type { Origin, OriginHealthView, OriginSelector } from "./select.ts";

/** Weight used for a down origin when every origin is down (fail open). */
const FAIL_OPEN_FACTOR = 1;
/** Smallest health factor, so a recovering origin gets some traffic at once. */
const MIN_FACTOR = 0.01;

/**
 * Creates the `health_weighted_rr` selector.
 *
 * @param origins The configured origins.
 * @param health Up/down and slow-start factor per origin id.
 * @returns A selector.
 *
 * @example
 * ```ts
 * import { createHealthWeightedRr } from "./health_weighted_rr.ts";
 * const origins = [
 *   { id: "a", url: "http://a", weight: 2, region: "" },
 *   { id: "b", url: "http://b", weight: 1, region: "" },
 * ];
 * const s = createHealthWeightedRr(origins, { isUp: () => true, weightFactor: () => 1 });
 * const picks = [0, 1, 2].map(() => s.select()!.id).join("");
 * if (picks !== "aba") throw new Error(picks);
 * ```
 */
export function createHealthWeightedRr(
  origins: readonly Origin[],
  health: OriginHealthView,
): OriginSelector {
  const current = new Map<string, number>(origins.map((o) => [o.id, 0]));
  return {
    name: "health_weighted_rr",
    origins,
    select(exclude) {
      const candidates = origins.filter((o) => !exclude?.has(o.id));
      if (candidates.length === 0) return undefined;
      const up = candidates.filter((o) => health.isUp(o.id));
      const pool = up.length > 0 ? up : candidates;
      let total = 0;
      let best: Origin | undefined;
      let bestWeight = -Infinity;
      for (const o of pool) {
        const factor = up.length > 0
          ? Math.max(MIN_FACTOR, Math.min(1, health.weightFactor(o.id)))
          : FAIL_OPEN_FACTOR;
        const w = o.weight * factor;
        const cw = current.get(o.id)! + w;
        current.set(o.id, cw);
        total += w;
        if (cw > bestWeight) {
          bestWeight = cw;
          best = o;
        }
      }
      current.set(best!.id, current.get(best!.id)! - total);
      return best;
    },
  };
}
