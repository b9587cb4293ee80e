/**
 * Finishing responses on the hot path: a precomputed template (header, question, records) is
 * copied, and only ID, flags, the question's letter case and the OPT record (with the ECS echo)
 * are written per query. Error replies are built straight from the query bytes.
 *
 * @module
 */

import {
  EDNS_DO_BIT,
  EdnsOption,
  Flags2,
  Flags3,
  HEADER_BYTES,
  RRType,
} from "./constants.ts";
import { type ClientSubnet, ecsDataBytes } from "./ecs.ts";
import type { PartialQuery } from "./errors.ts";
import type { DnsQuery } from "./query.ts";

/** OPT record bytes without options: root name, TYPE, CLASS, TTL, RDLENGTH (RFC 6891 §6.1.2). */
const OPT_FIXED_BYTES = 11;

/** Per-response settings the template does not hold. */
export interface FinishOptions {
  /** Largest message allowed (UDP payload limit, or 65535 over TCP). */
  readonly limit: number;
  /** Our advertised UDP payload size in the OPT CLASS field. */
  readonly udpPayloadSize: number;
  /** ECS SCOPE PREFIX-LENGTH to echo; ignored when the query had no ECS. */
  readonly scopePrefix: number;
}

function optBytes(q: DnsQuery | PartialQuery, withEcs: boolean): number {
  const ecs = withEcs && "edns" in q ? q.edns?.clientSubnet : undefined;
  return OPT_FIXED_BYTES + (ecs ? 4 + ecsDataBytes(ecs) : 0);
}

function writeOpt(
  out: Uint8Array,
  at: number,
  udpPayloadSize: number,
  extRcode: number,
  doBit: boolean,
  ecs: ClientSubnet | undefined,
  scope: number,
): void {
  out[at] = 0; // root owner
  out[at + 1] = 0;
  out[at + 2] = RRType.OPT;
  out[at + 3] = udpPayloadSize >> 8;
  out[at + 4] = udpPayloadSize & 0xff;
  out[at + 5] = extRcode; // upper 8 bits of the 12-bit RCODE
  out[at + 6] = 0; // version 0
  // RFC 3225 §3: the DO bit is copied into the response.
  out[at + 7] = doBit ? EDNS_DO_BIT >> 8 : 0;
  out[at + 8] = 0;
  const data = ecs ? ecsDataBytes(ecs) : 0;
  const rdlen = ecs ? 4 + data : 0;
  out[at + 9] = rdlen >> 8;
  out[at + 10] = rdlen & 0xff;
  if (ecs) {
    out[at + 11] = 0;
    out[at + 12] = EdnsOption.ClientSubnet;
    out[at + 13] = data >> 8;
    out[at + 14] = data & 0xff;
    // RFC 7871 §7.2.1: FAMILY, SOURCE PREFIX-LENGTH and ADDRESS as in the query (which §6
    // allows in exactly one form); SCOPE PREFIX-LENGTH set by us.
    out[at + 15] = 0;
    out[at + 16] = ecs.family;
    out[at + 17] = ecs.sourcePrefixLength;
    out[at + 18] = scope;
    for (let i = 0; i < data - 4; i++) out[at + 19 + i] = ecs.address[i]!;
  }
}

/**
 * Completes a response from a template built for the same (lower-case) question.
 *
 * @param query The query bytes (its question is copied over the template's to keep the
 *   letter case the client sent, which 0x20-randomizing resolvers check).
 * @param q The parsed query.
 * @param template Header + question + records, counts set, ARCOUNT without OPT.
 */
export function finishResponse(
  query: Uint8Array,
  q: DnsQuery,
  template: Uint8Array,
  options: FinishOptions,
): Uint8Array {
  const edns = q.edns;
  const ecs = edns?.clientSubnet;
  const opt = edns ? optBytes(q, true) : 0;
  let out: Uint8Array;
  if (template.length + opt <= options.limit) {
    out = new Uint8Array(template.length + opt);
    out.set(template);
    // The question as sent (a loop: a subarray view would be garbage per query).
    for (let i = HEADER_BYTES; i < q.questionEnd; i++) out[i] = query[i]!;
    out[2] = template[2]! | (q.flags2 & Flags2.RD);
    if (edns) {
      const ar = ((template[10]! << 8) | template[11]!) + 1;
      out[10] = ar >> 8;
      out[11] = ar & 0xff;
    }
  } else {
    // RFC 2181 §9 / RFC 6891 §7: over the limit, send the header and question with TC set
    // (and the OPT record), so the client retries over TCP.
    out = new Uint8Array(q.questionEnd + opt);
    out.set(query.subarray(0, q.questionEnd));
    out[2] = template[2]! | (q.flags2 & Flags2.RD) | Flags2.TC;
    out[6] =
      out[7] =
      out[8] =
      out[9] =
      out[10] =
        0;
    out[11] = edns ? 1 : 0;
  }
  out[0] = query[0]!;
  out[1] = query[1]!;
  // RA stays clear: we never recurse. CD is copied (RFC 6840 §5.9).
  out[3] = template[3]! | (q.flags3 & Flags3.CD);
  if (edns) {
    writeOpt(
      out,
      out.length - opt,
      options.udpPayloadSize,
      0,
      edns.doBit,
      ecs,
      options.scopePrefix,
    );
  }
  return out;
}

/**
 * Builds a response with no records: the header, the question when it was read, and OPT when
 * the query had one. For REFUSED, NXDOMAIN-free errors, FORMERR, NOTIMP and BADVERS.
 *
 * @param rcode Full RCODE; values above 15 go into the OPT extended RCODE (RFC 6891 §6.1.3).
 * @param ecsScope Scope to echo in ECS (when the query had a valid one), or `undefined` for none.
 */
export function bareResponse(
  query: Uint8Array,
  q: DnsQuery | PartialQuery,
  rcode: number,
  authoritative: boolean,
  udpPayloadSize: number,
  ecsScope: number | undefined,
): Uint8Array {
  const questionEnd = q.questionEnd ?? HEADER_BYTES;
  const hasOpt = "edns" in q ? q.edns !== undefined : q.hasOpt;
  const ecs = ecsScope !== undefined && "edns" in q
    ? q.edns?.clientSubnet
    : undefined;
  const opt = hasOpt ? OPT_FIXED_BYTES + (ecs ? 4 + ecsDataBytes(ecs) : 0) : 0;
  const out = new Uint8Array(questionEnd + opt);
  out.set(query.subarray(0, questionEnd));
  out[2] = Flags2.QR | (q.flags2 & (Flags2.OPCODE_MASK | Flags2.RD)) |
    (authoritative ? Flags2.AA : 0);
  out[3] = (q.flags3 & Flags3.CD) | (rcode & 0x0f);
  out[4] = 0;
  out[5] = q.questionEnd !== undefined ? 1 : 0;
  out[6] =
    out[7] =
    out[8] =
    out[9] =
    out[10] =
      0;
  out[11] = hasOpt ? 1 : 0;
  if (hasOpt) {
    const doBit = "edns" in q ? q.edns!.doBit : q.doBit;
    writeOpt(
      out,
      questionEnd,
      udpPayloadSize,
      rcode >> 4,
      doBit,
      ecs,
      ecsScope ?? 0,
    );
  }
  return out;
}
