/**
 * Response templates: every answer the scheduler gives, built once per (question, kind) from
 * wire-form names (`dns/template.ts`, compressed) and kept, so a query costs a copy of the
 * client's question over a cached template (`dns/response.ts`), never an encode.
 *
 * Static answers (zone records, NS with glue, referrals, negative answers with the SOA) are
 * made here; steered answers call {@link AnswerTemplates.build} with the decision's records.
 *
 * @module
 */

import { HEADER_BYTES, RRType } from "../dns/constants.ts";
import type { DnsQuery } from "../dns/query.ts";
import {
  encodeTemplate,
  QUESTION_NAME,
  type TemplateRecord,
} from "../dns/template.ts";
import {
  type CnameChain,
  targetsOf,
  type Zone,
  type ZoneNode,
} from "../zone.ts";
import { Rcode } from "../dns/constants.ts";

/** The templates of one handler, bounded by `dns.answerCacheEntries` (cleared when full). */
export class AnswerTemplates {
  readonly #cache = new Map<string, Uint8Array>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  /** Templates held. */
  get size(): number {
    return this.#cache.size;
  }

  /** The template under `key`, if built. */
  get(key: string): Uint8Array | undefined {
    return this.#cache.get(key);
  }

  /** Forgets every template (edges or health changed: steered answers are stale). */
  clear(): void {
    this.#cache.clear();
  }

  /**
   * The cached template under `key`, else one built for this query's question (its wire name,
   * lower-cased: `finishResponse` copies the client's bytes over it, so every query whose name
   * differs only in case shares it; records owned by the question name point at it).
   */
  build(
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
    if (this.#cache.size >= this.#maxEntries) this.#cache.clear();
    this.#cache.set(key, t);
    return t;
  }

  /** NXDOMAIN or NODATA: the zone's SOA in the authority section (RFC 2308 §3). */
  negative(
    query: Uint8Array,
    q: DnsQuery,
    zone: Zone,
    rcode: number,
  ): Uint8Array {
    const key = `N|${q.name}|${rcode}`;
    return this.#cache.get(key) ??
      this.build(key, query, q, rcode, [], [soaOf(zone)]);
  }

  /**
   * A referral (RFC 1034 §4.3.2 step 3b): not authoritative, no answer, the cut's NS records in
   * the authority section and the addresses we hold for them (glue) in the additional one, as
   * gdnsd and PowerDNS answer for a delegated name.
   */
  referral(
    query: Uint8Array,
    q: DnsQuery,
    zone: Zone,
    cut: string,
    node: ZoneNode,
  ): Uint8Array {
    const key = `D|${q.name}`;
    return this.#cache.get(key) ?? this.build(
      key,
      query,
      q,
      Rcode.NoError,
      [],
      recordsOf(cut, node, RRType.NS),
      glueOf(zone, node),
      false,
    );
  }

  /** The zone's own records of `type` at `node` (NS with their glue). */
  static(
    query: Uint8Array,
    q: DnsQuery,
    zone: Zone,
    node: ZoneNode,
    type: number,
  ): Uint8Array {
    const key = `R|${q.name}|${type}`;
    return this.#cache.get(key) ?? this.build(
      key,
      query,
      q,
      Rcode.NoError,
      recordsOf(QUESTION_NAME, node, type),
      [],
      type === RRType.NS ? glueOf(zone, node) : [],
    );
  }
}

/** The SOA for negative answers (RFC 2308 §3: TTL = min(SOA TTL, MINIMUM)). */
export function soaOf(zone: Zone): TemplateRecord {
  return { ...zone.soa, ttl: zone.negativeTtl };
}

/** The CNAME records of a chain (none without one); the first is owned by the question name. */
export function linksOf(chain: CnameChain | undefined): TemplateRecord[] {
  if (!chain) return [];
  return chain.links.map((l, i) => ({
    type: RRType.CNAME,
    owner: i === 0 ? QUESTION_NAME : chain.links[i - 1]!.target,
    ttl: l.ttl,
    data: l.target,
  }));
}

/** A node's records of `type`, owned by `owner`. */
export function recordsOf(
  owner: string | typeof QUESTION_NAME,
  node: ZoneNode,
  type: number,
): TemplateRecord[] {
  return (node.records.get(type) ?? []).map(({ typeName: _, ...r }) => ({
    ...r,
    owner,
  }));
}

/** A/AAAA of in-zone name servers (RFC 1034 §4.3.2 step 3b: glue in additional). */
export function glueOf(zone: Zone, node: ZoneNode): TemplateRecord[] {
  const out: TemplateRecord[] = [];
  for (const ns of targetsOf(node, RRType.NS)) {
    const target = zone.nodes.get(ns.name);
    if (!target) continue;
    out.push(
      ...recordsOf(ns.name, target, RRType.A),
      ...recordsOf(ns.name, target, RRType.AAAA),
    );
  }
  return out;
}
