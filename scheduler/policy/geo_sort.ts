/**
 * `geo_sort`: nearest edges first, by great-circle distance from the client's location, plus a
 * per-edge bias in km. Edges within `toleranceKm` of the nearest share rank 0 (sticky picks
 * among them).
 *
 * @module
 */

import { haversineKm } from "../../geo/mod.ts";
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
    return {
      name: "geo_sort",
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
        const here = { latitude: r.latitude, longitude: r.longitude };
        const measured = state.candidates.map((c) => ({
          ...c,
          distanceKm: haversineKm(here, c.view.edge) +
            (config.bias.get(c.view.edge.id) ?? 0),
        }));
        measured.sort((a, b) => a.distanceKm - b.distanceKm);
        const nearest = measured[0]?.distanceKm ?? 0;
        const ranked: Candidate[] = measured.map((c) => ({
          ...c,
          rank: c.rank +
            Math.floor(
              (c.distanceKm - nearest) / Math.max(1, config.toleranceKm),
            ),
        }));
        trace?.push(
          `geo_sort: client at ${r.city ?? "?"}, ${r.country ?? "?"} (${
            here.latitude.toFixed(2)
          },${here.longitude.toFixed(2)}) /${request.geo.prefixLength} → ${
            describeCandidates(ranked)
          }`,
        );
        return { ...state, candidates: ranked, scopePrefix };
      },
    };
  },
};
