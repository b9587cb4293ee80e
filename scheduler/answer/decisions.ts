/**
 * Decisions of steered names: which edges a client gets, made by the name's filter chain and
 * cached, so that a resolver's repeat queries (and every subnet of a known place, for chains
 * that read only the place) cost a map lookup, not a ranking of the edges.
 *
 * The caches are keyed by what the chain reads (the client network, or its place) and are all
 * dropped when the edge list or any health state changes (a new version of either).
 *
 * @module
 */

import type { SchedulerConfig } from "../../config/scheduler_schema.ts";
import {
  formatIp,
  type GeoLookup,
  type GeoResult,
  ShardedMap,
} from "../../geo/mod.ts";
import type { EdgeSource } from "../edges.ts";
import type { HealthSnapshot } from "../health/monitor.ts";
import type { NetworkDirectory } from "../networks.ts";
import { type PolicyAnswer, runChain } from "../policy/chain.ts";
import type {
  ClientAddress,
  EdgeView,
  PolicyRequest,
} from "../policy/types.ts";
import type { RouteCounter, RoutingStats } from "../routing_stats.ts";
import type { EdgeAnswerCounter } from "../stats.ts";
import type { SteeredName } from "../zone.ts";

/** A cached decision and the counter its answers are counted in (none without an edge). */
export interface CachedDecision {
  readonly answer: PolicyAnswer;
  readonly route: RouteCounter | undefined;
  /** Answers naming its first edge (`meridian_dns_answers_total{edge}`). */
  readonly edgeAnswers: EdgeAnswerCounter | undefined;
  /** The answer's response template, and the question name it was built for. */
  template?: Uint8Array;
  templateName?: string;
  /** Templates of names whose CNAMEs lead to this steered name, by question name. */
  chained?: Map<string, Uint8Array>;
}

/** What {@link Decisions} reads. */
export interface DecisionDeps {
  readonly geo: GeoLookup;
  readonly edges: EdgeSource;
  readonly health: HealthSnapshot;
  readonly config: Pick<SchedulerConfig, "dns">;
  readonly routing: RoutingStats;
  /** Carriers and the ASN lookup, for chains with a filter reading the client's network. */
  readonly networks?: NetworkDirectory;
  /** Told when edges or health changed and every cached decision was dropped. */
  readonly onStale: () => void;
  /** The counter of answers naming an edge first (looked up once per decision). */
  readonly edgeAnswers?: (edgeId: string) => EdgeAnswerCounter;
}

/** What a steered name's chain reads, beyond the place (computed once per name). */
interface ChainNeeds {
  /** Every filter reads only the place (and stream): decisions are shared per place. */
  readonly placeOnly: boolean;
  readonly network: boolean;
  readonly stream: boolean;
}

const NEEDS = new WeakMap<SteeredName, ChainNeeds>();

/** What `steered`'s chain reads. */
export function chainNeeds(steered: SteeredName): ChainNeeds {
  let n = NEEDS.get(steered);
  if (!n) {
    n = {
      placeOnly: steered.filters.every((f) => f.locationOnly),
      network: steered.filters.some((f) => f.readsNetwork),
      stream: steered.filters.some((f) => f.readsStream),
    };
    NEEDS.set(steered, n);
  }
  return n;
}

const EMPTY_HOLDERS: ReadonlyMap<string, number> = new Map();

/** The decision caches of one handler. */
export class Decisions {
  readonly #d: DecisionDeps;
  /**
   * Per steered name and type (few): decisions by client network (the chain is deterministic
   * for a client). Bounded by `dns.answerCacheEntries` each, trimmed a shard at a time.
   */
  readonly #byClient = new Map<
    string,
    ShardedMap<number | string, CachedDecision>
  >();
  /** Decisions of location-only chains by (name, type, place, prefix): see `Filter.locationOnly`. */
  readonly #byPlace: ShardedMap<string, PolicyAnswer>;
  #viewsEdges = NaN;
  #viewsHealth = NaN;
  #views4: EdgeView[] = [];
  #views6: EdgeView[] = [];
  /** The stream index version the stream-affine decisions were made at. */
  #streamsVersion = NaN;
  /** Decision maps of names whose chain reads the stream (dropped when streams change). */
  readonly #streamMaps = new Set<string>();
  /** While set, decisions are not counted for the dashboard (warm-up). */
  quiet = false;

