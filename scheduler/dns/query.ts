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

/** Question names by wire form, direct-mapped: clients ask for the same few names. */
const NAME_SLOTS = 1024;
const nameWire: (Uint8Array | undefined)[] = new Array(NAME_SLOTS).fill(
  undefined,
);
const nameText: string[] = new Array(NAME_SLOTS).fill("");

/**
 * The text of a validated question name at `b[start..end)`: from the cache when the same bytes
 * were seen (no string built per query), else decoded (lower case, escaped) and remembered.
 */
function internName(
  b: Uint8Array,
  start: number,
  end: number,
  hash: number,
): string {
  const slot = (hash >>> 0) & (NAME_SLOTS - 1);
  const wire = nameWire[slot];
  if (wire && wire.length === end - start) {
    let same = true;
    for (let i = 0; i < wire.length; i++) {
      if (wire[i] !== b[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return nameText[slot]!;
  }
  let name = "";
  for (let p = start; b[p] !== 0;) {
    const len = b[p]!;
    if (name) name += ".";
    for (let i = p + 1; i <= p + len; i++) name += LOWER[b[i]!];
    p += len + 1;
  }
  nameWire[slot] = b.slice(start, end);
  nameText[slot] = name;
  return name;
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
  // What an error reply needs, built only when there is one (no object per good query).
  let questionEnd: number | undefined = undefined;
  let hasOpt = false;
  let udpPayloadSize = 512;
  let doBit = false;
  // Typed on the binding so that control-flow analysis knows a call never returns.
  const bad: (rcode: RcodeValue, reason: string) => never = (rcode, reason) =>
    fail(rcode, reason, {
      id,
      flags2,
      flags3,
      ...(questionEnd !== undefined ? { questionEnd } : {}),
      hasOpt,
      udpPayloadSize,
      doBit,
    });
  const opcode = (flags2 & Flags2.OPCODE_MASK) >> 3;
  // RFC 1035 §4.1.1: NOTIMP for kinds of query we do not support.
  if (opcode !== Opcode.Query) bad(Rcode.NotImp, `opcode ${opcode}`);
  // RFC 9619: QDCOUNT must be 1 for QUERY.
  if (qd !== 1) bad(Rcode.FormErr, `QDCOUNT ${qd}`);
  if (an + ns + ar > MAX_QUERY_RECORDS) {
    bad(Rcode.FormErr, "too many records in a query");
  }

  // Question name: no compression in a question (nothing precedes it to point at).
  let p = HEADER_BYTES;
  let hash = 0x811c9dc5;
  for (;;) {
    if (p >= b.length) bad(Rcode.FormErr, "truncated question name");
    const len = b[p]!;
    if (len === 0) {
      p++;
      break;
    }
    if (len > MAX_LABEL_BYTES) {
      bad(Rcode.FormErr, "compressed or extended label in question");
    }
    if (p + 1 + len > b.length) bad(Rcode.FormErr, "truncated label");
    for (let i = p; i <= p + len; i++) {
      hash = Math.imul(hash ^ b[i]!, 0x01000193);
    }
    p += len + 1;
    // RFC 1035 §2.3.4: 255 octets with the root label, which is still to come.
    if (p - HEADER_BYTES + 1 > MAX_NAME_BYTES) {
      bad(Rcode.FormErr, "question name over 255 bytes");
    }
  }
  const name = internName(b, HEADER_BYTES, p, hash);
  const nameBytes = p - HEADER_BYTES;
  if (p + 4 > b.length) bad(Rcode.FormErr, "truncated question");
  const qtype = (b[p]! << 8) | b[p + 1]!;
  const qclass = (b[p + 2]! << 8) | b[p + 3]!;
  p += 4;
  questionEnd = p;
  if (qtype === RRType.OPT) {
    bad(Rcode.FormErr, "OPT as question type");
  }

  // Answer and authority sections are unusual in a query; skip them.
  for (let i = 0; i < an + ns; i++) {
    p = skipName(b, p);
    if (p < 0 || p + 10 > b.length) {
      bad(Rcode.FormErr, "truncated record");
    }
    const rdlen = (b[p + 8]! << 8) | b[p + 9]!;
    p += 10 + rdlen;
    if (p > b.length) bad(Rcode.FormErr, "truncated rdata");
  }

  let edns: EdnsInfo | undefined;
  for (let i = 0; i < ar; i++) {
    const nameStart = p;
    p = skipName(b, p);
    if (p < 0 || p + 10 > b.length) {
      bad(Rcode.FormErr, "truncated additional record");
    }
    const type = (b[p]! << 8) | b[p + 1]!;
    const rdlen = (b[p + 8]! << 8) | b[p + 9]!;
    const rdStart = p + 10;
    const rdEnd = rdStart + rdlen;
    if (rdEnd > b.length) {
      bad(Rcode.FormErr, "truncated additional rdata");
    }
    if (type === RRType.OPT) {
      // RFC 6891 §6.1.1: one OPT, owned by the root.
      if (edns || hasOpt) {
        bad(Rcode.FormErr, "more than one OPT record");
      }
      if (p !== nameStart + 1 || b[nameStart] !== 0) {
        bad(Rcode.FormErr, "OPT owner not root");
      }
      const size = Math.max(512, (b[p + 2]! << 8) | b[p + 3]!);
      const version = b[p + 5]!;
      hasOpt = true;
      udpPayloadSize = size;
      doBit = (((b[p + 6]! << 8) | b[p + 7]!) & EDNS_DO_BIT) !== 0;
      // RFC 6891 §6.1.3: a version we do not implement gets BADVERS, options unread.
      if (version > EDNS_VERSION) {
        bad(Rcode.BadVers, `EDNS version ${version}`);
      }
      let clientSubnet: ClientSubnet | undefined;
      let o = rdStart;
      while (o < rdEnd) {
        if (o + 4 > rdEnd) {
          bad(Rcode.FormErr, "truncated EDNS option");
        }
        const code = (b[o]! << 8) | b[o + 1]!;
        const olen = (b[o + 2]! << 8) | b[o + 3]!;
        if (o + 4 + olen > rdEnd) {
          bad(Rcode.FormErr, "EDNS option past OPT rdata");
        }
        if (code === EdnsOption.ClientSubnet) {
          if (clientSubnet) {
            bad(Rcode.FormErr, "more than one ECS option");
          }
          const ecs = parseClientSubnet(b, o + 4, olen);
          if (typeof ecs === "string") {
            bad(Rcode.FormErr, `ECS: ${ecs}`);
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
    bad(Rcode.FormErr, "trailing bytes after the last record");
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
