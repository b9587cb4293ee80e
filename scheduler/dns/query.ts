/**
 * Hand-written DNS query parser for the hot path (RFC 1035 §4.1, RFC 6891 OPT, RFC 7871 ECS).
 *
 * Why not dns-packet here: decoding builds objects for every record and name; a query needs
 * only the header, one question and the OPT record, which this reads in place (see
 * `bench/dns_handle_bench.ts` and shared/bench/CEILINGS.md: per-query dns-packet costs ~30% of
 * the socket ceiling). Pure: bytes in, a value out or a {@link DnsQueryError}.
 *
 * @module
 */

import {
  EDNS_DO_BIT,
  EDNS_VERSION,
  EdnsOption,
  Flags2,
  HEADER_BYTES,
  MAX_LABEL_BYTES,
  MAX_NAME_BYTES,
  MAX_QUERY_RECORDS,
  Opcode,
  Rcode,
  type RcodeValue,
  RRType,
} from "./constants.ts";
import { type ClientSubnet, parseClientSubnet } from "./ecs.ts";
import { DnsQueryError, type PartialQuery } from "./errors.ts";

/** The EDNS part of a query (RFC 6891 §6.1.2). */
export interface EdnsInfo {
  /** Requestor's UDP payload size (values below 512 count as 512; §6.2.5). */
  readonly udpPayloadSize: number;
  readonly version: number;
  readonly doBit: boolean;
  readonly clientSubnet: ClientSubnet | undefined;
}

/** A well-formed query with one question. */
export interface DnsQuery {
  readonly id: number;
  /** Header byte 2 (QR, OPCODE, AA, TC, RD) and byte 3 (RA, Z, AD, CD, RCODE) as received. */
  readonly flags2: number;
  readonly flags3: number;
  /** The question name in lower case, without the final dot (`live.meridian.test`); root is "". */
  readonly name: string;
  /** Wire length of the question name (including the root label). */
  readonly nameBytes: number;
  readonly qtype: number;
  readonly qclass: number;
  /** Offset just past the question (name, type, class). */
  readonly questionEnd: number;
  readonly edns: EdnsInfo | undefined;
}

const LOWER = new Array<string>(256);
for (let i = 0; i < 256; i++) {
  const c = i >= 0x41 && i <= 0x5a ? i + 32 : i;
  // Dots and non-printables inside a label are escaped so the text form stays unambiguous.
  LOWER[i] = c === 0x2e || c === 0x5c
    ? "\\" + String.fromCharCode(c)
    : c < 0x21 || c > 0x7e
    ? "\\" + String(c).padStart(3, "0")
    : String.fromCharCode(c);
}

function fail(rcode: RcodeValue, reason: string, partial: PartialQuery): never {
  throw new DnsQueryError(rcode, reason, partial);
}

/** Skips a (possibly compressed) name; returns the offset after it, or -1 if malformed. */
function skipName(b: Uint8Array, p: number): number {
  for (let hops = 0; hops < 128; hops++) {
    if (p >= b.length) return -1;
    const len = b[p]!;
    if (len === 0) return p + 1;
    if ((len & 0xc0) === 0xc0) return p + 2 <= b.length ? p + 2 : -1;
    if (len & 0xc0) return -1; // RFC 6891 §5: extended label types are gone.
    p += len + 1;
  }
  return -1;
}

/**
 * Parses a query.
 *
 * @param b The message (a UDP datagram or one TCP frame without its length prefix).
 * @returns The query, or `undefined` for input that gets no reply at all (shorter than a header,
 *   or a response: answering responses invites loops).
 * @throws {DnsQueryError} FORMERR, NOTIMP or BADVERS, with what was read of the query.
 * @example
 * ```ts
 * import { parseQuery } from "./query.ts";
 * // id 0x1234, RD, one question: "a." A IN
 * const q = parseQuery(new Uint8Array([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0x41, 0, 0, 1, 0, 1]));
 * if (q?.name !== "a" || q.qtype !== 1) throw new Error("parse");
 * ```
 */
