/**
 * The DNS answering core: `handleQuery(bytes, client) → bytes`, no sockets. Parses the query by
 * hand, dispatches (zone lookup: refused, referral, negative, CHAOS, static, CNAME chain,
 * steered) and finishes a precomputed template. The pieces: `templates.ts` (built once per
 * question and kind, static answers), `decisions.ts` (steered names' cached decisions),
 * `chaos.ts`, `explain.ts`.
 *
 * @module
 */

import type { SchedulerConfig } from "../../config/scheduler_schema.ts";
import {
  fmix32,
  formatIp,
  type GeoLookup,
  type GeoResult,
  isReservedIp,
} from "../../geo/mod.ts";
import type { DnsAccessRecord } from "../../log/access/mod.ts";
import {
  Flags2,
  Rcode,
  RR_TYPE_NAMES,
  RRClass,
  RRType,
} from "../dns/constants.ts";
import { DnsQueryError } from "../dns/errors.ts";
import { encodeEcsQuery } from "../dns/packet.ts";
import { type DnsQuery, parseQuery } from "../dns/query.ts";
import { bareResponse, finishResponse } from "../dns/response.ts";
import { QUESTION_NAME, type TemplateRecord } from "../dns/template.ts";
import type { EdgeSource } from "../edges.ts";
import type { HealthSnapshot } from "../health/monitor.ts";
import type { NetworkDirectory } from "../networks.ts";
import type { PolicyAnswer } from "../policy/chain.ts";
import type { ClientAddress, EdgeView } from "../policy/types.ts";
import { RoutingStats } from "../routing_stats.ts";
import { type ResponseClass, ResponseKind } from "../server/rate_limit.ts";
import {
  DNS_LATENCY_SAMPLE_EVERY,
  type DnsStats,
  rcodeLabel,
} from "../stats.ts";
import type {
  Authority,
  CnameChain,
  SteeredName,
  Zone,
  ZoneNode,
} from "../zone.ts";
import { streamKey } from "../../store/mod.ts";
import { chaosNames, chaosRecord } from "./chaos.ts";
import { chainNeeds, Decisions } from "./decisions.ts";
import { explainAnswer, type Explanation } from "./explain.ts";
import { AnswerTemplates, linksOf, recordsOf, soaOf } from "./templates.ts";

export type { Explanation } from "./explain.ts";

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
  /** Carriers and the ASN lookup (`isp_match`); without it, no client network is known. */
  readonly networks?: NetworkDirectory;
  /**
   * The access log's sample of queries: every `every`-th query is told to `record` (with its
   * answer time). Without it no query is sampled.
   */
  readonly sample?: {
    readonly every: number;
    readonly record: (r: DnsAccessRecord) => void;
  };
}

/** Templates kept per decision for names reaching it through CNAMEs (a wildcard CNAME has many). */
const MAX_CHAINED_TEMPLATES = 16;

const TCP_LIMIT = 65535;

/** Per-stream DNS names whose stream key is remembered (cleared when full). */
const MAX_STREAM_NAMES = 4096;

/**
 * Networks the warm-up draws its made-up clients from (a /16 and an IPv6 /32 per entry, in
 * different regions): IPv4 `[a, b]` and an IPv6 prefix.
 */
const WARM_NETWORKS: readonly (readonly [number, number, string])[] = [
  [81, 2, "2a02:c7f"], // Europe
  [8, 8, "2001:4860"], // North America
  [1, 1, "2406:da14"], // Asia-Pacific
  [177, 12, "2804:14c"], // South America
  [41, 203, "2c0f:f248"], // Africa
  [203, 208, "2001:df0"], // Oceania
  [91, 198, "2a00:1450"], // Europe
  [114, 114, "240e:e9"], // China
];

/** Answers DNS queries for an {@link Authority}. */
export class DnsHandler {
  readonly #d: DnsHandlerDeps;
  readonly #templates: AnswerTemplates;
  readonly #decisions: Decisions;
  readonly #payload: number;
  readonly #chaos: ReadonlyMap<string, string>;
  readonly #streamNames = new Map<string, string | undefined>();
  /** Queries left until the next timed one (answer latency). */
  #untilTimed = DNS_LATENCY_SAMPLE_EVERY;
  /** Queries left until the next one sampled for the access log. */
  #untilLogged: number;
  /** The query being answered, once parsed (for the access log sample). */
  #lastQuery: DnsQuery | undefined;
  /** Steered answers by client region and (first) edge, for the dashboard. */
  readonly routing: RoutingStats;

