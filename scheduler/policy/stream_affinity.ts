/**
 * `stream_affinity`: for a request naming a live stream (the 302 scheduler's URL, or a
 * per-stream DNS name `{stream}.{app}.` under a wildcard), prefer among the nearest healthy
 * edges below `loadThreshold` the ones that already pull that stream (their heartbeats say so,
 * `store/stream_key.ts`), so a stream with few viewers is pulled from the origin once per
 * region instead of once per edge. A stream gets one edge per `viewersPerEdge` of its viewers
 * there: as it grows, more edges join, chosen by rendezvous hashing of the stream over the
 * candidates, so every scheduler picks the same few and a stream sticks to them.
 *
 * Reads the place (through the ranks before it) and the stream, never the client's address:
 * the answer's scope is what the filters before it set.
 *
 * @module
 */

import { numberOption, onlyKeys } from "./_options.ts";
import {
  type Candidate,
  describeCandidates,
  type FilterPlugin,
} from "./types.ts";

/** Options of `stream_affinity`. */
export interface StreamAffinityConfig {
  /** Edges at or above this load (0..1) neither keep nor take a stream. @default 0.8 */
  readonly loadThreshold: number;
  /** A stream gets one more edge per this many of its viewers in the tier. @default 500 */
  readonly viewersPerEdge: number;
}

/** Rank offset of the tier's edges that do not carry the stream (they stay before farther tiers). */
const OTHER_EDGE_RANK_OFFSET = 0.5;

/** FNV-1a 32 over two strings, with a final avalanche. */
function hash(a: string, b: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < a.length; i++) {
    h = Math.imul(h ^ a.charCodeAt(i), 0x01000193);
  }
  h = Math.imul(h ^ 0x2f, 0x01000193);
  for (let i = 0; i < b.length; i++) {
    h = Math.imul(h ^ b.charCodeAt(i), 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Weighted rendezvous score of an edge for a stream (higher wins). */
function score(stream: string, c: Candidate): number {
  const u = (hash(stream, c.view.edge.id) + 0.5) / 4294967296;
  const w = c.weight > 0 ? c.weight : c.view.edge.capacity || 1;
  return w / -Math.log(u);
}

export const streamAffinity: FilterPlugin<StreamAffinityConfig> = {
  name: "stream_affinity",
  parse(raw, key) {
    onlyKeys(raw, key, ["loadThreshold", "viewersPerEdge"]);
    return {
      loadThreshold: numberOption(raw, key, "loadThreshold", 0.8, 0, 1),
      viewersPerEdge: Math.floor(
        numberOption(raw, key, "viewersPerEdge", 500, 1, 1_000_000),
      ),
    };
  },
  create(config) {
    return {
      name: "stream_affinity",
      locationOnly: true,
      readsStream: true,
      apply(request, state, trace) {
        const s = request.stream;
        if (!s) {
          trace?.push(`stream_affinity: no stream named, order kept`);
          return state;
        }
        const best = state.candidates[0]?.rank;
        const tier = state.candidates.filter((c) =>
          c.rank === best && c.view.up && !c.view.draining &&
          c.view.load < config.loadThreshold
        );
        if (tier.length === 0) {
          trace?.push(
            `stream_affinity: stream ${s.key}: no nearest edge below load ${config.loadThreshold}, order kept`,
          );
          return state;
        }
        let viewers = 0;
        for (const c of tier) viewers += s.holders.get(c.view.edge.id) ?? 0;
        // The next viewer counts too: a stream nobody watches yet still needs one edge.
        const want = Math.min(
          tier.length,
          Math.max(1, Math.ceil((viewers + 1) / config.viewersPerEdge)),
        );
        const ordered = tier.map((c) => ({ c, s: score(s.key, c) }))
          .sort((a, b) => b.s - a.s).map((x) => x.c);
        const holding = ordered.filter((c) => s.holders.has(c.view.edge.id));
        const chosen = holding.slice(0, want);
        for (const c of ordered) {
          if (chosen.length >= want) break;
          if (!chosen.includes(c)) chosen.push(c);
        }
        const picked = new Set(chosen);
        const candidates = [
          ...chosen,
          ...state.candidates.filter((c) => !picked.has(c)).map((c) =>
            c.rank === best
              ? { ...c, rank: c.rank + OTHER_EDGE_RANK_OFFSET }
              : c
          ),
        ];
        trace?.push(
          `stream_affinity: stream ${s.key}: ${viewers} viewers on ${holding.length} of ${tier.length} nearest edges (${
            holding.map((c) =>
              `${c.view.edge.id}:${s.holders.get(c.view.edge.id)}`
            ).join(" ") || "none"
          }) → ${want} edge(s): ${
            chosen.map((c) =>
              `${c.view.edge.id}${
                s.holders.has(c.view.edge.id) ? " (pulls it)" : " (new)"
              }`
            ).join(", ")
          } → ${describeCandidates(candidates)}`,
        );
        return { ...state, candidates };
      },
    };
  },
};
