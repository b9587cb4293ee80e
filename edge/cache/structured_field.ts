/**
 * Structured Field Dictionaries (RFC 8941 §3.2, parsed per §4.2.2), the syntax of targeted
 * cache-control fields such as `CDN-Cache-Control` (RFC 9213 §2.1).
 *
 * Strict, as RFC 8941 §4.2 requires: any deviation fails the whole field (a cache then ignores
 * it, RFC 9213 §2.1), so `max-age =10`, `Max-Age=10` or a trailing comma are errors, not
 * guesses. Pure; bounded by {@link MAX_FIELD_CHARS}.
 *
 * @module
 */

import { EdgeError, EdgeErrorCode } from "../errors.ts";

/** Longest field value we parse; longer ones are refused (no CDN needs more). */
export const MAX_FIELD_CHARS = 8192;

/** A bare item (RFC 8941 §3.3); byte sequences keep their base64 text. */
export type BareItem =
  | { readonly type: "integer" | "decimal"; readonly value: number }
  | {
    readonly type: "string" | "token" | "bytes";
    readonly value: string;
  }
  | { readonly type: "boolean"; readonly value: boolean };

/** Parameters of an item or inner list, in order (RFC 8941 §3.1.2). */
export type Parameters = ReadonlyMap<string, BareItem>;

/** A dictionary member: an item or an inner list, each with parameters. */
export type Member =
  | {
    readonly kind: "item";
    readonly value: BareItem;
    readonly params: Parameters;
  }
  | {
    readonly kind: "list";
    readonly items: readonly {
      readonly value: BareItem;
      readonly params: Parameters;
    }[];
    readonly params: Parameters;
  };

const KEY_START = /[a-z*]/;
const KEY_CHAR = /[a-z0-9_\-.*]/;
const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z:/]/;
const BASE64 = /[A-Za-z0-9+/=]/;

