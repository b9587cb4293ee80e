/**
 * `isp_match`: edges on the client's carrier (运营商线路) first, as a Chinese CDN's smart DNS
 * answers: a China Unicom client gets the Unicom edge near it, because crossing carriers
 * inside China costs more latency than distance does. The client's carrier comes from the ASN
 * of its network (looked up once per decision) and `scheduler.isps`; an edge's from its `isp`
 * and `asns` (or the AS its address is in). Edges on the client's carrier within `withinKm`
 * keep their order in front; the rest follow in theirs, so when every on-net edge is down the
 * nearest healthy ones answer (`health` after this filter). `strict` keeps a carrier's
 * clients on its edges alone.
 *
 * Scope: the prefix of the ASN range (or gap) holding the client, so an answer never covers
 * another network's addresses (RFC 7871 §7.2.1).
 *
 * @module
 */

import { numberOption, onlyKeys } from "./_options.ts";
import { ConfigError } from "../../config/mod.ts";
import {
  byRank,
  type Candidate,
  describeCandidates,
  type FilterPlugin,
} from "./types.ts";

/** Options of `isp_match`. */
export interface IspMatchConfig {
  /** On-net edges farther than this from the client do not go first. @default 2500 */
  readonly withinKm: number;
  /** Only edges on the client's carrier answer it (when it has any). @default false */
  readonly strict: boolean;
  /** Without an ASN database, start anyway and steer by place. @default false */
  readonly optional: boolean;
}

/** Rank offset that puts off-net edges behind on-net ones (below `capacity_weight`'s full-edge penalty). */
export const OFF_NET_RANK_PENALTY = 100_000;

function boolOption(
  raw: Readonly<Record<string, unknown>>,
  key: string,
  field: string,
): boolean {
  const v = raw[field] ?? false;
  if (typeof v !== "boolean") {
    throw new ConfigError(`${key}.${field}`, v, "true or false");
  }
  return v;
}

export const ispMatch: FilterPlugin<IspMatchConfig> = {
  name: "isp_match",
  parse(raw, key) {
    onlyKeys(raw, key, ["withinKm", "strict", "optional"]);
    return {
      withinKm: numberOption(raw, key, "withinKm", 2500, 0, 40_000),
      strict: boolOption(raw, key, "strict"),
      optional: boolOption(raw, key, "optional"),
    };
  },
  create(config, deps) {
    const { networks } = deps;
    return {
      name: "isp_match",
      readsNetwork: true,
      apply(request, state, trace) {
        const net = request.network;
        if (!net) {
          trace?.push(
            `isp_match: no ASN database open, order kept (steering by place)`,
          );
          return state;
        }
        // The carrier decision holds for the range (or gap) around the client.
        const scopePrefix = Math.max(state.scopePrefix, net.prefixLength);
        const who = net.asn
          ? `AS${net.asn}${net.org ? ` (${net.org})` : ""}`
          : "no AS in the database";
        if (!net.asn) {
          trace?.push(
            `isp_match: client network /${net.prefixLength}: ${who}, order kept`,
          );
          return { ...state, scopePrefix };
        }
        const label = net.carrier ?? `AS${net.asn}`;
        const onNetEdge = (c: Candidate): boolean => {
          const n = networks.edgeNetworks(c.view.edge);
          return net.carrier !== undefined
            ? n.carriers.has(net.carrier)
            : n.asns.has(net.asn);
        };
        const onNet = new Set<string>();
        const why: string[] = [];
        let anyOnNet = false;
        const ranked = state.candidates.map((c) => {
          const id = c.view.edge.id;
          const n = networks.edgeNetworks(c.view.edge);
          const on = onNetEdge(c);
          const nets = [...n.carriers].join("+") ||
            [...n.asns].map((a) => `AS${a}`).join("+") || "no known network";
          if (!on) {
            why.push(`${id} on ${nets}: off-net, behind`);
            return { ...c, rank: c.rank + OFF_NET_RANK_PENALTY };
          }
          onNet.add(id);
          anyOnNet = true;
          const far = c.distanceKm !== undefined &&
            c.distanceKm > config.withinKm;
          if (far) {
            why.push(
              `${id} on ${label}, ${
                Math.round(c.distanceKm!)
              } km: beyond ${config.withinKm} km, behind`,
            );
            return { ...c, rank: c.rank + OFF_NET_RANK_PENALTY };
          }
          why.push(`${id} on ${label}: on-net, first`);
          return c;
        });
        let candidates = byRank(ranked);
        if (config.strict && anyOnNet) {
          candidates = candidates.filter((c) => onNet.has(c.view.edge.id));
          why.push("strict: off-net edges dropped");
        }
        trace?.push(
          `isp_match: client network /${net.prefixLength}: ${who} → carrier ${
            net.carrier ?? "(none listed)"
          }; ${why.join("; ")} → ${describeCandidates(candidates)}`,
        );
        return {
          ...state,
          candidates,
          scopePrefix,
          carrier: { name: label, onNet },
        };
      },
    };
  },
};
