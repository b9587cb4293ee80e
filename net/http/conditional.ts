/**
 * Serving a stored representation: Range (RFC 9110 §14) and conditional requests (§13).
 *
 * @module
 */

/** A satisfiable single range, inclusive bounds. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Parses a `Range` header against a representation of `size` bytes (RFC 9110 §14.1.2).
 *
 * @returns The range; `"unsatisfiable"` (answer 416); or undefined when the header is absent,
 * malformed, not in bytes, or asks for several ranges (a server may ignore Range, §14.2, and
 * we do rather than build multipart bodies).
 *
 * @example
 * ```ts
 * import { parseRange } from "./conditional.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseRange("bytes=-3", 10), { start: 7, end: 9 });
 * assert.equal(parseRange("bytes=20-", 10), "unsatisfiable");
 * ```
 */
export function parseRange(
  header: string | null,
  size: number,
): ByteRange | "unsatisfiable" | undefined {
  if (!header) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return undefined;
  const [, a, b] = m;
  if (a === "" && b === "") return undefined;
  if (a === "") {
    // Suffix range: the last N bytes.
    const n = Number(b);
    if (n === 0) return "unsatisfiable";
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  let end = b === "" ? size - 1 : Number(b);
  if (b !== "" && end < start) return undefined; // invalid: ignore (§14.1.1)
  if (start >= size) return "unsatisfiable";
  end = Math.min(end, size - 1);
  return { start, end };
}

function opaqueTag(tag: string): string {
  return tag.startsWith("W/") ? tag.slice(2) : tag;
}

/**
 * If-None-Match evaluation with the weak comparison (RFC 9110 §13.1.2).
 *
 * @example
 * ```ts
 * import { etagMatches } from "./conditional.ts";
 * if (!etagMatches('W/"a", "b"', '"a"')) throw new Error("weak match");
 * ```
 */
export function etagMatches(
  ifNoneMatch: string,
  etag: string | undefined,
): boolean {
  if (ifNoneMatch.trim() === "*") return etag !== undefined;
  if (etag === undefined) return false;
  const want = opaqueTag(etag.trim());
  return ifNoneMatch.split(",").some((t) => opaqueTag(t.trim()) === want);
}

/**
 * True when a GET/HEAD with these conditionals should get 304 (RFC 9110 §13.2.2 order:
 * If-None-Match, else If-Modified-Since).
 */
export function isNotModified(
  request: Headers,
  etag: string | undefined,
  lastModified: string | undefined,
): boolean {
  const inm = request.get("if-none-match");
  if (inm !== null) return etagMatches(inm, etag);
  const ims = request.get("if-modified-since");
  if (ims === null || lastModified === undefined) return false;
  const since = Date.parse(ims);
  const modified = Date.parse(lastModified);
  return !Number.isNaN(since) && !Number.isNaN(modified) && modified <= since;
}

/**
 * If-Range (RFC 9110 §13.1.5): the Range applies only when the validator still matches.
 * Strong comparison for entity tags.
 */
export function ifRangeAllows(
  request: Headers,
  etag: string | undefined,
  lastModified: string | undefined,
): boolean {
  const v = request.get("if-range");
  if (v === null) return true;
  const t = v.trim();
  if (t.startsWith('"') || t.startsWith("W/")) {
    return etag !== undefined && !etag.startsWith("W/") && t === etag;
  }
  return lastModified !== undefined && t === lastModified;
}

/** Fields a 304 carries from the stored response (RFC 9110 §15.4.5). */
export const NOT_MODIFIED_FIELDS = [
  "cache-control",
  "content-location",
  "date",
  "etag",
  "expires",
  "vary",
  "last-modified",
];
