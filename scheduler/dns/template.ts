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

/** RDATA by type: A/AAAA an address, NS/CNAME a name, TXT strings, the rest their fields. */
export type RecordData =
  | string
  | readonly string[]
  | {
    readonly preference: number;
    readonly exchange: string;
  }
  | {
    readonly mname: string;
    readonly rname: string;
    readonly serial: number;
    readonly refresh: number;
    readonly retry: number;
    readonly expire: number;
    readonly minimum: number;
  }
  | { readonly flags: number; readonly tag: string; readonly value: string }
  | { readonly cpu: string; readonly os: string };

/** One record of a template. */
export interface TemplateRecord {
  /** A name in text (lower case, no final dot, no escapes; "" is the root), or the question's. */
  readonly owner: string | typeof QUESTION_NAME;
  /** An {@link RRType} value. */
  readonly type: number;
  /** @default RRClass.IN */
  readonly class?: number;
  readonly ttl: number;
  readonly data: RecordData;
}

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

function rdata(
  w: Writer,
  names: Names,
  type: number,
  data: RecordData,
): void {
  // deno-lint-ignore no-explicit-any
  const d = data as any;
  switch (type) {
    case RRType.A:
    case RRType.AAAA: {
      const ip = typeof d === "string" ? parseIp(d) : undefined;
      if (!ip || ip.bytes.length !== (type === RRType.A ? 4 : 16)) {
        bad(type, data);
      }
      w.bytes(ip.bytes);
      return;
    }
    case RRType.NS:
    case RRType.CNAME:
      if (typeof d !== "string") bad(type, data);
      names.write(w, textLabels(d));
      return;
    case RRType.MX:
      w.u16(d.preference);
      names.write(w, textLabels(d.exchange));
      return;
    case RRType.SOA:
      names.write(w, textLabels(d.mname));
      names.write(w, textLabels(d.rname));
      for (const f of ["serial", "refresh", "retry", "expire", "minimum"]) {
        w.u32(d[f]);
      }
      return;
    case RRType.TXT:
      if (!Array.isArray(d)) bad(type, data);
      characterStrings(w, d);
      return;
    case RRType.CAA: {
      // RFC 8659 §4.1: flags, tag length and tag, value to the end of RDATA.
      const tag = ENCODER.encode(d.tag);
      w.u8(d.flags);
      w.u8(tag.length);
      w.bytes(tag);
      w.bytes(ENCODER.encode(d.value));
      return;
    }
    case RRType.HINFO:
      characterStrings(w, [d.cpu]);
      characterStrings(w, [d.os]);
      return;
    default:
      bad(type, data);
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
    rdata(w, names, r.type, r.data);
    w.setU16(lengthAt, w.length - lengthAt - 2);
  }
  return w.finish();
}