  constructor(deps: DecisionDeps) {
    this.#d = deps;
    this.#byPlace = new ShardedMap(deps.config.dns.answerCacheEntries);
  }

  /** Cached decisions: by client network, and by place (tests, dashboard). */
  get sizes(): { byClient: number; byPlace: number } {
    let byClient = 0;
    for (const m of this.#byClient.values()) byClient += m.size;
    return { byClient, byPlace: this.#byPlace.size };
  }

  /** Drops every cached decision (made-up warm-up clients must not hold the slots). */
  clear(): void {
    for (const c of this.#byClient.values()) c.clear();
    this.#byPlace.clear();
  }

  /** Edge views for a family, rebuilt when the edge list or any health state changes. */
  views(family: 4 | 6): readonly EdgeView[] {
    const ev = this.#d.edges.version;
    const hv = this.#d.health.version;
    if (ev !== this.#viewsEdges || hv !== this.#viewsHealth) {
      const all = this.#d.edges.list().map((s) => ({
        edge: s.edge,
        up: this.#d.health.isUp(s.edge.id),
        draining: s.draining,
        load: s.load,
      }));
      this.#views4 = all.filter((v) => v.edge.address);
      this.#views6 = all.filter((v) => v.edge.address6);
      this.#viewsEdges = ev;
      this.#viewsHealth = hv;
      // Old decisions and their templates are stale now; drop them so memory stays bounded.
      this.#d.onStale();
      this.clear();
    }
    return family === 4 ? this.#views4 : this.#views6;
  }

