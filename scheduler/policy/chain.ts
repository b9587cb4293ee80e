/**
 * Runs a steered name's filter chain: from the edges of the asked family to the answer's
 * addresses, TTL and ECS scope.
 *
 * @module
 */

import type { ChainState, EdgeView, Filter, PolicyRequest } from "./types.ts";

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
    candidates: views.map((view) => ({
      view,
      rank: 0,
      weight: view.edge.capacity,
    })),
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
  };
}