class Reader {
  #i = 0;
  constructor(readonly text: string) {}
  get done(): boolean {
    return this.#i >= this.text.length;
  }
  peek(): string {
    return this.text[this.#i] ?? "";
  }
  take(): string {
    return this.text[this.#i++] ?? "";
  }
  skipSp(): void {
    while (this.peek() === " ") this.#i++;
  }
  skipOws(): void {
    while (this.peek() === " " || this.peek() === "\t") this.#i++;
  }
  fail(what: string): never {
    throw new EdgeError(
      EdgeErrorCode.BadStructuredField,
      `Cannot parse structured field: ${what} at offset ${this.#i}, got ${
        JSON.stringify(this.text.slice(this.#i, this.#i + 16))
      }`,
    );
  }
}

function parseKey(r: Reader): string {
  if (!KEY_START.test(r.peek())) r.fail("expected a key");
  let k = r.take();
  while (!r.done && KEY_CHAR.test(r.peek())) k += r.take();
  return k;
}

function parseNumber(r: Reader): BareItem {
  let s = "";
  if (r.peek() === "-") s += r.take();
  if (!/[0-9]/.test(r.peek())) r.fail("expected a digit");
  let decimal = false;
  while (!r.done) {
    const c = r.peek();
    if (/[0-9]/.test(c)) s += r.take();
    else if (c === "." && !decimal) {
      if (s.replace("-", "").length > 12) r.fail("decimal too long");
      decimal = true;
      s += r.take();
    } else break;
    const digits = s.replace("-", "").length;
    if (!decimal && digits > 15) r.fail("integer too long");
    if (decimal && digits > 16) r.fail("decimal too long");
  }
  if (!decimal) return { type: "integer", value: Number(s) };
  const frac = s.length - s.indexOf(".") - 1;
  if (frac < 1 || frac > 3) r.fail("decimal fraction of 1-3 digits");
  return { type: "decimal", value: Number(s) };
}

function parseString(r: Reader): BareItem {
  r.take(); // the opening quote
  let s = "";
  for (;;) {
    if (r.done) r.fail("unterminated string");
    const c = r.take();
    if (c === "\\") {
      const n = r.take();
      if (n !== '"' && n !== "\\") r.fail("bad escape");
      s += n;
    } else if (c === '"') return { type: "string", value: s };
    else if (c < " " || c > "~") r.fail("non-printable character in string");
    else s += c;
  }
}

function parseBareItem(r: Reader): BareItem {
  const c = r.peek();
  if (c === "-" || /[0-9]/.test(c)) return parseNumber(r);
  if (c === '"') return parseString(r);
  if (c === "*" || /[A-Za-z]/.test(c)) {
    let t = r.take();
    while (!r.done && TCHAR.test(r.peek())) t += r.take();
    return { type: "token", value: t };
  }
  if (c === ":") {
    r.take();
    let b = "";
    while (r.peek() !== ":") {
      if (r.done || !BASE64.test(r.peek())) r.fail("bad byte sequence");
      b += r.take();
    }
    r.take();
    return { type: "bytes", value: b };
  }
  if (c === "?") {
    r.take();
    const v = r.take();
    if (v !== "0" && v !== "1") r.fail("bad boolean");
    return { type: "boolean", value: v === "1" };
  }
  return r.fail("expected an item");
}

function parseParameters(r: Reader): Map<string, BareItem> {
  const params = new Map<string, BareItem>();
  while (r.peek() === ";") {
    r.take();
    r.skipSp();
    const k = parseKey(r);
    let v: BareItem = { type: "boolean", value: true };
    if (r.peek() === "=") {
      r.take();
      v = parseBareItem(r);
    }
    params.set(k, v);
  }
  return params;
}

function parseMember(r: Reader): Member {
  if (r.peek() !== "(") {
    const value = parseBareItem(r);
    return { kind: "item", value, params: parseParameters(r) };
  }
  r.take();
  const items: { value: BareItem; params: Parameters }[] = [];
  for (;;) {
    r.skipSp();
    if (r.peek() === ")") {
      r.take();
      return { kind: "list", items, params: parseParameters(r) };
    }
    const value = parseBareItem(r);
    items.push({ value, params: parseParameters(r) });
    if (r.peek() !== " " && r.peek() !== ")") {
      r.fail("expected a space or ) in an inner list");
    }
  }
}

/**
 * Parses a Dictionary field value (RFC 8941 §4.2.2). A repeated key keeps its last value.
 *
 * @param value The field value (several field lines joined with ", ").
 * @returns The members in order.
 * @throws {EdgeError} `EDGE_BAD_STRUCTURED_FIELD` when the value is not a Dictionary.
 *
 * @example
 * ```ts
 * import { parseDictionary } from "./structured_field.ts";
 * import assert from "node:assert/strict";
 * const d = parseDictionary("max-age=60, private, foo=(a b);x");
 * assert.deepEqual(d.get("max-age"), { kind: "item", value: { type: "integer", value: 60 }, params: new Map() });
 * assert.equal(d.get("private")?.kind, "item");
 * assert.throws(() => parseDictionary("max-age =60"));
 * ```
 */
export function parseDictionary(value: string): Map<string, Member> {
  if (value.length > MAX_FIELD_CHARS) {
    throw new EdgeError(
      EdgeErrorCode.BadStructuredField,
      `Cannot parse structured field: longer than ${MAX_FIELD_CHARS} characters, got ${value.length}`,
    );
  }
  const r = new Reader(value);
  r.skipSp();
  const out = new Map<string, Member>();
  while (!r.done) {
    const key = parseKey(r);
    let member: Member;
    if (r.peek() === "=") {
      r.take();
      member = parseMember(r);
    } else {
      member = {
        kind: "item",
        value: { type: "boolean", value: true },
        params: parseParameters(r),
      };
    }
    out.set(key, member); // RFC 8941 §4.2.2: a repeated key overwrites the earlier value
    r.skipOws();
    if (r.done) return out;
    if (r.take() !== ",") r.fail("expected a comma");
    r.skipOws();
    if (r.done) r.fail("trailing comma");
  }
  return out;
}