  /** The request a chain sees: geo always, network and stream when the chain reads them. */
  #request(
    steered: SteeredName,
    qtype: "A" | "AAAA",
    client: ClientAddress,
    streamKey: string | undefined,
    geo: GeoResult,
  ): PolicyRequest {
    const needs = chainNeeds(steered);
    const network = needs.network
      ? this.#d.networks?.lookupClient(client.bytes)
      : undefined;
    const holders = needs.stream && streamKey !== undefined
      ? this.#d.edges.streams?.holders(streamKey) ?? EMPTY_HOLDERS
      : undefined;
    return {
      qname: steered.owner,
      qtype,
      client,
      geo,
      ...(network ? { network } : {}),
      ...(holders ? { stream: { key: streamKey!, holders } } : {}),
    };
  }

  /**
   * Runs a steered name's chain for one client (also used by the HTTP scheduler and explain).
   *
   * @param streamKey The live stream asked for (`store/stream_key.ts`), if any.
   */
  decide(
    steered: SteeredName,
    qtype: "A" | "AAAA",
    client: ClientAddress,
    trace?: string[],
    streamKey?: string,
  ): { answer: PolicyAnswer; geo: GeoResult; request: PolicyRequest } {
    const geo = this.#d.geo.lookup(client.bytes);
    const request = this.#request(steered, qtype, client, streamKey, geo);
    const answer = runChain(
      request,
      steered.filters,
      this.views(qtype === "A" ? 4 : 6),
      steered.ttl,
      trace,
    );
    return { answer, geo, request };
  }

  /**
   * {@link decide}, shared by every client placed at one location (and database prefix, which
   * is the answer's ECS scope) when no filter of the chain looks at the client's network: a
   * new subnet of a known city then costs a geo lookup, not a ranking of every edge.
   */
  #decidePlaced(
    steered: SteeredName,
    qtype: "A" | "AAAA",
    client: ClientAddress,
    streamKey: string | undefined,
  ): { answer: PolicyAnswer; geo: GeoResult } {
    if (!chainNeeds(steered).placeOnly) {
      return this.decide(steered, qtype, client, undefined, streamKey);
    }
    const geo = this.#d.geo.lookup(client.bytes);
    const r = geo.record;
    const key =
      `${steered.owner}|${qtype}|${r?.latitude},${r?.longitude}|${geo.prefixLength}|${
        streamKey ?? ""
      }`;
    let answer = this.#byPlace.get(key);
    if (!answer) {
      answer = runChain(
        this.#request(steered, qtype, client, streamKey, geo),
        steered.filters,
        this.views(qtype === "A" ? 4 : 6),
        steered.ttl,
      );
      this.#byPlace.set(key, answer);
    }
    return { answer, geo };
  }

  /**
   * A decision from the cache, keyed by the client's bytes and prefix length: the chain's
   * result depends on nothing else for a given edge/health version (which clears the cache).
   * Each answer is counted for the dashboard by one increment of the counter cached with the
   * decision (see `routing_stats.ts`); the counter is looked up only when deciding.
   */
  cached(
    steered: SteeredName,
    qtype: "A" | "AAAA",
    client: ClientAddress,
    streamKey?: string,
  ): CachedDecision {
    this.views(qtype === "A" ? 4 : 6); // clears the cache when edges or health changed
    const needs = chainNeeds(steered);
    if (needs.stream) this.#checkStreams();
    const b = client.bytes;
    // IPv4 clients by a number (prefix length above the 32 address bits): no string per query.
    const clientKey = b.length === 4
      ? client.prefixLength * 4294967296 +
        (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0)
      : `${client.prefixLength}|${formatIp(b)}`;
    const key = needs.stream && streamKey !== undefined
      ? `${streamKey}|${clientKey}`
      : clientKey;
    const nameKey = qtype === "A" ? steered.owner : `${steered.owner}|AAAA`;
    if (needs.stream) this.#streamMaps.add(nameKey);
    let byClient = this.#byClient.get(nameKey);
    if (!byClient) {
      byClient = new ShardedMap(this.#d.config.dns.answerCacheEntries);
      this.#byClient.set(nameKey, byClient);
    }
    let cached = byClient.get(key);
    if (!cached) {
      const { answer, geo } = this.#decidePlaced(
        steered,
        qtype,
        client,
        needs.stream ? streamKey : undefined,
      );
      // The first address is the edge most clients connect to; a CNAME or NODATA answer
      // routes to no edge.
      const edgeId = answer.cname || !answer.addresses.length
        ? undefined
        : answer.edgeIds[0];
      cached = {
        answer,
        route: edgeId === undefined || this.quiet
          ? undefined
          : this.#d.routing.route(
            geo,
            edgeId,
            answer.carrier === undefined
              ? undefined
              : { name: answer.carrier, onNet: answer.onNet === true },
          ),
        edgeAnswers: edgeId === undefined || this.quiet
          ? undefined
          : this.#d.edgeAnswers?.(edgeId),
      };
      byClient.set(key, cached);
    }
    if (cached.route) cached.route.queries++;
    if (cached.edgeAnswers) cached.edgeAnswers.count++;
    return cached;
  }

  /** Drops stream-affine decisions when the edges' streams changed. */
  #checkStreams(): void {
    const v = this.#d.edges.streams?.version ?? 0;
    if (v === this.#streamsVersion) return;
    this.#streamsVersion = v;
    for (const nameKey of this.#streamMaps) {
      this.#byClient.get(nameKey)?.clear();
    }
    this.#byPlace.clear();
  }

  /** The ECS scope to echo for a decision: capped by config, 0 without a usable subnet. */
  scope(answer: PolicyAnswer, client: ClientAddress, fromEcs: boolean): number {
    if (!fromEcs) return 0;
    const cap = client.bytes.length === 4
      ? this.#d.config.dns.ecsMaxScopeV4
      : this.#d.config.dns.ecsMaxScopeV6;
    return Math.min(answer.scopePrefix, cap);
  }
}
