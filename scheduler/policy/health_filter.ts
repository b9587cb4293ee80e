/**
 * `health`: drops edges that are down (active checks) or draining. When the best-ranked edge
 * goes, the answer is a failover and its TTL is shortened.
 *
 * @module
 */

import { onlyKeys } from "./_options.ts";
import { describeCandidates, type FilterPlugin } from "./types.ts";

export const healthFilter: FilterPlugin<Record<string, never>> = {
  name: "health",
  parse(raw, key) {
    onlyKeys(raw, key, []);
    return {};
  },
  create() {
    return {
      name: "health",
      locationOnly: true,
      apply(_request, state, trace) {
        const kept = state.candidates.filter((c) =>
          c.view.up && !c.view.draining
        );
        const dropped = state.candidates.filter((c) => !kept.includes(c));
        const bestKept = kept[0]?.rank ?? Infinity;
        const failedOver = state.failedOver ||
          dropped.some((c) => c.rank <= bestKept);
        trace?.push(
          dropped.length
            ? `health: dropped ${
              dropped.map((c) =>
                `${c.view.edge.id}(${c.view.draining ? "draining" : "down"})`
              ).join(" ")
            }${failedOver ? " → failed over" : ""}; kept ${
              describeCandidates(kept)
            }`
            : `health: all ${kept.length} candidates up`,
        );
        return { ...state, candidates: kept, failedOver };
      },
    };
  },
};