export function parseQuery(b: Uint8Array): DnsQuery | undefined {
  if (b.length < HEADER_BYTES) return undefined;
  const flags2 = b[2]!;
  if (flags2 & Flags2.QR) return undefined;
  const id = (b[0]! << 8) | b[1]!;
  const flags3 = b[3]!;
  const qd = (b[4]! << 8) | b[5]!;
  const an = (b[6]! << 8) | b[7]!;
  const ns = (b[8]! << 8) | b[9]!;
  const ar = (b[10]! << 8) | b[11]!;
  let partial: PartialQuery = {
    id,
    flags2,
    flags3,
    hasOpt: false,
    udpPayloadSize: 512,
    doBit: false,
  };
  const opcode = (flags2 & Flags2.OPCODE_MASK) >> 3;
  // RFC 1035 §4.1.1: NOTIMP for kinds of query we do not support.
  if (opcode !== Opcode.Query) fail(Rcode.NotImp, `opcode ${opcode}`, partial);
  // RFC 9619: QDCOUNT must be 1 for QUERY.
  if (qd !== 1) fail(Rcode.FormErr, `QDCOUNT ${qd}`, partial);
  if (an + ns + ar > MAX_QUERY_RECORDS) {
    fail(Rcode.FormErr, "too many records in a query", partial);
  }

  // Question name: no compression in a question (nothing precedes it to point at).
  let p = HEADER_BYTES;
  let name = "";
  for (;;) {
    if (p >= b.length) fail(Rcode.FormErr, "truncated question name", partial);
    const len = b[p]!;
    if (len === 0) {
      p++;
      break;
    }
    if (len > MAX_LABEL_BYTES) {
      fail(Rcode.FormErr, "compressed or extended label in question", partial);
    }
    if (p + 1 + len > b.length) fail(Rcode.FormErr, "truncated label", partial);
    if (name) name += ".";
    for (let i = p + 1; i <= p + len; i++) name += LOWER[b[i]!];
    p += len + 1;
    if (p - HEADER_BYTES > MAX_NAME_BYTES) {
      fail(Rcode.FormErr, "question name over 255 bytes", partial);
    }
  }
  const nameBytes = p - HEADER_BYTES;
  if (p + 4 > b.length) fail(Rcode.FormErr, "truncated question", partial);
  const qtype = (b[p]! << 8) | b[p + 1]!;
  const qclass = (b[p + 2]! << 8) | b[p + 3]!;
  p += 4;
  const questionEnd = p;
  partial = { ...partial, questionEnd };
  if (qtype === RRType.OPT) {
    fail(Rcode.FormErr, "OPT as question type", partial);
  }

  // Answer and authority sections are unusual in a query; skip them.
  for (let i = 0; i < an + ns; i++) {
    p = skipName(b, p);
    if (p < 0 || p + 10 > b.length) {
      fail(Rcode.FormErr, "truncated record", partial);
    }
    const rdlen = (b[p + 8]! << 8) | b[p + 9]!;
    p += 10 + rdlen;
    if (p > b.length) fail(Rcode.FormErr, "truncated rdata", partial);
  }

  let edns: EdnsInfo | undefined;
  for (let i = 0; i < ar; i++) {
    const nameStart = p;
    p = skipName(b, p);
    if (p < 0 || p + 10 > b.length) {
      fail(Rcode.FormErr, "truncated additional record", partial);
    }
    const type = (b[p]! << 8) | b[p + 1]!;
    const rdlen = (b[p + 8]! << 8) | b[p + 9]!;
    const rdStart = p + 10;
    const rdEnd = rdStart + rdlen;
    if (rdEnd > b.length) {
      fail(Rcode.FormErr, "truncated additional rdata", partial);
    }
    if (type === RRType.OPT) {
      // RFC 6891 §6.1.1: one OPT, owned by the root.
      if (edns || partial.hasOpt) {
        fail(Rcode.FormErr, "more than one OPT record", partial);
      }
      if (p !== nameStart + 1 || b[nameStart] !== 0) {
        fail(Rcode.FormErr, "OPT owner not root", partial);
      }
      const size = Math.max(512, (b[p + 2]! << 8) | b[p + 3]!);
      const version = b[p + 5]!;
      const doBit = (((b[p + 6]! << 8) | b[p + 7]!) & EDNS_DO_BIT) !== 0;
      partial = { ...partial, hasOpt: true, udpPayloadSize: size, doBit };
      // RFC 6891 §6.1.3: a version we do not implement gets BADVERS, options unread.
      if (version > EDNS_VERSION) {
        fail(Rcode.BadVers, `EDNS version ${version}`, partial);
      }
      let clientSubnet: ClientSubnet | undefined;
      let o = rdStart;
      while (o < rdEnd) {
        if (o + 4 > rdEnd) {
          fail(Rcode.FormErr, "truncated EDNS option", partial);
        }
        const code = (b[o]! << 8) | b[o + 1]!;
        const olen = (b[o + 2]! << 8) | b[o + 3]!;
        if (o + 4 + olen > rdEnd) {
          fail(Rcode.FormErr, "EDNS option past OPT rdata", partial);
        }
        if (code === EdnsOption.ClientSubnet) {
          if (clientSubnet) {
            fail(Rcode.FormErr, "more than one ECS option", partial);
          }
          const ecs = parseClientSubnet(b.subarray(o + 4, o + 4 + olen));
          if (typeof ecs === "string") {
            fail(Rcode.FormErr, `ECS: ${ecs}`, partial);
          }
          clientSubnet = ecs;
        }
        o += 4 + olen;
      }
      edns = { udpPayloadSize: size, version, doBit, clientSubnet };
    }
    p = rdEnd;
  }
  if (p !== b.length) {
    fail(Rcode.FormErr, "trailing bytes after the last record", partial);
  }
  return {
    id,
    flags2,
    flags3,
    name,
    nameBytes,
    qtype,
    qclass,
    questionEnd,
    edns,
  };
}
