/**
 * IP-to-ASN range tables: parsing the ip-location-db CSV (`start,end,asn,organisation`, the
 * bounds inclusive, as addresses or as decimal numbers) into sorted typed-array columns, and
 * looking an address up with one binary search.
 *
 * Pure: no `Deno.*`, no timers. File reading and reloading are in `asn.ts`.
 *
 * Layout: one `Uint32Array` of range starts and one of range ends per family, IPv4 one word
 * per bound and IPv6 four (big-endian words of the 128-bit address), plus one `Uint32Array`
 * of ASNs. Four 32-bit words rather than two `Float64`s or `BigInt`s: 183 of the shipped IPv6
 * ranges do not end on a /64 boundary, so the low half matters; a double holds only 53 exact
 * bits; and `BigInt` compares allocate on every step of the search. 412k IPv4 ranges take
 * 4.9 MB, 103k IPv6 ranges 3.7 MB.
 *
 * @module
 */

import { CodedError } from "../errors/mod.ts";

/** Most ranges kept per family (the shipped data has 412k IPv4 and 103k IPv6 rows). */
export const MAX_ASN_RANGES = 4_000_000;
/** Longest CSV line accepted (characters); the longest shipped line is under 200. */
export const MAX_ASN_LINE_CHARS = 4096;
/** Organisation names are cut to this many characters. */
export const MAX_ASN_ORG_CHARS = 128;

/** An ASN database could not be read or parsed. */
export class AsnDatabaseError extends CodedError<"ASN_DB"> {
  /** Always `AsnDatabaseError`. */
  override name = "AsnDatabaseError";
  /**
   * Makes the error; the message reads `{message}: {path} line {line}`.
   *
   * @param message What failed (the path and line are appended).
   * @param path The file, appended to the message.
   * @param line The 1-based line, when one line is at fault.
   */
  constructor(
    message: string,
    readonly path: string,
    readonly line?: number,
    options?: ErrorOptions,
  ) {
    super(
      "ASN_DB",
      `${message}: ${path}${line === undefined ? "" : ` line ${line}`}`,
      options,
    );
  }
}

/** What an ASN lookup says about one address. */
export interface AsnResult {
  /** The origin AS of the range holding the address; 0 when no range does. */
  readonly asn: number;
  /** The AS's organisation as the data names it; "" when unknown. */
  readonly org: string;
  /**
   * The shortest prefix around the address lying wholly inside its range (or inside the gap
   * between ranges when no range holds it): every address of that prefix looks up the same,
   * so a decision made from it holds for the prefix (RFC 7871 §7.2.1 SCOPE).
   */
  readonly prefixLength: number;
}

/** Anything that maps addresses to ASNs. */
export interface AsnLookup {
  /**
   * The AS holding an address, and the prefix the answer holds for.
   * @param bytes 4 or 16 bytes.
   */
  lookup(bytes: Uint8Array): AsnResult;
}

/** A growable set of range columns for one family. */
class Columns {
  readonly width: number;
  starts: Uint32Array;
  ends: Uint32Array;
  asns: Uint32Array;
  length = 0;

  constructor(width: number) {
    this.width = width;
    this.starts = new Uint32Array(1024 * width);
    this.ends = new Uint32Array(1024 * width);
    this.asns = new Uint32Array(1024);
  }

  #grow(): void {
    const grow = (a: Uint32Array) => {
      const b = new Uint32Array(a.length * 2);
      b.set(a);
      return b;
    };
    this.starts = grow(this.starts);
    this.ends = grow(this.ends);
    this.asns = grow(this.asns);
  }

  /** Appends a range (the caller keeps them sorted and disjoint). */
  push(start: Uint32Array, end: Uint32Array, asn: number): void {
    if (this.length === this.asns.length) this.#grow();
    this.starts.set(start, this.length * this.width);
    this.ends.set(end, this.length * this.width);
    this.asns[this.length++] = asn;
  }

  /** Copies of the filled part, so the table holds no slack. */
  seal(): RangeColumns {
    const w = this.width;
    return {
      width: w,
      length: this.length,
      starts: this.starts.slice(0, this.length * w),
      ends: this.ends.slice(0, this.length * w),
      asns: this.asns.slice(0, this.length),
    };
  }
}

