/**
 * The steering filter chain's contract. Each filter is a plug-in: `parse` checks its config
 * once at start-up (throwing ConfigError naming the key), `create` compiles it, and `apply`
 * runs per query on geo data looked up once before the chain.
 *
 * @module
 */

import type { GeoResult } from "../../geo/mod.ts";
import type { EdgeInfo } from "../edges.ts";
import type { ClientNetwork, NetworkDirectory } from "../networks.ts";

/** Who asks: the address decisions are made for (ECS subnet or resolver) and its prefix. */
export interface ClientAddress {
  /** 4 or 16 bytes, bits past `prefixLength` zero. */
  readonly bytes: Uint8Array;
  /** ECS SOURCE PREFIX-LENGTH, or the full length for a resolver address. */
  readonly prefixLength: number;
}

/** The live stream a request is for, and which edges already serve it. */
export interface StreamRequest {
  /** The stream's key (`store/stream_key.ts`: a 64-bit hash of `app/stream`, 16 hex digits). */
  readonly key: string;
  /** Edges serving it now, by id, with their viewers of it (from their heartbeats). */
  readonly holders: ReadonlyMap<string, number>;
}

/** One question as the chain sees it. */
export interface PolicyRequest {
  readonly qname: string;
  readonly qtype: "A" | "AAAA";
  readonly client: ClientAddress;
  readonly geo: GeoResult;
  /**
   * The client's network (AS and carrier), looked up once before the chain when a filter
   * reads it ({@link Filter.readsNetwork}) and an ASN database is open.
   */
  readonly network?: ClientNetwork;
  /** Set for a request that names a live stream (a 302 URL, a per-stream DNS name). */
  readonly stream?: StreamRequest;
}

/** An edge as the chain sees it: config plus health, drain and load. */
export interface EdgeView {
  readonly edge: EdgeInfo;
  readonly up: boolean;
  readonly draining: boolean;
  readonly load: number;
}

/** A candidate answer. Lower `rank` is better; equal ranks are interchangeable (sticky picks). */
export interface Candidate {
  readonly view: EdgeView;
  readonly rank: number;
  readonly weight: number;
  readonly distanceKm?: number;
}

/** The chain's running state. */
export interface ChainState {
  readonly candidates: readonly Candidate[];
  /**
   * The prefix length over which this decision holds (RFC 7871 §7.2.1 SCOPE): each filter that
   * looks at the client raises it to the prefix its own choice depends on.
   */
  readonly scopePrefix: number;
  /** The preferred edge was left out (unhealthy) or a last resort answered: TTL is shortened. */
  readonly failedOver: boolean;
  /** A CNAME target answered instead of addresses (last resort). */
  readonly cname?: string;
  /** Every edge eligible by family, health aside (the last resort's fixed set). */
  readonly all: readonly EdgeView[];
  /**
   * The client's carrier (or `AS{n}` for a network of no listed carrier) and the edges on
   * it, when `isp_match` placed the client: the dashboard counts on-net answers from it.
   */
  readonly carrier?: {
    readonly name: string;
    readonly onNet: ReadonlySet<string>;
  };
}

/** A compiled filter. */
export interface Filter {
  readonly name: string;
  /**
   * True when `apply` reads nothing of the request but `geo` (the place, not the client's
   * network): a chain of such filters decides once per location and prefix, and every subnet
   * placed there shares the decision. Leave unset when the client's address matters.
   */
  readonly locationOnly?: boolean;
  /** True when `apply` reads `request.network` (so it is looked up before the chain). */
  readonly readsNetwork?: boolean;
  /**
   * True when `apply` reads `request.stream`: decisions are then kept per stream as well (and
   * dropped when the edges' streams change).
   */
  readonly readsStream?: boolean;
  /** @param trace When given, the filter appends one line saying what it did and why. */
  apply(
    request: PolicyRequest,
    state: ChainState,
    trace?: string[],
  ): ChainState;
}

/** What filters may use beyond their options: shared, read-only at query time. */
export interface PolicyDeps {
  /** Carriers and the ASN lookup (`isp_match`). */
  readonly networks: NetworkDirectory;
}

/** A filter plug-in, registered by name in `registry.ts`. */
export interface FilterPlugin<C> {
  readonly name: string;
  /** Checks a filter's options (the map minus its `name`). @throws {ConfigError} */
  parse(raw: Readonly<Record<string, unknown>>, key: string): C;
  create(config: C, deps: PolicyDeps): Filter;
}

/** Sorts candidates by rank, keeping the previous order within a rank. */
export function byRank(candidates: readonly Candidate[]): Candidate[] {
  return candidates.map((c, i) => ({ c, i })).sort((a, b) =>
    a.c.rank - b.c.rank || a.i - b.i
  ).map((x) => x.c);
}

/** Short text of a candidate list for traces: `fra1(r0,w100,412km)`. */
export function describeCandidates(cs: readonly Candidate[]): string {
  return cs.map((c) =>
    `${c.view.edge.id}(r${c.rank},w${+c.weight.toFixed(2)}${
      c.distanceKm !== undefined ? `,${Math.round(c.distanceKm)}km` : ""
    })`
  ).join(" ") || "(none)";
}
