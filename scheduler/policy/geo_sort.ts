/**
 * `geo_sort`: nearest edges first, by great-circle distance from the client's location, plus a
 * per-edge bias in km. Edges within `toleranceKm` of the nearest share rank 0 (sticky picks
 * among them).
 *
 * @module
 */

import { kmFromChord, writeUnitVector } from "../../geo/mod.ts";
import { numberMapOption, numberOption, onlyKeys } from "./_options.ts";
import type { Candidate, FilterPlugin } from "./types.ts";
import { describeCandidates } from "./types.ts";

/** Options of `geo_sort`. */
export interface GeoSortConfig {
  /** Added to an edge's distance (km); negative pulls traffic toward it. */
  readonly bias: ReadonlyMap<string, number>;
  /** Edges this much farther than the nearest still count as equally near. @default 500 */
  readonly toleranceKm: number;
}

/** One input candidate list, prepared once: unit vectors and biases of its edges. */
interface Prepared {
  readonly xyz: Float64Array;
  readonly bias: Float64Array;
  /** Edge orders seen from each grid cell's centre, filled as cells are met. */
  readonly cells: Map<number, Uint32Array>;
}

/** Grid cells are this many degrees on a side (36 × 72 cells). */
const CELL_DEG = 5;

/** One location's ranking: candidate indexes nearest first, and their distances. */
interface Placed {
  readonly order: Uint32Array;
  readonly distance: Float64Array;
}

type Memo = WeakMap<readonly Candidate[], Prepared>;

/**
 * The ranking for one location. The edges' unit vectors are prepared once per input candidate
 * list (the chain's start list is stable while edges and health are, see `chain.ts`), so each
 * client costs three multiplications and one `asin` per edge, not a haversine; and the sort
 * starts from the order seen from the centre of the client's grid cell, which is nearly right,
 * so an insertion sort finishes it in about one pass. A freshly started scheduler meets
 * thousands of new client subnets a second, and a haversine and comparator sort over every
 * edge for each was its tail latency. (Decisions are cached by client network, and by location
 * when no filter looks at the client: see `Filter.locationOnly`.)
 */
function rankByDistance(
  memo: Memo,
  candidates: readonly Candidate[],
  latitude: number,
  longitude: number,
  config: GeoSortConfig,
): readonly Candidate[] {
  let prep = memo.get(candidates);
  if (!prep) {
    const xyz = new Float64Array(candidates.length * 3);
    const bias = new Float64Array(candidates.length);
    candidates.forEach((c, i) => {
      writeUnitVector(c.view.edge, xyz, i * 3);
      bias[i] = config.bias.get(c.view.edge.id) ?? 0;
    });
    prep = { xyz, bias, cells: new Map() };
    memo.set(candidates, prep);
  }
  const { order, distance } = place(prep, latitude, longitude);
  const n = order.length;
  const nearest = n ? distance[order[0]!]! : 0;
  const step = Math.max(1, config.toleranceKm);
  const ranked: Candidate[] = new Array(n);
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    const c = candidates[i]!;
    const distanceKm = distance[i]!;
    ranked[k] = {
      view: c.view,
      rank: c.rank + Math.floor((distanceKm - nearest) / step),
      weight: c.weight,
      distanceKm,
    };
  }
  return ranked;
}

/** Distances from one location to every prepared edge, and their order (stable: equal
 * distances keep the input order). */
function place(prep: Prepared, latitude: number, longitude: number): Placed {
  const distance = distances(prep, latitude, longitude);
  const n = distance.length;
  const row = Math.min(35, Math.floor((latitude + 90) / CELL_DEG));
  const col = Math.min(71, Math.floor((longitude + 180) / CELL_DEG));
  const cell = row * 72 + col;
  let start = prep.cells.get(cell);
  if (!start) {
    const centre = distances(
      prep,
      (row + 0.5) * CELL_DEG - 90,
      (col + 0.5) * CELL_DEG - 180,
    );
    start = Uint32Array.from(
      Array.from({ length: n }, (_, i) => i).sort((a, b) =>
        centre[a]! - centre[b]! || a - b
      ),
    );
    prep.cells.set(cell, start);
  }
  const order = start.slice();
  for (let k = 1; k < n; k++) {
    const i = order[k]!;
    const d = distance[i]!;
    let j = k - 1;
    while (j >= 0) {
      const o = order[j]!;
      const e = distance[o]!;
      if (e < d || (e === d && o < i)) break;
      order[j + 1] = o;
      j--;
    }
    order[j + 1] = i;
  }
  return { order, distance };
}

/** Great-circle distance plus bias (km) from a location to each prepared edge. */
function distances(
  prep: Prepared,
  latitude: number,
  longitude: number,
): Float64Array {
  const here = new Float64Array(3);
  writeUnitVector({ latitude, longitude }, here, 0);
  const [hx, hy, hz] = here as unknown as [number, number, number];
  const { xyz, bias } = prep;
  const n = bias.length;
  const distance = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const dx = xyz[i * 3]! - hx;
    const dy = xyz[i * 3 + 1]! - hy;
    const dz = xyz[i * 3 + 2]! - hz;
    distance[i] = kmFromChord(Math.sqrt(dx * dx + dy * dy + dz * dz)) +
      bias[i]!;
  }
  return distance;
}

export const geoSort: FilterPlugin<GeoSortConfig> = {
  name: "geo_sort",
  parse(raw, key) {
    onlyKeys(raw, key, ["bias", "toleranceKm"]);
    return {
      bias: numberMapOption(raw, key, "bias"),
      toleranceKm: numberOption(raw, key, "toleranceKm", 500, 0, 40_000),
    };
  },
  create(config) {
    const memo: Memo = new WeakMap(); // per filter: its bias and tolerance shape the ranking
    return {
      name: "geo_sort",
      locationOnly: true,
      apply(request, state, trace) {
        const r = request.geo.record;
        // The geo answer (even "unknown") holds for the database network: RFC 7871 §7.2.1.
        const scopePrefix = Math.max(
          state.scopePrefix,
          request.geo.prefixLength,
        );
        if (r?.latitude === undefined || r.longitude === undefined) {
          trace?.push(
            `geo_sort: no location for the client, configured order kept`,
          );
          return { ...state, scopePrefix };
        }
        const ranked = rankByDistance(
          memo,
          state.candidates,
          r.latitude,
          r.longitude,
          config,
        );
        trace?.push(
          `geo_sort: client at ${r.city ?? "?"}, ${r.country ?? "?"} (${
            r.latitude.toFixed(2)
          },${r.longitude.toFixed(2)}) /${request.geo.prefixLength} → ${
            describeCandidates(ranked)
          }`,
        );
        return { ...state, candidates: ranked, scopePrefix };
      },
    };
  },
};