/** The sealed ranges of one family: sorted by start, disjoint. */
export interface RangeColumns {
  /** Words per bound: 1 (IPv4) or 4 (IPv6). */
  readonly width: number;
  /** Ranges held. */
  readonly length: number;
  /** Range starts, `width` words each, ascending. */
  readonly starts: Uint32Array;
  /** Range ends (inclusive), `width` words each. */
  readonly ends: Uint32Array;
  /** The AS of each range. */
  readonly asns: Uint32Array;
}

/** Compares `a` (words at `ai`) with `b` (words at `bi`), `w` words each. */
function cmp(
  a: Uint32Array,
  ai: number,
  b: Uint32Array,
  bi: number,
  w: number,
): number {
  for (let k = 0; k < w; k++) {
    const x = a[ai + k]!;
    const y = b[bi + k]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** `v + delta` (delta ±1) in place; returns false on wrap-around. */
function step(v: Uint32Array, delta: 1 | -1): boolean {
  for (let k = v.length - 1; k >= 0; k--) {
    const x = v[k]!;
    if (delta === 1) {
      if (x !== 0xffffffff) {
        v[k] = x + 1;
        return true;
      }
      v[k] = 0;
    } else {
      if (x !== 0) {
        v[k] = x - 1;
        return true;
      }
      v[k] = 0xffffffff;
    }
  }
  return false;
}

/** Words of an address (4 or 16 bytes). */
function wordsOf(bytes: Uint8Array): Uint32Array {
  const w = new Uint32Array(bytes.length / 4);
  for (let k = 0; k < w.length; k++) {
    w[k] = ((bytes[k * 4]! << 24) | (bytes[k * 4 + 1]! << 16) |
      (bytes[k * 4 + 2]! << 8) | bytes[k * 4 + 3]!) >>> 0;
  }
  return w;
}

/**
 * The shortest prefix length `p` such that the `/p` block holding `addr` lies inside
 * `[lo, hi]` (which holds `addr`). Longer prefixes give smaller blocks, so the answer is
 * found by bisection over `p`.
 *
 * @param addr, lo, hi Words of one family (1 or 4 each).
 */
export function blockPrefix(
  addr: Uint32Array,
  lo: Uint32Array,
  hi: Uint32Array,
): number {
  const w = addr.length;
  if (w === 1) return blockPrefix4(addr[0]!, lo[0]!, hi[0]!);
  const first = new Uint32Array(w);
  const last = new Uint32Array(w);
  const fits = (p: number): boolean => {
    for (let k = 0; k < w; k++) {
      const keep = Math.max(0, Math.min(32, p - k * 32));
      const mask = keep === 0
        ? 0
        : keep === 32
        ? 0xffffffff
        : (0xffffffff << (32 - keep)) >>> 0;
      first[k] = (addr[k]! & mask) >>> 0;
      last[k] = (first[k]! | ~mask) >>> 0;
    }
    return cmp(first, 0, lo, 0, w) >= 0 && cmp(last, 0, hi, 0, w) <= 0;
  };
  let a = 0;
  let b = w * 32; // the /128 block (the address) always fits
  while (a < b) {
    const mid = (a + b) >> 1;
    if (fits(mid)) b = mid;
    else a = mid + 1;
  }
  return a;
}

/** {@link blockPrefix} for IPv4, on plain numbers. */
function blockPrefix4(addr: number, lo: number, hi: number): number {
  for (let p = 0; p < 32; p++) {
    const size = 2 ** (32 - p);
    const first = addr - (addr % size);
    if (first >= lo && first + size - 1 <= hi) return p;
  }
  return 32;
}

/** Looks `bytes` up in one family's columns. */
function lookupIn(
  cols: RangeColumns,
  bytes: Uint8Array,
): { index: number; prefixLength: number } {
  const w = cols.width;
  const addr = wordsOf(bytes);
  // The last range starting at or before the address.
  let lo = 0;
  let hi = cols.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cmp(cols.starts, mid * w, addr, 0, w) <= 0) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (found >= 0 && cmp(addr, 0, cols.ends, found * w, w) <= 0) {
    return {
      index: found,
      prefixLength: blockPrefix(
        addr,
        cols.starts.subarray(found * w, found * w + w),
        cols.ends.subarray(found * w, found * w + w),
      ),
    };
  }
  // In a gap: it runs from after the previous range to before the next one.
  const gapLo = new Uint32Array(w);
  if (found >= 0) {
    gapLo.set(cols.ends.subarray(found * w, found * w + w));
    step(gapLo, 1);
  }
  const gapHi = new Uint32Array(w).fill(0xffffffff);
  if (found + 1 < cols.length) {
    gapHi.set(cols.starts.subarray((found + 1) * w, (found + 2) * w));
    step(gapHi, -1);
  }
  return { index: -1, prefixLength: blockPrefix(addr, gapLo, gapHi) };
}

/** A sealed table of both families; {@link AsnTableBuilder.finish} makes one. */
export class AsnTable implements AsnLookup {
  /** The IPv4 ranges. */
  readonly v4: RangeColumns;
  /** The IPv6 ranges. */
  readonly v6: RangeColumns;
  readonly #orgs: ReadonlyMap<number, string>;

  /** Wraps sealed columns and the organisation names by AS. */
  constructor(
    v4: RangeColumns,
    v6: RangeColumns,
    orgs: ReadonlyMap<number, string>,
  ) {
    this.v4 = v4;
    this.v6 = v6;
    this.#orgs = orgs;
  }

  /** Ranges held, per family. */
  get size(): { v4: number; v6: number } {
    return { v4: this.v4.length, v6: this.v6.length };
  }

  /** The organisation of an AS, "" when the data names none. */
  orgOf(asn: number): string {
    return this.#orgs.get(asn) ?? "";
  }

  /** One binary search; `asn` 0 when no range holds the address. */
  lookup(bytes: Uint8Array): AsnResult {
    if (bytes.length !== 4 && bytes.length !== 16) {
      return { asn: 0, org: "", prefixLength: 0 };
    }
    const cols = bytes.length === 4 ? this.v4 : this.v6;
    const { index, prefixLength } = lookupIn(cols, bytes);
    const asn = index >= 0 ? cols.asns[index]! : 0;
    return { asn, org: asn ? this.orgOf(asn) : "", prefixLength };
  }
}

/** An empty table: every address is in no AS. */
export const EMPTY_ASN_TABLE: AsnTable = new AsnTable(
  new Columns(1).seal(),
  new Columns(4).seal(),
  new Map(),
);

/** Splits one CSV line into fields (RFC 4180 quoting: `"a, ""b"""` is `a, "b"`). */
function splitCsv(line: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (line.charCodeAt(i) === 0x22) {
      let v = "";
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return undefined;
        v += line.slice(i, q);
        if (line.charCodeAt(q + 1) === 0x22) {
          v += '"';
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      out.push(v);
      if (i === line.length) return out;
      if (line.charCodeAt(i) !== 0x2c) return undefined;
      i++;
    } else {
      const c = line.indexOf(",", i);
      if (c < 0) {
        out.push(line.slice(i));
        return out;
      }
      out.push(line.slice(i, c));
      i = c + 1;
    }
  }
}

const DECIMAL_RE = /^\d{1,39}$/;
const V4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const MAX_V6 = (1n << 128n) - 1n;

/** Parses an IPv6 address into four words (no zone, no brackets). */
function parseV6Words(text: string, out: Uint32Array): boolean {
  if (!/^[0-9a-fA-F:.]{2,45}$/.test(text)) return false;
  const halves = text.split("::");
  if (halves.length > 2) return false;
  const groups = (s: string): number[] | undefined => {
    if (s === "") return [];
    const g: number[] = [];
    const parts = s.split(":");
    for (let k = 0; k < parts.length; k++) {
      const p = parts[k]!;
      if (k === parts.length - 1 && p.includes(".")) {
        const m = V4_RE.exec(p);
        if (!m) return undefined;
        const b = m.slice(1).map(Number);
        if (b.some((x) => x > 255)) return undefined;
        g.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
        g.push(parseInt(p, 16));
      }
    }
    return g;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return false;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return false;
  const all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  for (let k = 0; k < 4; k++) {
    out[k] = ((all[k * 2]! << 16) | all[k * 2 + 1]!) >>> 0;
  }
  return true;
}

/**
 * Parses one bound into `out4` (IPv4) or `out6` (IPv6).
 * @returns The family, or 0 when `text` is no address.
 */
function parseBound(
  text: string,
  numericFamily: 4 | 6,
  out4: Uint32Array,
  out6: Uint32Array,
): 0 | 4 | 6 {
  if (DECIMAL_RE.test(text)) {
    if (numericFamily === 4) {
      const n = Number(text);
      if (n > 0xffffffff) return 0;
      out4[0] = n;
      return 4;
    }
    let v = BigInt(text);
    if (v > MAX_V6) return 0;
    for (let k = 3; k >= 0; k--) {
      out6[k] = Number(v & 0xffffffffn);
      v >>= 32n;
    }
    return 6;
  }
  const m = V4_RE.exec(text);
  if (m) {
    let n = 0;
    for (let k = 1; k <= 4; k++) {
      const b = Number(m[k]);
      if (b > 255) return 0;
      n = n * 256 + b;
    }
    out4[0] = n;
    return 4;
  }
  return parseV6Words(text, out6) ? 6 : 0;
}

/** Options of {@link AsnTableBuilder}. */
export interface AsnTableBuilderOptions {
  /** Named in errors. */
  readonly path: string;
  /**
   * The family of bounds written as bare decimal numbers (`asn-ipv4-num.csv` holds IPv4,
   * `asn-ipv6-num.csv` IPv6); bounds written as addresses say their own. @default 4
   */
  readonly numericFamily?: 4 | 6;
}

/**
 * Builds an {@link AsnTable} from CSV text fed in pieces of any size (so a caller can read a
 * file in chunks and yield between them). Rows of each family must come in ascending order of
 * start, as the ip-location-db files do; a row overlapping the one before is cut to start
 * after it (the shipped IPv4 data has one such pair), and adjacent rows of one AS merge.
 *
 * @example
 * ```ts
 * import { AsnTableBuilder } from "./asn_table.ts";
 * const b = new AsnTableBuilder({ path: "demo.csv" });
 * b.push('1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."\n2001:db8::,2001:db8:ffff');
 * b.push(":ffff:ffff:ffff:ffff:ffff,64500,Example\n");
 * const t = b.finish();
 * const r = t.lookup(new Uint8Array([1, 0, 0, 7]));
 * if (r.asn !== 13335 || r.prefixLength !== 24 || r.org !== "Cloudflare, Inc.") throw new Error("v4");
 * ```
 */
export class AsnTableBuilder {
  readonly #o: Required<AsnTableBuilderOptions>;
  readonly #v4 = new Columns(1);
  readonly #v6 = new Columns(4);
  readonly #orgs = new Map<number, string>();
  /** Last range pushed per family (start, end, asn), to check order and merge. */
  readonly #s4 = new Uint32Array(1);
  readonly #e4 = new Uint32Array(1);
  readonly #s6 = new Uint32Array(4);
  readonly #e6 = new Uint32Array(4);
  /** Scratch bounds, reused for every row (a file has hundreds of thousands). */
  readonly #scratch4a = new Uint32Array(1);
  readonly #scratch4b = new Uint32Array(1);
  readonly #scratch4c = new Uint32Array(1);
  readonly #scratch6a = new Uint32Array(4);
  readonly #scratch6b = new Uint32Array(4);
  readonly #scratch6c = new Uint32Array(4);
  #rest = "";
  #line = 0;
  #done = false;

  /** A builder for one file. */
  constructor(options: AsnTableBuilderOptions) {
    this.#o = { numericFamily: 4, ...options };
  }

  /** Lines read so far. */
  get lines(): number {
    return this.#line;
  }

  /**
   * Parses the complete lines of `text` (the rest waits for the next piece).
   * @throws {AsnDatabaseError} Naming the file and line of a bad row.
   */
  push(text: string): void {
    if (this.#done) throw new Error("AsnTableBuilder.push() after finish()");
    let from = 0;
    const all = this.#rest + text;
    for (;;) {
      const nl = all.indexOf("\n", from);
      if (nl < 0) break;
      this.#row(all.slice(from, nl));
      from = nl + 1;
    }
    this.#rest = all.slice(from);
    if (this.#rest.length > MAX_ASN_LINE_CHARS) {
      throw new AsnDatabaseError(
        `Cannot parse ASN database: line longer than ${MAX_ASN_LINE_CHARS} characters`,
        this.#o.path,
        this.#line + 1,
      );
    }
  }

  /**
   * Parses what is left and seals the table.
   * @throws {AsnDatabaseError} For a bad last row, or a file without any row.
   */
  finish(): AsnTable {
    if (this.#rest) this.#row(this.#rest);
    this.#rest = "";
    this.#done = true;
    if (this.#v4.length + this.#v6.length === 0) {
      throw new AsnDatabaseError(
        "Cannot parse ASN database: no 'start,end,asn,organisation' rows",
        this.#o.path,
      );
    }
    return new AsnTable(this.#v4.seal(), this.#v6.seal(), this.#orgs);
  }

  #bad(expected: string, got: string): never {
    throw new AsnDatabaseError(
      `Cannot parse ASN database: expected ${expected}, got ${
        JSON.stringify(got.slice(0, 80))
      }`,
      this.#o.path,
      this.#line,
    );
  }

  #row(raw: string): void {
    this.#line++;
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line === "" || line.startsWith("#")) return;
    if (line.length > MAX_ASN_LINE_CHARS) {
      this.#bad(`a line of at most ${MAX_ASN_LINE_CHARS} characters`, line);
    }
    const f = splitCsv(line);
    if (!f || f.length < 3 || f.length > 4) {
      this.#bad("'start,end,asn,organisation'", line);
    }
    const [a, b, asnText, org = ""] = f as [string, string, string, string?];
    const s4 = this.#scratch4a;
    const s6 = this.#scratch6a;
    const e4 = this.#scratch4b;
    const e6 = this.#scratch6b;
    const fa = parseBound(a.trim(), this.#o.numericFamily, s4, s6);
    const fb = parseBound(b.trim(), this.#o.numericFamily, e4, e6);
    if (fa === 0) this.#bad("an IP address or number as range start", a);
    if (fb !== fa) this.#bad(`an IPv${fa} range end`, b);
    if (!/^\d{1,10}$/.test(asnText.trim()) || Number(asnText) > 0xffffffff) {
      this.#bad("an AS number 0..4294967295", asnText);
    }
    const asn = Number(asnText);
    const w = fa === 4 ? 1 : 4;
    const start = fa === 4 ? s4 : s6;
    const end = fa === 4 ? e4 : e6;
    if (cmp(start, 0, end, 0, w) > 0) this.#bad("start <= end", line);
    const cols = fa === 4 ? this.#v4 : this.#v6;
    const prevStart = fa === 4 ? this.#s4 : this.#s6;
    const prevEnd = fa === 4 ? this.#e4 : this.#e6;
    if (cols.length) {
      if (cmp(start, 0, prevStart, 0, w) < 0) {
        this.#bad("rows in ascending order of start", line);
      }
      if (cmp(start, 0, prevEnd, 0, w) <= 0) {
        // Overlap: this row starts after the one before ends (or is covered by it).
        if (cmp(end, 0, prevEnd, 0, w) <= 0) return;
        start.set(prevEnd);
        step(start, 1);
      }
      const next = fa === 4 ? this.#scratch4c : this.#scratch6c;
      next.set(prevEnd);
      step(next, 1);
      if (
        cmp(next, 0, start, 0, w) === 0 && cols.asns[cols.length - 1] === asn
      ) {
        // Adjacent and the same AS: one range.
        cols.ends.set(end, (cols.length - 1) * w);
        prevEnd.set(end);
        return;
      }
    }
    if (cols.length >= MAX_ASN_RANGES) {
      this.#bad(`at most ${MAX_ASN_RANGES} ranges per family`, line);
    }
    cols.push(start, end, asn);
    prevStart.set(start);
    prevEnd.set(end);
    if (asn && !this.#orgs.has(asn) && org) {
      this.#orgs.set(asn, org.trim().slice(0, MAX_ASN_ORG_CHARS));
    }
  }
}
