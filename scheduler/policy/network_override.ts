/**
 * `network_override`: clients in a listed network are served from a region first (peering,
 * known mis-geolocated ranges). Matching is by longest prefix.
 *
 * @module
 */

import { type Cidr, cidrContains, parseCidr } from "../../geo/mod.ts";
import { ConfigError } from "../../config/mod.ts";
import { listOption, onlyKeys } from "./_options.ts";
import { byRank, describeCandidates, type FilterPlugin } from "./types.ts";

/** Options of `network_override`. */
export interface NetworkOverrideConfig {
  readonly overrides: readonly {
    readonly cidr: Cidr;
    readonly text: string;
    readonly region: string;
  }[];
}

/** Length of the common prefix of two byte strings, at most `max` bits. */
function commonPrefixBits(a: Uint8Array, b: Uint8Array, max: number): number {
  let bits = 0;
  for (let i = 0; i < a.length && bits < max; i++) {
    const x = a[i]! ^ b[i]!;
    if (x === 0) {
      bits += 8;
      continue;
    }
    bits += Math.clz32(x) - 24;
    break;
  }
  return Math.min(bits, max);
}

export const networkOverride: FilterPlugin<NetworkOverrideConfig> = {
  name: "network_override",
  parse(raw, key) {
    onlyKeys(raw, key, ["overrides"]);
    const overrides = listOption(raw, key, "overrides").map((o, i) => {
      const k = `${key}.overrides[${i}]`;
      if (typeof o !== "object" || o === null) {
        throw new ConfigError(k, o, "a map with cidr and region");
      }
      const { cidr, region } = o as Record<string, unknown>;
      if (typeof region !== "string" || !region) {
        throw new ConfigError(`${k}.region`, region, "a region name");
      }
      if (typeof cidr !== "string") {
        throw new ConfigError(`${k}.cidr`, cidr, "a CIDR like 192.0.2.0/24");
      }
      try {
        return { cidr: parseCidr(cidr), text: cidr, region };
      } catch (cause) {
        throw new ConfigError(
          `${k}.cidr`,
          cidr,
          "a CIDR like 192.0.2.0/24 with no host bits",
          { cause },
        );
      }
    });
    return {
      overrides: overrides.sort((a, b) =>
        b.cidr.prefixLength - a.cidr.prefixLength
      ),
    };
  },
  create(config) {
    return {
      name: "network_override",
      apply(request, state, trace) {
        const client = request.client.bytes;
        const family = client.length === 4 ? 4 : 6;
        let scopePrefix = state.scopePrefix;
        const match = config.overrides.find((o) =>
          o.cidr.family === family && cidrContains(o.cidr, client)
        );
        for (const o of config.overrides) {
          if (o === match || o.cidr.family !== family) continue;
          // The no-match answer must not cover a listed network: narrow the scope until the
          // client's network excludes it.
          const common = commonPrefixBits(
            client,
            o.cidr.bytes,
            o.cidr.prefixLength,
          );
          if (common < o.cidr.prefixLength && common >= scopePrefix) {
            scopePrefix = common + 1;
          }
        }
        if (!match) {
          trace?.push(
            `network_override: no listed network contains the client`,
          );
          return { ...state, scopePrefix };
        }
        scopePrefix = Math.max(scopePrefix, match.cidr.prefixLength);
        const candidates = byRank(
          state.candidates.map((
            c,
          ) => (c.view.edge.region === match.region ? { ...c, rank: -1 } : c)),
        );
        trace?.push(
          `network_override: client in ${match.text} → region ${match.region} first: ${
            describeCandidates(candidates)
          }`,
        );
        return { ...state, candidates, scopePrefix };
      },
    };
  },
};
