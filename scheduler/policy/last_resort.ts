/**
 * `last_resort`: when no candidate is left, answer a CNAME (another CDN, a static origin) or a
 * fixed set of edges. With neither configured, every edge of the family answers, healthy or
 * not: a possibly-down edge beats an empty answer (gdnsd does the same when all are down).
 *
 * @module
 */

import { ConfigError } from "../../config/mod.ts";
import { listOption, onlyKeys, stringOption } from "./_options.ts";
import type { FilterPlugin } from "./types.ts";

/** Options of `last_resort`. */
export interface LastResortConfig {
  /** Absolute CNAME target; "" for none. */
  readonly cname: string;
  /** Edge ids answered when nothing else is; empty: every edge. */
  readonly edges: readonly string[];
}

const NAME_RE = /^([a-z0-9_-]{1,63}\.)+$/i;

export const lastResort: FilterPlugin<LastResortConfig> = {
  name: "last_resort",
  parse(raw, key) {
    onlyKeys(raw, key, ["cname", "edges"]);
    const cname = stringOption(raw, key, "cname", "");
    if (cname && !NAME_RE.test(cname)) {
      throw new ConfigError(
        `${key}.cname`,
        cname,
        "an absolute name ending in '.'",
      );
    }
    const edges = listOption(raw, key, "edges").map((e, i) => {
      if (typeof e !== "string") {
        throw new ConfigError(`${key}.edges[${i}]`, e, "an edge id");
      }
      return e;
    });
    return { cname: cname.toLowerCase(), edges };
  },
  create(config) {
    return {
      name: "last_resort",
      locationOnly: true,
      apply(_request, state, trace) {
        if (state.candidates.length) {
          trace?.push(`last_resort: not needed`);
          return state;
        }
        if (config.cname) {
          trace?.push(`last_resort: no edge left → CNAME ${config.cname}`);
          return { ...state, cname: config.cname, failedOver: true };
        }
        const views = config.edges.length
          ? state.all.filter((v) => config.edges.includes(v.edge.id))
          : state.all;
        trace?.push(
          `last_resort: no edge left → fixed set ${
            views.map((v) => v.edge.id).join(" ") || "(none)"
          }`,
        );
        return {
          ...state,
          candidates: views.map((view) => ({
            view,
            rank: 0,
            weight: view.edge.capacity,
          })),
          failedOver: true,
        };
      },
    };
  },
};
