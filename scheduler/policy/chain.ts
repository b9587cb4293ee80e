/**
 * Runs a steered name's filter chain: from the edges of the asked family to the answer's
 * addresses, TTL and ECS scope.
 *
 * @module
 */

import type {
  Candidate,
  ChainState,
  EdgeView,
  Filter,
  PolicyRequest,
} from "./types.ts";

/**
 * The chain's starting candidates, one list per edge-view list: the views change only when the
 * edges or their health do, and a stable list lets filters memoise on it (see `geo_sort`).
 */
const START = new WeakMap<readonly EdgeView[], readonly Candidate[]>();

function startCandidates(views: readonly EdgeView[]): readonly Candidate[] {
  let list = START.get(views);
  if (!list) {
    list = views.map((view) => ({ view, rank: 0, weight: view.edge.capacity }));
    START.set(views, list);
  }
  return list;
}

/** What a steered name answers. */
export interface PolicyAnswer {
  /** Edge ids, best first. */
  readonly edgeIds: readonly string[];
  readonly addresses: readonly string[];
  /** Set instead of addresses when the last resort is a CNAME. */
  readonly cname?: string;
  readonly ttlSeconds: number;
  /** The widest prefix over which this answer is the same (before the operator's cap). */
  readonly scopePrefix: number;
  readonly failedOver: boolean;
  /** The client's carrier as `isp_match` placed it (dashboard: answers by carrier). */
  readonly carrier?: string;
  /** The first edge is on the client's carrier (`isp_match` ran and placed the client). */
  readonly onNet?: boolean;
}

/** TTLs of a steered name. */
export interface SteeringTtl {
  readonly ttlSeconds: number;
  readonly failoverTtlSeconds: number;
}

/**
 * Resolves one request through `filters`.
 *
 * @param views The edges of the request's family (A: with IPv4, AAAA: with IPv6), any health.
 * @param trace When given, each filter appends one line (for `/api/explain`).
 */
export function runChain(
  request: PolicyRequest,
  filters: readonly Filter[],
  views: readonly EdgeView[],
  ttl: SteeringTtl,
  trace?: string[],
): PolicyAnswer {
  let state: ChainState = {
    candidates: startCandidates(views),
    scopePrefix: 0,
    failedOver: false,
    all: views,
  };
  for (const f of filters) state = f.apply(request, state, trace);
  const six = request.qtype === "AAAA";
  return {
    edgeIds: state.candidates.map((c) => c.view.edge.id),
    addresses: state.cname ? [] : state.candidates.map((
      c,
    ) => (six ? c.view.edge.address6 : c.view.edge.address)),
    ...(state.cname ? { cname: state.cname } : {}),
    ttlSeconds: state.failedOver ? ttl.failoverTtlSeconds : ttl.ttlSeconds,
    scopePrefix: state.scopePrefix,
    failedOver: state.failedOver,
    ...(state.carrier
      ? {
        carrier: state.carrier.name,
        onNet: !state.cname &&
          state.carrier.onNet.has(state.candidates[0]?.view.edge.id ?? ""),
      }
      : {}),
  };
}
