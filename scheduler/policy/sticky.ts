/**
 * `sticky`: within each rank, orders edges by weighted rendezvous hashing of the client's
 * network, so one network keeps its edge while the set is stable and only the affected share
 * moves when an edge comes or goes.
 *
 * @module
 */

import { fmix32, maskBytes } from "../../geo/mod.ts";
import { numberOption, onlyKeys } from "./_options.ts";
import {
  type Candidate,
  describeCandidates,
  type FilterPlugin,
} from "./types.ts";

/** Options of `sticky`. */
export interface StickyConfig {
  /** The client network hashed. @default 24 */
  readonly ipv4PrefixLength: number;
  /** @default 56 */
  readonly ipv6PrefixLength: number;
}

/** FNV-1a 32-bit over bytes then a string. */
function fnv1a(bytes: Uint8Array, text: string): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  }
  return fmix32(h); // final avalanche so close keys spread
}

/** Weighted rendezvous score (higher wins): w / -ln(u), u uniform in (0,1). */
function score(key: Uint8Array, c: Candidate): number {
  const u = (fnv1a(key, c.view.edge.id) + 0.5) / 4294967296;
  return (c.weight > 0 ? c.weight : 1e-9) / -Math.log(u);
}

export const sticky: FilterPlugin<StickyConfig> = {
  name: "sticky",
  parse(raw, key) {
    onlyKeys(raw, key, ["ipv4PrefixLength", "ipv6PrefixLength"]);
    return {
      ipv4PrefixLength: numberOption(raw, key, "ipv4PrefixLength", 24, 0, 32),
      ipv6PrefixLength: numberOption(raw, key, "ipv6PrefixLength", 56, 0, 128),
    };
  },
  create(config) {
    return {
      name: "sticky",
      apply(request, state, trace) {
        const c = request.client;
        const bits = Math.min(
          c.prefixLength,
          c.bytes.length === 4
            ? config.ipv4PrefixLength
            : config.ipv6PrefixLength,
        );
        const key = maskBytes(c.bytes, bits);
        const scored = state.candidates.map((x, i) => ({
          x,
          i,
          s: score(key, x),
        }));
        scored.sort((a, b) => a.x.rank - b.x.rank || b.s - a.s || a.i - b.i);
        const candidates = scored.map((s) => s.x);
        // The pick depends on the hashed network only when the best rank has a choice.
        const tied =
          candidates.filter((x) => x.rank === candidates[0]?.rank).length;
        const scopePrefix = tied > 1
          ? Math.max(state.scopePrefix, bits)
          : state.scopePrefix;
        trace?.push(
          `sticky: hash of client /${bits} → ${describeCandidates(candidates)}`,
        );
        return { ...state, candidates, scopePrefix };
      },
    };
  },
};
