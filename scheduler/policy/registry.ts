/**
 * Every steering filter by name, and the chain parser. Explicit on purpose: no dynamic imports.
 *
 * @module
 */

import { ConfigError } from "../../config/mod.ts";
import { SCHEDULER_DEFAULTS } from "../../config/scheduler_schema.ts";
import { NetworkDirectory } from "../networks.ts";
import { capacityWeight } from "./capacity_weight.ts";
import { firstN } from "./first_n.ts";
import { geoSort } from "./geo_sort.ts";
import { healthFilter } from "./health_filter.ts";
import { lastResort } from "./last_resort.ts";
import { networkOverride } from "./network_override.ts";
import { sticky } from "./sticky.ts";
import { ispMatch } from "./isp_match.ts";
import { streamAffinity } from "./stream_affinity.ts";
import type { Filter, FilterPlugin, PolicyDeps } from "./types.ts";

/** The filter plug-ins by their config name. */
export const FILTERS = {
  geo_sort: geoSort,
  network_override: networkOverride,
  isp_match: ispMatch,
  health: healthFilter,
  capacity_weight: capacityWeight,
  stream_affinity: streamAffinity,
  sticky: sticky,
  first_n: firstN,
  last_resort: lastResort,
} as const;
export type FilterName = keyof typeof FILTERS;

/** The chain a steered name gets when its `filters` list is empty. */
export const DEFAULT_CHAIN: readonly Readonly<Record<string, unknown>>[] = [
  { name: "geo_sort" },
  { name: "network_override" },
  { name: "health" },
  { name: "capacity_weight" },
  { name: "sticky" },
  { name: "first_n", count: 2 },
  { name: "last_resort" },
];

/**
 * Parses and compiles a filter chain.
 *
 * @param raw A list of maps, each with `name` (a key of {@link FILTERS}) and that filter's options.
 * @param key The config key of the list, for errors.
 * @param deps What filters share (carriers, ASN lookup); default: the default carriers and no
 *   ASN database.
 * @throws {ConfigError} Naming the bad key.
 * @example
 * ```ts
 * import { parseFilterChain } from "./registry.ts";
 * const chain = parseFilterChain([{ name: "geo_sort" }, { name: "first_n", count: 1 }], "filters");
 * if (chain.length !== 2) throw new Error("chain");
 * ```
 */
export function parseFilterChain(
  raw: readonly unknown[],
  key: string,
  deps: PolicyDeps = defaultDeps(),
): Filter[] {
  const list = raw.length ? raw : DEFAULT_CHAIN;
  return list.map((item, i) => {
    const k = `${key}[${i}]`;
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      throw new ConfigError(k, item, "a map with a filter name");
    }
    const spec = item as Record<string, unknown>;
    const name = spec["name"];
    if (typeof name !== "string" || !(name in FILTERS)) {
      throw new ConfigError(
        `${k}.name`,
        name,
        `one of ${Object.keys(FILTERS).join(", ")}`,
      );
    }
    const plugin = FILTERS[name as FilterName] as FilterPlugin<unknown>;
    return plugin.create(plugin.parse(spec, k), deps);
  });
}

let defaults: PolicyDeps | undefined;
function defaultDeps(): PolicyDeps {
  return defaults ??= {
    networks: new NetworkDirectory(SCHEDULER_DEFAULTS.isps),
  };
}
