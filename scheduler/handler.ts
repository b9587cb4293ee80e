/**
 * The DNS answering core: `handleQuery(bytes, client) → bytes`, no sockets. Parses the query by
 * hand, decides (zone lookup, geo lookup, filter chain), and finishes a precomputed template.
 * Templates are built (`dns/template.ts`: wire-form names, compressed) the first time a (name,
 * type, decision) is seen.
 *
 * @module
 */

import type { SchedulerConfig } from "../config/scheduler_schema.ts";
import {
  fmix32,
  formatIp,
  type GeoLookup,
  type GeoResult,
  isReservedIp,
  maskBytes,
  parseIp,
  ShardedMap,
} from "../geo/mod.ts";
import {
  Flags2,
  HEADER_BYTES,
  Rcode,
  RR_TYPE_NAMES,
  RRClass,
  RRType,
} from "./dns/constants.ts";
import { DnsQueryError } from "./dns/errors.ts";
import { encodeEcsQuery } from "./dns/packet.ts";
import { type DnsQuery, parseQuery } from "./dns/query.ts";
import { bareResponse, finishResponse } from "./dns/response.ts";
import {
  encodeTemplate,
  QUESTION_NAME,
  type TemplateRecord,
} from "./dns/template.ts";
import type { EdgeSource } from "./edges.ts";
import type { HealthSnapshot } from "./health/monitor.ts";
import { type PolicyAnswer, runChain } from "./policy/chain.ts";
import type { ClientAddress, EdgeView } from "./policy/types.ts";
import { type RouteCounter, RoutingStats } from "./routing_stats.ts";
import { type ResponseClass, ResponseKind } from "./server/rate_limit.ts";
import type { DnsStats } from "./stats.ts";
import type {
  Authority,
  CnameChain,
  SteeredName,
  Zone,
  ZoneNode,
} from "./zone.ts";

/** Who sent a query: the transport's peer address (4 or 16 bytes) and transport. */
export interface QueryClient {
  readonly address: Uint8Array;
  readonly transport: "udp" | "tcp";
}

/** Dependencies of {@link DnsHandler}. */
export interface DnsHandlerDeps {
  readonly authority: Authority;
  readonly geo: GeoLookup;
  readonly edges: EdgeSource;
  readonly health: HealthSnapshot;
  readonly config: Pick<SchedulerConfig, "dns">;
  readonly stats?: DnsStats;
  /** Where decisions are counted by client region and edge; default: a new one. */
  readonly routing?: RoutingStats;
}

/** A cached decision and the counter its answers are counted in (none without an edge). */
interface CachedDecision {
  readonly answer: PolicyAnswer;
  readonly route: RouteCounter | undefined;
  /** The answer's response template, and the question name it was built for. */
  template?: Uint8Array;
  templateName?: string;
  /** Templates of names whose CNAMEs lead to this steered name, by question name. */
  chained?: Map<string, Uint8Array>;
}

/** Templates kept per decision for names reaching it through CNAMEs (a wildcard CNAME has many). */
const MAX_CHAINED_TEMPLATES = 16;

/** What `/api/explain` shows for one client. */
export interface Explanation {
  readonly name: string;
  readonly qtype: "A" | "AAAA";
  readonly client: string;
  readonly geo: GeoResult;
  readonly usedResolverAddress: boolean;
  readonly steps: readonly string[];
  readonly answer: PolicyAnswer | undefined;
  readonly ecsScope: number;
}

const TCP_LIMIT = 65535;

/** Answers DNS queries for an {@link Authority}. */
export class DnsHandler {
  readonly #d: DnsHandlerDeps;
  readonly #cache = new Map<string, Uint8Array>();
  /**
   * Per steered name and type (few): decisions by client network (the chain is deterministic
   * for a client). Bounded by `dns.answerCacheEntries` each, trimmed a shard at a time.
   */
  readonly #decisions = new Map<
    string,
    ShardedMap<number | string, CachedDecision>
  >();
  /** Decisions of location-only chains by (name, type, place, prefix): see `Filter.locationOnly`. */
  readonly #byPlace: ShardedMap<string, PolicyAnswer>;
  #viewsEdges = NaN;
  #viewsHealth = NaN;
  #views4: EdgeView[] = [];
  #views6: EdgeView[] = [];
  readonly #payload: number;
  readonly #chaos: ReadonlyMap<string, string>;
  /** Set while {@link warm} runs: nothing is counted. */
  #quiet = false;
  /** Steered answers by client region and (first) edge, for the dashboard. */
  readonly routing: RoutingStats;

