/**
 * Response templates (RFC 1035 §4.1): header, question and records, built once per name, type
 * and decision on the slow path and finished per query by `response.ts`.
 *
 * Names are written in wire form. The question is the client's own bytes (any octet may sit in
 * a label, RFC 2181 §11), and a record owned by the question name points at it. Other names come
 * from config text (letters, digits, `-`, `_`: no escapes). Every name is compressed against the
 * names written before it (RFC 1035 §4.1.4): owners, and the names in the RDATA of NS, CNAME,
 * SOA and MX (RFC 3597 §4: the only well-known types whose RDATA may be compressed).
 *
 * Why not dns-packet here: it takes names as presentation text, so a question label holding
 * `.`, `\` or a byte outside 0x21..0x7e came back as other labels, and it does not compress
 * (the apex NS with glue was 257 bytes, PowerDNS sends 140).
 *
 * @module
 */

import { parseIp } from "../../geo/mod.ts";
import {
  Flags2,
  MAX_LABEL_BYTES,
  MAX_NAME_BYTES,
  RRClass,
  RRType,
} from "./constants.ts";
import { DnsEncodeError } from "./errors.ts";

/** A record owner that is the question's name, as the client sent it. */
export const QUESTION_NAME: unique symbol = Symbol("question name");

/** MX RDATA (RFC 1035 §3.3.9). */
export interface MxData {
  readonly preference: number;
  readonly exchange: string;
}

/** SOA RDATA (RFC 1035 §3.3.13). */
export interface SoaData {
  readonly mname: string;
  readonly rname: string;
  readonly serial: number;
  readonly refresh: number;
  readonly retry: number;
  readonly expire: number;
  readonly minimum: number;
}

/** CAA RDATA (RFC 8659 §4.1). */
export interface CaaData {
  readonly flags: number;
  readonly tag: string;
  readonly value: string;
}

/** HINFO RDATA (RFC 1035 §3.3.2; RFC 8482 §4.2 answers ANY with one). */
export interface HinfoData {
  readonly cpu: string;
  readonly os: string;
}

/**
 * A record's type and its RDATA, one shape per type: A/AAAA an address, NS/CNAME a name (text,
 * no final dot), TXT its character-strings, the rest their fields. Switching on `type` narrows
 * `data`.
 */
export type RecordData =
  | {
    readonly type: typeof RRType.A | typeof RRType.AAAA;
    readonly data: string;
  }
  | {
    readonly type: typeof RRType.NS | typeof RRType.CNAME;
    readonly data: string;
  }
  | { readonly type: typeof RRType.TXT; readonly data: readonly string[] }
  | { readonly type: typeof RRType.MX; readonly data: MxData }
  | { readonly type: typeof RRType.SOA; readonly data: SoaData }
  | { readonly type: typeof RRType.CAA; readonly data: CaaData }
  | { readonly type: typeof RRType.HINFO; readonly data: HinfoData };

/** One record of a template: its type and data, owner, class and TTL. */
export type TemplateRecord = RecordData & {
  /** A name in text (lower case, no final dot, no escapes; "" is the root), or the question's. */
  readonly owner: string | typeof QUESTION_NAME;
  /** @default RRClass.IN */
  readonly class?: number;
  readonly ttl: number;
};

/** What {@link encodeTemplate} builds. */
export interface TemplateSpec {
  /** The question name in wire form, root label included, as `parseQuery` validated it. */
  readonly questionName: Uint8Array;
  readonly qtype: number;
  readonly qclass: number;
  /** The AA bit (RFC 1035 §4.1.1): clear on referrals. */
  readonly authoritative: boolean;
  /** RCODE 0..15 (extended ones travel in OPT, which `finishResponse` adds). */
  readonly rcode: number;
  readonly answers?: readonly TemplateRecord[];
  readonly authorities?: readonly TemplateRecord[];
  readonly additionals?: readonly TemplateRecord[];
}

/** Offsets a compression pointer can reach (14 bits; RFC 1035 §4.1.4). */
const MAX_POINTER_OFFSET = 0x3fff;
const POINTER = 0xc0;

const ENCODER = new TextEncoder();

/** Bytes in a growing buffer; small, and only the slow path writes it. */
class Writer {
  #buf = new Uint8Array(512);
  length = 0;