  constructor(deps: DnsHandlerDeps) {
    this.#d = deps;
    this.routing = deps.routing ?? new RoutingStats();
    this.#payload = deps.config.dns.maxUdpPayloadBytes;
    const templates = new AnswerTemplates(deps.config.dns.answerCacheEntries);
    this.#templates = templates;
    this.#decisions = new Decisions({
      geo: deps.geo,
      edges: deps.edges,
      health: deps.health,
      config: deps.config,
      routing: this.routing,
      ...(deps.networks ? { networks: deps.networks } : {}),
      ...(deps.stats
        ? { edgeAnswers: (id: string) => deps.stats!.edgeCounter(id) }
        : {}),
      onStale: () => templates.clear(),
    });
    this.#chaos = chaosNames(deps.config.dns.chaos);
    this.#untilLogged = deps.sample?.every ?? Infinity;
  }

  /** Number of cached templates (tests, dashboard). */
  get cachedTemplates(): number {
    return this.#templates.size;
  }

  /** Number of cached decisions: by client network, and by place (tests, dashboard). */
  get cachedDecisions(): { byClient: number; byPlace: number } {
    return this.#decisions.sizes;
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
    const logged = --this.#untilLogged <= 0;
    if (--this.#untilTimed > 0 && !logged) {
      return this.#answer(query, client, cls);
    }
    // One query in DNS_LATENCY_SAMPLE_EVERY (and each one sampled for the access log) is timed.
    const t0 = performance.now();
    const res = this.#answer(query, client, cls);
    const seconds = (performance.now() - t0) / 1000;
    if (this.#untilTimed <= 0) {
      this.#untilTimed = DNS_LATENCY_SAMPLE_EVERY;
      this.#d.stats?.observeLatency(seconds);
    }
    if (logged) {
      this.#untilLogged = this.#d.sample!.every;
      this.#logSample(client, res, seconds);
    }
    return res;
  }

  #logSample(
    client: QueryClient,
    res: Uint8Array | undefined,
    seconds: number,
  ): void {
    if (!res || res.byteLength < 12) return;
    const q = this.#lastQuery;
    const ecs = q?.edns?.clientSubnet;
    this.#d.sample!.record({
      time: Date.now(),
      client: formatIp(client.address),
      transport: client.transport,
      qname: q ? `${q.name}.` : "",
      qtype: q ? RR_TYPE_NAMES.get(q.qtype) ?? `TYPE${q.qtype}` : "",
      rcode: rcodeLabel(res[3]! & 0x0f),
      ecs: ecs
        ? `${formatIp(ecs.address)}/${ecs.sourcePrefixLength}`
        : undefined,
      answers: (res[6]! << 8) | res[7]!,
      durationSeconds: seconds,
    });
  }

  #answer(
    query: Uint8Array,
    client: QueryClient,
    cls: ResponseClass | undefined,
  ): Uint8Array | undefined {
    let q: DnsQuery | undefined;
    this.#lastQuery = undefined;
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
    this.#lastQuery = q;
    const limit = client.transport === "tcp"
      ? TCP_LIMIT
      : q.edns
      ? Math.min(q.edns.udpPayloadSize, this.#payload)
      : 512;
    const ecs = q.edns?.clientSubnet;
    const bare = (rcode: number, aa: boolean) => {
      this.#d.stats?.record(
        rcode,
        client.transport,
        ecs ? 0 : undefined,
        q!.qtype,
      );
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
        ? this.#templates.negative(query, q, found.zone, Rcode.NoError)
        : this.#templates.referral(query, q, found.zone, found.cut, found.node);
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
        this.#templates.negative(query, q, found.zone, rcode),
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
        this.#templates.build(`H|${q.name}`, query, q, Rcode.NoError, [
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
        this.#templates.static(query, q, zone, node, q.qtype),
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
      this.#templates.negative(query, q, zone, Rcode.NoError),
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
    if (!this.#decisions.quiet) {
      this.#d.stats?.record(
        rcode,
        client.transport,
        ecs ? scopePrefix : undefined,
        q.qtype,
      );
    }
    return finishResponse(query, q, template, {
      limit,
      udpPayloadSize: this.#payload,
      scopePrefix,
    });
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
    let t = this.#templates.get(key);
    if (!t) {
      const data = end?.kind === "node"
        ? recordsOf(end.name, end.node, q.qtype)
        : [];
      const negative = end !== undefined && data.length === 0;
      t = this.#templates.build(
        key,
        query,
        q,
        rcode,
        [...linksOf(chain), ...data],
        negative ? [soaOf(zone)] : [],
      );
    }
    return this.#finish(query, q, client, limit, t, 0, rcode);
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
        q.qtype,
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
    const t = this.#templates.build(key, query, q, Rcode.NoError, [
      chaosRecord(text),
    ]);
    return this.#finish(query, q, client, limit, t, 0, Rcode.NoError);
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
    const stream = chainNeeds(steered).stream
      ? this.#streamOf(q.name, steered.owner)
      : undefined;
    const decision = this.#decisions.cached(steered, qtype, client, stream);
    const answer = decision.answer;
    const scope = this.#decisions.scope(answer, client, fromEcs);
    // Reached through in-zone CNAMEs: those first, and the steered records owned by the last
    // target (the steered name, or a name its wildcard covers).
    const owner: string | typeof QUESTION_NAME = chain
      ? chain.end!.name
      : QUESTION_NAME;
    if (answer.cname) {
      const key = `SC|${q.name}|${answer.cname}|${answer.ttlSeconds}`;
      const t = this.#templates.get(key) ?? this.#templates.build(
        key,
        query,
        q,
        Rcode.NoError,
        [
          ...linksOf(chain),
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
        ? this.#templates.negative(query, q, zone, Rcode.NoError)
        : this.#templates.get(key) ?? this.#templates.build(
          key,
          query,
          q,
          Rcode.NoError,
          linksOf(chain),
          [soaOf(zone)],
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
      t = this.#templates.build(
        `S|${q.name}|${qtype}|${
          answer.addresses.join(",")
        }|${answer.ttlSeconds}`,
        query,
        q,
        Rcode.NoError,
        [
          ...linksOf(chain),
          ...answer.addresses.map((a): TemplateRecord => ({
            type: qtype === "A" ? RRType.A : RRType.AAAA,
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

  /** {@link streamOfName}, remembered for the last few thousand names (hashed per query otherwise). */
  #streamOf(name: string, owner: string): string | undefined {
    // A question name always leads to the same steered owner: the name alone is the key.
    const known = this.#streamNames.get(name);
    if (known !== undefined || this.#streamNames.has(name)) return known;
    if (this.#streamNames.size >= MAX_STREAM_NAMES) this.#streamNames.clear();
    const key = streamOfName(name, owner);
    this.#streamNames.set(name, key);
    return key;
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
    this.#decisions.quiet = true;
    try {
      for (let i = first; i < first + count; i++) {
        const six = i % 8 === 7;
        // Distinct subnets of a few networks only: every lookup is new (the cold path gets
        // compiled) but they share the geo database's pages, so a mapped database is not
        // paged in whole by made-up clients (BENCHMARKS.md, "Footprint").
        const net = WARM_NETWORKS[next() % WARM_NETWORKS.length]!;
        const subnet = six
          ? `${net[2]}:${(next() & 0xff00).toString(16)}::/48`
          : `${net[0]}.${net[1]}.${next() & 255}.0/24`;
        const query = encodeEcsQuery(
          names[i % names.length]!,
          six ? "AAAA" : "A",
          subnet,
          i & 0xffff,
        );
        this.#answer(query, peer, undefined); // not timed, not sampled
      }
    } finally {
      this.#decisions.quiet = false;
      // Made-up clients would only hold cache slots real ones need.
      this.#decisions.clear();
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
   * @returns Why not, when `name` is not steered or `who` does not parse.
   */
  explain(
    name: string,
    who: string,
    qtype?: "A" | "AAAA",
    stream?: string,
  ): Explanation | string {
    const steered = name ? this.steeredFor(name) : this.defaultSteered();
    if (!steered) return `'${name}' is not a steered name`;
    const key = stream ??
      (name
        ? streamOfName(name.toLowerCase().replace(/\.$/, ""), steered.owner)
        : undefined);
    return explainAnswer(this.#decisions, steered, who, qtype, key);
  }

  /** Edge views for a family (the HTTP scheduler and the dashboard read them). */
  views(family: 4 | 6): readonly EdgeView[] {
    return this.#decisions.views(family);
  }

  /**
   * Runs a steered name's chain for one client (the HTTP scheduler).
   * @param stream The key of the live stream asked for (`store/stream_key.ts`), if any.
   */
  decide(
    steered: SteeredName,
    qtype: "A" | "AAAA",
    client: ClientAddress,
    trace?: string[],
    stream?: string,
  ): { answer: PolicyAnswer; geo: GeoResult } {
    return this.#decisions.decide(steered, qtype, client, trace, stream);
  }
}

/**
 * The stream a per-stream DNS name asks for: `{stream}.{app}.` right below a wildcard owner
 * (`demo.live.` under `*.live.example.net`). @returns Its key, or `undefined` for any other
 * name (one label, more than two, or a non-wildcard owner).
 */
export function streamOfName(name: string, owner: string): string | undefined {
  if (!owner.startsWith("*.")) return undefined;
  const base = owner.slice(1); // ".live.example.net"
  if (!name.endsWith(base) || name.length <= base.length) return undefined;
  const labels = name.slice(0, name.length - base.length);
  const dot = labels.indexOf(".");
  if (dot <= 0 || dot === labels.length - 1 || labels.includes(".", dot + 1)) {
    return undefined;
  }
  return streamKey(labels.slice(dot + 1), labels.slice(0, dot));
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
