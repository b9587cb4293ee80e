/**
 * `first_n`: keeps the first `count` candidates (the answer's addresses).
 *
 * @module
 */

import { numberOption, onlyKeys } from "./_options.ts";
import { describeCandidates, type FilterPlugin } from "./types.ts";

/** Options of `first_n`. */
export interface FirstNConfig {
  /** @default 2 */
  readonly count: number;
}

export const firstN: FilterPlugin<FirstNConfig> = {
  name: "first_n",
  parse(raw, key) {
    onlyKeys(raw, key, ["count"]);
    const count = numberOption(raw, key, "count", 2, 1, 16);
    return { count: Math.floor(count) };
  },
  create(config) {
    return {
      name: "first_n",
      locationOnly: true,
      apply(_request, state, trace) {
        const candidates = state.candidates.slice(0, config.count);
        trace?.push(
          `first_n: ${config.count} → ${describeCandidates(candidates)}`,
        );
        return { ...state, candidates };
      },
    };
  },
};
