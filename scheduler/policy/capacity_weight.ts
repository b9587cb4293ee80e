/**
 * `capacity_weight`: weights each edge by its capacity; past `loadThreshold` its share shrinks
 * linearly to zero at full load, and a full edge moves behind all others.
 *
 * @module
 */

import { numberOption, onlyKeys } from "./_options.ts";
import { byRank, describeCandidates, type FilterPlugin } from "./types.ts";

/** Options of `capacity_weight`. */
export interface CapacityWeightConfig {
  /** Load (0..1) above which an edge sheds share. @default 0.8 */
  readonly loadThreshold: number;
}

/** Rank offset that puts full edges behind every other. */
const FULL_RANK_PENALTY = 1_000_000;

export const capacityWeight: FilterPlugin<CapacityWeightConfig> = {
  name: "capacity_weight",
  parse(raw, key) {
    onlyKeys(raw, key, ["loadThreshold"]);
    return {
      loadThreshold: numberOption(raw, key, "loadThreshold", 0.8, 0, 0.999),
    };
  },
  create(config) {
    const t = config.loadThreshold;
    return {
      name: "capacity_weight",
      locationOnly: true,
      apply(_request, state, trace) {
        const candidates = byRank(state.candidates.map((c) => {
          const load = c.view.load;
          const share = load <= t ? 1 : Math.max(0, (1 - load) / (1 - t));
          const weight = c.view.edge.capacity * share;
          return weight > 0
            ? { ...c, weight }
            : { ...c, weight: 0, rank: c.rank + FULL_RANK_PENALTY };
        }));
        trace?.push(
          `capacity_weight: threshold ${t} → ${describeCandidates(candidates)}`,
        );
        return { ...state, candidates };
      },
    };
  },
};