  #room(n: number): void {
    if (this.length + n <= this.#buf.length) return;
    const next = new Uint8Array(
      Math.max(this.#buf.length * 2, this.length + n),
    );
    next.set(this.#buf.subarray(0, this.length));
    this.#buf = next;
  }

  u8(v: number): void {
    this.#room(1);
    this.#buf[this.length++] = v;
  }

  u16(v: number): void {
    this.u8((v >>> 8) & 0xff);
    this.u8(v & 0xff);
  }

  u32(v: number): void {
    this.u16((v >>> 16) & 0xffff);
    this.u16(v & 0xffff);
  }

  bytes(b: Uint8Array): void {
    this.#room(b.length);
    this.#buf.set(b, this.length);
    this.length += b.length;
  }

  setU16(at: number, v: number): void {
    this.#buf[at] = (v >>> 8) & 0xff;
    this.#buf[at + 1] = v & 0xff;
  }

  finish(): Uint8Array {
    return this.#buf.slice(0, this.length);
  }
}

function lowerCase(label: Uint8Array): Uint8Array {
  const out = label.slice();
  for (let i = 0; i < out.length; i++) {
    const c = out[i]!;
    if (c >= 0x41 && c <= 0x5a) out[i] = c + 32;
  }
  return out;
}

/** The labels of a validated wire-form name (no pointers: a question has none). */
function wireLabels(name: Uint8Array): Uint8Array[] {
  const labels: Uint8Array[] = [];
  for (let p = 0; p < name.length && name[p] !== 0; p += name[p]! + 1) {
    labels.push(lowerCase(name.subarray(p + 1, p + 1 + name[p]!)));
  }
  return labels;
}

/** The labels of a text name from config. @throws {DnsEncodeError} */
function textLabels(name: string): Uint8Array[] {
  if (name === "") return [];
  let wire = 1;
  const labels = name.split(".").map((l) => {
    const bytes = ENCODER.encode(l.toLowerCase());
    if (
      bytes.length === 0 || bytes.length > MAX_LABEL_BYTES || l.includes("\\")
    ) {
      throw new DnsEncodeError(`Cannot encode name: bad label, got '${name}'`);
    }
    wire += bytes.length + 1;
    return bytes;
  });
  if (wire > MAX_NAME_BYTES) {
    throw new DnsEncodeError(
      `Cannot encode name: over ${MAX_NAME_BYTES} octets, got '${name}'`,
    );
  }
  return labels;
}

/** Names written so far, by wire form of each suffix (lower case), for compression. */
class Names {
  readonly #at = new Map<string, number>();

  /** Writes `labels` at `w`'s end, pointing at an earlier copy of the longest known suffix. */
  write(w: Writer, labels: readonly Uint8Array[]): void {
    const keys = suffixKeys(labels);
    for (let i = 0; i < labels.length; i++) {
      const earlier = this.#at.get(keys[i]!);
      if (earlier !== undefined) {
        w.u16((POINTER << 8) | earlier);
        return;
      }
      if (w.length <= MAX_POINTER_OFFSET) this.#at.set(keys[i]!, w.length);
      w.u8(labels[i]!.length);
      w.bytes(labels[i]!);
    }
    w.u8(0);
  }
}

/** For each label index, the wire form of the name from that label on, as a map key. */
function suffixKeys(labels: readonly Uint8Array[]): string[] {
  const keys = new Array<string>(labels.length);
  let key = "";
  for (let i = labels.length - 1; i >= 0; i--) {
    key = String.fromCharCode(labels[i]!.length, ...labels[i]!) + key;
    keys[i] = key;
  }
  return keys;
}

/** Character-strings (RFC 1035 §3.3): at most 255 bytes each, longer text split. */
function characterStrings(w: Writer, texts: readonly string[]): void {
  for (const t of texts.length ? texts : [""]) {
    const b = ENCODER.encode(t);
    if (b.length === 0) w.u8(0);
    for (let i = 0; i < b.length; i += 255) {
      const part = b.subarray(i, i + 255);
      w.u8(part.length);
      w.bytes(part);
    }
  }
}

function bad(type: number, data: unknown): never {
  throw new DnsEncodeError(
    `Cannot encode RDATA of type ${type}: got ${JSON.stringify(data)}`,
  );
}

/**
 * Writes one record's RDATA. The type guarantees the shape; the values are still checked where
 * a wrong one would write a wrong answer (an address of the other family, a bad name), since
 * records come from config through code that the types do not see at run time.
 */
function rdata(w: Writer, names: Names, r: RecordData): void {
  switch (r.type) {
    case RRType.A:
    case RRType.AAAA: {
      const ip = typeof r.data === "string" ? parseIp(r.data) : undefined;
      if (!ip || ip.bytes.length !== (r.type === RRType.A ? 4 : 16)) {
        bad(r.type, r.data);
      }
      w.bytes(ip.bytes);
      return;
    }
    case RRType.NS:
    case RRType.CNAME:
      if (typeof r.data !== "string") bad(r.type, r.data);
      names.write(w, textLabels(r.data));
      return;
    case RRType.MX:
      w.u16(r.data.preference);
      names.write(w, textLabels(r.data.exchange));
      return;
    case RRType.SOA: {
      const d = r.data;
      names.write(w, textLabels(d.mname));
      names.write(w, textLabels(d.rname));
      for (const v of [d.serial, d.refresh, d.retry, d.expire, d.minimum]) {
        w.u32(v);
      }
      return;
    }
    case RRType.TXT:
      if (!Array.isArray(r.data)) bad(r.type, r.data);
      characterStrings(w, r.data);
      return;
    case RRType.CAA: {
      // RFC 8659 §4.1: flags, tag length and tag, value to the end of RDATA.
      const tag = ENCODER.encode(r.data.tag);
      w.u8(r.data.flags);
      w.u8(tag.length);
      w.bytes(tag);
      w.bytes(ENCODER.encode(r.data.value));
      return;
    }
    case RRType.HINFO:
      characterStrings(w, [r.data.cpu]);
      characterStrings(w, [r.data.os]);
      return;
    default: {
      // Unreachable for typed callers; a record of another type is refused, not guessed at.
      const other: { readonly type: number; readonly data: unknown } = r;
      bad(other.type, other.data);
    }
  }
}

/**
 * Builds a response template: ID 0, QR and AA set as asked, RD/CD clear (copied from each
 * query), ARCOUNT without OPT.
 *
 * @throws {DnsEncodeError} For a record whose data does not fit its type (config validation
 *   makes this a programming error).
 * @example
 * ```ts
 * import { encodeTemplate, QUESTION_NAME } from "./template.ts";
 * import { RRType } from "./constants.ts";
 * const t = encodeTemplate({
 *   questionName: new Uint8Array([1, 0x61, 4, 0x74, 0x65, 0x73, 0x74, 0]), // a.test.
 *   qtype: RRType.A,
 *   qclass: 1,
 *   authoritative: true,
 *   rcode: 0,
 *   answers: [{ owner: QUESTION_NAME, type: RRType.A, ttl: 30, data: "192.0.2.1" }],
 * });
 * // The answer's owner is a pointer to the question (offset 12).
 * if (t[24] !== 0xc0 || t[25] !== 12) throw new Error("not compressed");
 * ```
 */
export function encodeTemplate(spec: TemplateSpec): Uint8Array {
  const answers = spec.answers ?? [];
  const authorities = spec.authorities ?? [];
  const additionals = spec.additionals ?? [];
  const w = new Writer();
  const names = new Names();
  w.u16(0);
  w.u8(Flags2.QR | (spec.authoritative ? Flags2.AA : 0));
  w.u8(spec.rcode & 0x0f);
  w.u16(1);
  w.u16(answers.length);
  w.u16(authorities.length);
  w.u16(additionals.length);
  const question = wireLabels(spec.questionName);
  names.write(w, question);
  w.u16(spec.qtype);
  w.u16(spec.qclass);
  for (const r of [...answers, ...authorities, ...additionals]) {
    names.write(w, r.owner === QUESTION_NAME ? question : textLabels(r.owner));
    w.u16(r.type);
    w.u16(r.class ?? RRClass.IN);
    w.u32(r.ttl);
    const lengthAt = w.length;
    w.u16(0);
    rdata(w, names, r);
    w.setU16(lengthAt, w.length - lengthAt - 2);
  }
  return w.finish();
}