  constructor(deps: DnsHandlerDeps) {
    this.#d = deps;
    this.routing = deps.routing ?? new RoutingStats();
    this.#payload = deps.config.dns.maxUdpPayloadBytes;
    this.#byPlace = new ShardedMap(deps.config.dns.answerCacheEntries);
    const { version, id } = deps.config.dns.chaos;
    const chaos = new Map<string, string>();
    if (version) {
      chaos.set("version.bind", version).set("version.server", version);
    }
    if (id) chaos.set("id.server", id).set("hostname.bind", id);
    this.#chaos = chaos;
  }

  /** Number of cached templates (tests, dashboard). */
  get cachedTemplates(): number {
    return this.#cache.size;
  }

  /** Number of cached decisions: by client network, and by place (tests, dashboard). */
  get cachedDecisions(): { byClient: number; byPlace: number } {
    let byClient = 0;
    for (const m of this.#decisions.values()) byClient += m.size;
    return { byClient, byPlace: this.#byPlace.size };
  }

  /**
   * Answers one query.
   *
   * @param query A UDP payload or one TCP message (without the length prefix).
   * @param cls Set to the response's rate-limiting class (see `server/rate_limit.ts`), when
   *   given: the listener's one object, reused for every query.
   * @returns The response, or `undefined` when nothing must be sent (not a query, or too short
   *   to address a reply).
   */
  handleQuery(
    query: Uint8Array,
    client: QueryClient,
    cls?: ResponseClass,
  ): Uint8Array | undefined {
    let q: DnsQuery | undefined;
    if (cls) classify(cls, ResponseKind.Error, "", 0);
    try {
      q = parseQuery(query);
    } catch (e) {
      if (!(e instanceof DnsQueryError)) throw e;
      this.#d.stats?.record(e.rcode, client.transport, undefined);
      return bareResponse(
        query,
        e.partial,
        e.rcode,
        false,
        this.#payload,
        undefined,
      );
    }
    if (!q) return undefined;
    const limit = client.transport === "tcp"
      ? TCP_LIMIT
      : q.edns
      ? Math.min(q.edns.udpPayloadSize, this.#payload)
      : 512;
    const ecs = q.edns?.clientSubnet;
    const bare = (rcode: number, aa: boolean) => {
      this.#d.stats?.record(rcode, client.transport, ecs ? 0 : undefined);
      return bareResponse(
        query,
        q!,
        rcode,
        aa,
        this.#payload,
        ecs ? 0 : undefined,
      );
    };

    if (q.qclass === RRClass.CH) {
      return this.#chaosAnswer(query, q, client, limit, cls);
    }
    if (q.qclass !== RRClass.IN) return bare(Rcode.Refused, false);
    // No zone transfers from a GeoDNS server (answers differ by client anyway).
    if (q.qtype === RRType.AXFR || q.qtype === RRType.IXFR) {
      return bare(Rcode.Refused, false);
    }

    const found = this.#d.authority.lookup(q.name);
    if (found.kind === "refused") return bare(Rcode.Refused, false); // never recursion
    if (found.kind === "referral") {
      // DS is the parent side's data (RFC 4035 §3.1.4.1): at the cut we answer for it, and
      // hold none (NODATA), rather than refer the resolver to the child for it.
      const ds = q.qtype === RRType.DS && q.name === found.cut;
      const t = ds
        ? this.#negative(query, q, found.zone, Rcode.NoError)
        : this.#referral(query, q, found.zone, found.cut, found.node);
      if (cls) {
        classify(
          cls,
          ds ? ResponseKind.Nodata : ResponseKind.Referral,
          found.cut,
          ds ? q.qtype : 0,
        );
      }
      return this.#finish(query, q, client, limit, t, 0, Rcode.NoError);
    }
    if (found.kind !== "node") {
      const rcode = found.kind === "nxdomain" ? Rcode.NXDomain : Rcode.NoError;
      if (cls) {
        // Every name that does not exist is one flood: NXDOMAIN counts against the zone.
        if (rcode === Rcode.NXDomain) {
          classify(cls, ResponseKind.Nxdomain, found.zone.apex, 0);
        } else classify(cls, ResponseKind.Nodata, q.name, q.qtype);
      }
      return this.#finish(
        query,
        q,
        client,
        limit,
        this.#negative(query, q, found.zone, rcode),
        0,
        rcode,
      );
    }
    const { zone, node } = found;
    // Answers count against the node's name: a wildcard's for every name it covers.
    if (cls) classify(cls, ResponseKind.Answer, node.name, q.qtype);
    if (q.qtype === RRType.ANY) {
      // RFC 8482 §4.2: one synthesized HINFO instead of everything.
      return this.#finish(
        query,
        q,
        client,
        limit,
        this.#template(`H|${q.name}`, query, q, Rcode.NoError, [
          {
            type: RRType.HINFO,
            owner: QUESTION_NAME,
            ttl: 3600,
            data: { cpu: "RFC8482", os: "" },
          },
        ]),
        0,
        Rcode.NoError,
      );
    }
    if (node.records.has(RRType.CNAME) && q.qtype !== RRType.CNAME) {
      return this.#chained(query, q, client, limit, zone, node, cls);
    }
    if (node.steered && (q.qtype === RRType.A || q.qtype === RRType.AAAA)) {
      return this.#steered(query, q, client, limit, zone, node.steered, cls);
    }
    if (node.records.has(q.qtype)) {
      return this.#finish(
        query,
        q,
        client,
        limit,
        this.#static(query, q, zone, node, q.qtype),
        0,
        Rcode.NoError,
      );
    }
    if (cls) cls.kind = ResponseKind.Nodata;
    return this.#finish(
      query,
      q,
      client,
      limit,
      this.#negative(query, q, zone, Rcode.NoError),
      0,
      Rcode.NoError,
    );
  }

  /** The address decisions are made for: a public ECS subnet, else the resolver (RFC 7871 §7.1.2). */
  #clientFor(
    q: DnsQuery,
    peer: Uint8Array,
  ): { client: ClientAddress; fromEcs: boolean } {
    const ecs = q.edns?.clientSubnet;
    if (ecs && ecs.sourcePrefixLength > 0 && !isReservedIp(ecs.address)) {
      return {
        client: { bytes: ecs.address, prefixLength: ecs.sourcePrefixLength },
        fromEcs: true,
      };
    }
    return {
      client: { bytes: peer, prefixLength: peer.length * 8 },
      fromEcs: false,
    };
  }

  #finish(
    query: Uint8Array,
    q: DnsQuery,
    client: QueryClient,
    limit: number,
    template: Uint8Array,
    scopePrefix: number,
    rcode: number,
  ): Uint8Array {
    const ecs = q.edns?.clientSubnet;
    if (!this.#quiet) {
      this.#d.stats?.record(
        rcode,
        client.transport,
        ecs ? scopePrefix : undefined,
      );
    }
    return finishResponse(query, q, template, {
      limit,
      udpPayloadSize: this.#payload,
      scopePrefix,
    });
  }

  /**
   * The cached template under `key`, else one built for this query's question (its wire name,
   * lower-cased: `finishResponse` copies the client's bytes over it, so every query whose name
   * differs only in case shares it; records owned by the question name point at it).
   */
  #template(
    key: string,
    query: Uint8Array,
    q: DnsQuery,
    rcode: number,
    answers: readonly TemplateRecord[],
    authorities: readonly TemplateRecord[] = [],
    additionals: readonly TemplateRecord[] = [],
    authoritative = true,
  ): Uint8Array {
    let t = this.#cache.get(key);
    if (t) return t;
    t = encodeTemplate({
      questionName: query.subarray(HEADER_BYTES, HEADER_BYTES + q.nameBytes),
      qtype: q.qtype,
      qclass: q.qclass,
      authoritative,
      rcode,
      answers,
      authorities,
      additionals,
    });
    if (this.#cache.size >= this.#d.config.dns.answerCacheEntries) {
      this.#cache.clear();
    }
    this.#cache.set(key, t);
    return t;
  }

  #negative(
    query: Uint8Array,
    q: DnsQuery,
    zone: Zone,
    rcode: number,
  ): Uint8Array {
    // RFC 2308 §3: SOA in the authority section, TTL = min(SOA TTL, MINIMUM).
    const key = `N|${q.name}|${rcode}`;
    return this.#cache.get(key) ??
      this.#template(key, query, q, rcode, [], [this.#soa(zone)]);
  }

  /** The SOA for negative answers (RFC 2308 §3: TTL = min(SOA TTL, MINIMUM)). */
  #soa(zone: Zone): TemplateRecord {
    return { ...zone.soa, ttl: zone.negativeTtl };
  }

  /** The CNAME records of a chain (none without one); the first is owned by the question name. */
  #links(chain: CnameChain | undefined): TemplateRecord[] {
    if (!chain) return [];
    return chain.links.map((l, i) => ({
      type: RRType.CNAME,
      owner: i === 0 ? QUESTION_NAME : chain.links[i - 1]!.target,
      ttl: l.ttl,
      data: l.target,
    }));
  }

  /**
   * A name holding a CNAME, asked for another type (RFC 1034 §4.3.2 step 3a): the CNAMEs of
   * its chain inside the zone (resolved and checked for loops at load), then what the last
   * target holds for the type, as PowerDNS answers. The RCODE and the SOA are the last name's
   * (RFC 6604 §3, RFC 2308 §2.1–2.2): NXDOMAIN when it does not exist, NODATA when it holds
   * nothing of the type. A chain leaving the zone (or delegated) ends with its last CNAME.
   */
  #chained(
    query: Uint8Array,
    q: DnsQuery,
    client: QueryClient,
    limit: number,
    zone: Zone,
    node: ZoneNode,
    cls: ResponseClass | undefined,
  ): Uint8Array {
    const chain = this.#d.authority.chainOf(node)!;
    const end = chain.end;
    if (
      end?.kind === "node" && end.node.steered &&
      (q.qtype === RRType.A || q.qtype === RRType.AAAA)
    ) {
      return this.#steered(
        query,
        q,
        client,
        limit,
        zone,
        end.node.steered,
        cls,
        chain,
      );
    }
    const rcode = end?.kind === "nxdomain" ? Rcode.NXDomain : Rcode.NoError;
    if (cls && rcode === Rcode.NXDomain) {
      classify(cls, ResponseKind.Nxdomain, zone.apex, 0);
    } else if (
      cls && end !== undefined &&
      (end.kind !== "node" || !end.node.records.has(q.qtype))
    ) cls.kind = ResponseKind.Nodata;
    const key = `K|${q.name}|${q.qtype}`;
    let t = this.#cache.get(key);
    if (!t) {
      const data = end?.kind === "node"
        ? this.#records(end.name, end.node, q.qtype)
        : [];
      const negative = end !== undefined && data.length === 0;
      t = this.#template(
        key,
        query,
        q,
        rcode,
        [...this.#links(chain), ...data],
        negative ? [this.#soa(zone)] : [],
      );
    }
    return this.#finish(query, q, client, limit, t, 0, rcode);
  }

  /**
   * A referral (RFC 1034 §4.3.2 step 3b): not authoritative, no answer, the cut's NS records in
   * the authority section and the addresses we hold for them (glue) in the additional one, as
   * gdnsd and PowerDNS answer for a delegated name.
   */
  #referral(
    query: Uint8Array,
    q: DnsQuery,
    zone: Zone,
    cut: string,
    node: ZoneNode,
  ): Uint8Array {
    const key = `D|${q.name}`;
    return this.#cache.get(key) ?? this.#template(
      key,
      query,
      q,
      Rcode.NoError,
      [],
      this.#records(cut, node, RRType.NS),
      this.#glue(zone, node),
      false,
    );
  }

  #static(
    query: Uint8Array,
    q: DnsQuery,
    zone: Zone,
    node: ZoneNode,
    type: number,
  ): Uint8Array {
    const key = `R|${q.name}|${type}`;
    return this.#cache.get(key) ?? this.#template(
      key,
      query,
      q,
      Rcode.NoError,
      this.#records(QUESTION_NAME, node, type),
      [],
      type === RRType.NS ? this.#glue(zone, node) : [],
    );
  }

  #records(
    owner: string | typeof QUESTION_NAME,
    node: ZoneNode,
    type: number,
  ): TemplateRecord[] {
    return (node.records.get(type) ?? []).map((r) => ({
      type: r.type,
      owner,
      ttl: r.ttl,
      data: r.data,
    }));
  }

  /** A/AAAA of in-zone name servers (RFC 1034 §4.3.2 step 3b: glue in additional). */
  #glue(zone: Zone, node: ZoneNode): TemplateRecord[] {
    const out: TemplateRecord[] = [];
    for (const ns of node.records.get(RRType.NS) ?? []) {
      const target = zone.nodes.get(ns.data as string);
      if (!target) continue;
      out.push(
        ...this.#records(ns.data as string, target, RRType.A),
        ...this.#records(ns.data as string, target, RRType.AAAA),
      );
    }
    return out;
  }

  #chaosAnswer(
    query: Uint8Array,
    q: DnsQuery,
    client: QueryClient,
    limit: number,
    cls: ResponseClass | undefined,
  ): Uint8Array {
    const text = this.#chaos.get(q.name);
    const ecs = q.edns?.clientSubnet;
    if (
      text === undefined || (q.qtype !== RRType.TXT && q.qtype !== RRType.ANY)
    ) {
      this.#d.stats?.record(
        Rcode.Refused,
        client.transport,
        ecs ? 0 : undefined,
      );
      return bareResponse(
        query,
        q,
        Rcode.Refused,
        false,
        this.#payload,
        ecs ? 0 : undefined,
      );
    }
    if (cls) classify(cls, ResponseKind.Answer, q.name, q.qtype);
    const key = `C|${q.name}`;
    const t = this.#template(key, query, q, Rcode.NoError, [{
      type: RRType.TXT,
      class: RRClass.CH,
      owner: QUESTION_NAME,
      ttl: 0,
      data: [text],
    }]);
    return this.#finish(query, q, client, limit, t, 0, Rcode.NoError);
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
      this.#cache.clear();
      for (const c of this.#decisions.values()) c.clear();
      this.#byPlace.clear();
    }
    return family === 4 ? this.#views4 : this.#views6;
  }

  /** Runs a steered name's chain for one client (also used by the HTTP scheduler and explain). */
  decide(
    steered: SteeredName,
    qtype: "A" | "AAAA",
    client: ClientAddress,
    trace?: string[],
  ): { answer: PolicyAnswer; geo: GeoResult } {
    const geo = this.#d.geo.lookup(client.bytes);
    const answer = runChain(
      { qname: steered.owner, qtype, client, geo },
      steered.filters,
      this.views(qtype === "A" ? 4 : 6),
      steered.ttl,
      trace,
    );
    return { answer, geo };
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
  ): { answer: PolicyAnswer; geo: GeoResult } {
    if (!steered.filters.every((f) => f.locationOnly)) {
      return this.decide(steered, qtype, client);
    }
    const geo = this.#d.geo.lookup(client.bytes);
    const r = geo.record;
    const key =
      `${steered.owner}|${qtype}|${r?.latitude},${r?.longitude}|${geo.prefixLength}`;
    let answer = this.#byPlace.get(key);
    if (!answer) {
      answer = runChain(
        { qname: steered.owner, qtype, client, geo },
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
  #cachedDecision(
    steered: SteeredName,
    qtype: "A" | "AAAA",
    client: ClientAddress,
  ): CachedDecision {
    this.views(qtype === "A" ? 4 : 6); // clears the cache when edges or health changed
    const b = client.bytes;
    // IPv4 clients by a number (prefix length above the 32 address bits): no string per query.
    const key = b.length === 4
      ? client.prefixLength * 4294967296 +
        (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0)
      : `${client.prefixLength}|${formatIp(b)}`;
    const nameKey = qtype === "A" ? steered.owner : `${steered.owner}|AAAA`;
    let byClient = this.#decisions.get(nameKey);
    if (!byClient) {
      byClient = new ShardedMap(this.#d.config.dns.answerCacheEntries);
      this.#decisions.set(nameKey, byClient);
    }
    let cached = byClient.get(key);
    if (!cached) {
      const { answer, geo } = this.#decidePlaced(steered, qtype, client);
      // The first address is the edge most clients connect to; a CNAME or NODATA answer
      // routes to no edge.
      const edgeId = answer.cname || !answer.addresses.length
        ? undefined
        : answer.edgeIds[0];
      cached = {
        answer,
        route: edgeId === undefined || this.#quiet
          ? undefined
          : this.routing.route(geo, edgeId),
      };
      byClient.set(key, cached);
    }
    if (cached.route) cached.route.queries++;
    return cached;
  }

  /** The ECS scope to echo for a decision: capped by config, 0 without a usable subnet. */
  #scope(
    answer: PolicyAnswer,
    client: ClientAddress,
    fromEcs: boolean,
  ): number {
    if (!fromEcs) return 0;
    const cap = client.bytes.length === 4
      ? this.#d.config.dns.ecsMaxScopeV4
      : this.#d.config.dns.ecsMaxScopeV6;
    return Math.min(answer.scopePrefix, cap);
  }

  #steered(
    query: Uint8Array,
    q: DnsQuery,
    peer: QueryClient,
    limit: number,
    zone: Zone,
    steered: SteeredName,
    cls: ResponseClass | undefined,
    chain?: CnameChain,
  ): Uint8Array {
    const { client, fromEcs } = this.#clientFor(q, peer.address);
    const qtype = q.qtype === RRType.A ? "A" : "AAAA";
    const decision = this.#cachedDecision(steered, qtype, client);
    const answer = decision.answer;
    const scope = this.#scope(answer, client, fromEcs);
    // Reached through in-zone CNAMEs: those first, and the steered records owned by the last
    // target (the steered name, or a name its wildcard covers).
    const owner: string | typeof QUESTION_NAME = chain
      ? chain.end!.name
      : QUESTION_NAME;
    if (answer.cname) {
      const key = `SC|${q.name}|${answer.cname}|${answer.ttlSeconds}`;
      const t = this.#cache.get(key) ?? this.#template(
        key,
        query,
        q,
        Rcode.NoError,
        [
          ...this.#links(chain),
          {
            type: RRType.CNAME,
            owner,
            ttl: answer.ttlSeconds,
            data: answer.cname,
          },
        ],
      );
      return this.#finish(query, q, peer, limit, t, scope, Rcode.NoError);
    }
    if (!answer.addresses.length) {
      if (cls) cls.kind = ResponseKind.Nodata;
      const key = chain ? `KN|${q.name}|${q.qtype}` : "";
      const t = !chain
        ? this.#negative(query, q, zone, Rcode.NoError)
        : this.#cache.get(key) ?? this.#template(
          key,
          query,
          q,
          Rcode.NoError,
          this.#links(chain),
          [this.#soa(zone)],
        );
      return this.#finish(query, q, peer, limit, t, scope, Rcode.NoError);
    }
    // Built once per decision and name (the key string alone is garbage per query); names
    // reaching the decision through CNAMEs keep theirs beside it, a few at most.
    let t = chain
      ? decision.chained?.get(q.name)
      : decision.templateName === q.name
      ? decision.template
      : undefined;
    if (!t) {
      t = this.#template(
        `S|${q.name}|${qtype}|${
          answer.addresses.join(",")
        }|${answer.ttlSeconds}`,
        query,
        q,
        Rcode.NoError,
        [
          ...this.#links(chain),
          ...answer.addresses.map((a): TemplateRecord => ({
            type: q.qtype,
            owner,
            ttl: answer.ttlSeconds,
            data: a,
          })),
        ],
      );
      if (chain) {
        const chained = decision.chained ??= new Map();
        if (chained.size >= MAX_CHAINED_TEMPLATES) chained.clear();
        chained.set(q.name, t);
      } else {
        decision.template = t;
        decision.templateName = q.name;
      }
    }
    return this.#finish(query, q, peer, limit, t, scope, Rcode.NoError);
  }

  /**
   * Answers `count` made-up ECS queries for the steered names (A and AAAA, public subnets
   * spread over the address space) and forgets them again, so that a scheduler put in front
   * of full traffic starts with compiled code: on a cold runtime the first thousands of
   * queries cost ten times a warm one, and a restarted server would queue its first second
   * of traffic into milliseconds of latency. Nothing is counted. Runs before the DNS port
   * opens (`scheduler.dns.warmupQueries`).
   *
   * @param first Index of the first made-up query (so that slices of one warm-up differ).
   * @returns The queries answered.
   */
  warm(count: number, first = 0): number {
    const names: string[] = [];
    for (const z of this.#d.authority.zones) {
      for (const [name, n] of z.nodes) {
        if (n.steered) names.push(name.replace(/^\*\./, "warm."));
      }
    }
    if (!names.length || count <= 0) return 0;
    const peer: QueryClient = {
      address: new Uint8Array([127, 0, 0, 1]),
      transport: "udp",
    };
    let k = first * 4;
    const next = () => fmix32(++k); // query i always draws the same subnet
    this.#quiet = true;
    try {
      for (let i = first; i < first + count; i++) {
        const six = i % 8 === 7;
        const subnet = six
          ? `2${(next() % 0x3ff).toString(16).padStart(3, "0")}:${
            (next() & 0xffff).toString(16)
          }:${(next() & 0xff00).toString(16)}::/48`
          : `${1 + (next() % 223)}.${next() & 255}.${next() & 255}.0/24`;
        const query = encodeEcsQuery(
          names[i % names.length]!,
          six ? "AAAA" : "A",
          subnet,
          i & 0xffff,
        );
        this.handleQuery(query, peer);
      }
    } finally {
      this.#quiet = false;
      // Made-up clients would only hold cache slots real ones need.
      for (const c of this.#decisions.values()) c.clear();
      this.#byPlace.clear();
    }
    return count;
  }

  /** The first steered name of the first zone (the HTTP scheduler's default). */
  defaultSteered(): SteeredName | undefined {
    for (const z of this.#d.authority.zones) {
      for (const n of z.nodes.values()) if (n.steered) return n.steered;
    }
    return undefined;
  }

  /** Finds the steered name answering `name` (exact or wildcard). */
  steeredFor(name: string): SteeredName | undefined {
    const found = this.#d.authority.lookup(
      name.toLowerCase().replace(/\.$/, ""),
    );
    return found.kind === "node" ? found.node.steered : undefined;
  }

  /**
   * Explains what `name` answers for a client address or subnet, step by step.
   *
   * @param who `ip` (a resolver or viewer address) or `subnet` (`a.b.c.0/24`, as ECS would carry).
   * @returns `undefined` when `who` does not parse.
   */
  explain(
    name: string,
    who: string,
    qtype?: "A" | "AAAA",
  ): Explanation | string {
    const steered = name ? this.steeredFor(name) : this.defaultSteered();
    if (!steered) return `'${name}' is not a steered name`;
    const [ipText, lenText] = who.split("/");
    const ip = parseIp(ipText ?? "");
    if (!ip) return `'${who}' is not an IP address or subnet`;
    const max = ip.bytes.length * 8;
    const len = lenText === undefined ? max : Number(lenText);
    if (!Number.isInteger(len) || len < 0 || len > max) {
      return `'${who}' has a bad prefix length`;
    }
    const bytes = maskBytes(ip.bytes, len);
    const usable = len > 0 && !isReservedIp(bytes);
    const client: ClientAddress = { bytes, prefixLength: len };
    const type = qtype ?? (ip.family === 6 ? "AAAA" : "A");
    const steps: string[] = [
      usable
        ? `client ${formatIp(bytes)}/${len}`
        : `client ${
          formatIp(bytes)
        }/${len} is private, reserved or /0: a resolver's own address would be used, ECS scope 0`,
    ];
    const { answer, geo } = this.decide(steered, type, client, steps);
    const ecsScope = this.#scope(
      answer,
      client,
      usable && lenText !== undefined,
    );
    steps.push(
      answer.cname
        ? `answer: CNAME ${answer.cname}, TTL ${answer.ttlSeconds}`
        : `answer: ${answer.addresses.join(", ") || "(no address: NODATA)"} (${
          answer.edgeIds.join(", ")
        }), TTL ${answer.ttlSeconds}` +
          `${
            answer.failedOver ? " (failed over)" : ""
          }, ECS scope /${ecsScope}`,
    );
    return {
      name: steered.owner,
      qtype: type,
      client: `${formatIp(bytes)}/${len}`,
      geo,
      usedResolverAddress: !usable,
      steps,
      answer,
      ecsScope,
    };
  }
}

function classify(
  cls: ResponseClass,
  kind: ResponseKind,
  name: string,
  qtype: number,
): void {
  cls.kind = kind;
  cls.name = name;
  cls.qtype = qtype;
}

/** True when a response is truncated (for tests and servers). */
export function isTruncated(response: Uint8Array): boolean {
  return (response[2]! & Flags2.TC) !== 0;
}

/** Name of a record type number, for logs. */
export function typeName(type: number): string {
  return RR_TYPE_NAMES.get(type) ?? `TYPE${type}`;
}
