/**
 * Cache keys: path plus a normalised query.
 *
 * Parameters are sorted so `?a=1&b=2` and `?b=2&a=1` share an object; access tokens and signed-URL
 * credentials are left out so every viewer of a segment shares one copy. LL-HLS blocking-reload
 * parameters (`_HLS_msn`, `_HLS_part`) stay in: they select a different playlist.
 *
 * @module
 */

/** Parameters left out of keys by default (the `edge.cache.ignoredQueryParams` default). */
export const DEFAULT_IGNORED_QUERY_PARAMS: readonly string[] = [
  "token",
  "key",
  "cred",
  "sig",
  "exp",
  "expires",
];

/**
 * Builds the cache key of a URL.
 *
 * @param url The request URL (only path and query are used).
 * @param ignored Parameter names (case-insensitive) left out of the key.
 * @returns `path` or `path?sorted-query`.
 *
 * @example
 * ```ts
 * import { cacheKey } from "./cache_key.ts";
 * import assert from "node:assert/strict";
 * assert.equal(
 *   cacheKey(new URL("http://e/live/a.m3u8?token=x&_HLS_part=1&_HLS_msn=9"), ["token"]),
 *   "/live/a.m3u8?_HLS_msn=9&_HLS_part=1",
 * );
 * ```
 */
export function cacheKey(url: URL, ignored: Iterable<string>): string {
  if (url.search.length <= 1) return url.pathname;
  const drop = ignored instanceof Set
    ? ignored as Set<string>
    : new Set([...ignored].map((s) => s.toLowerCase()));
  const kept: [string, string][] = [];
  for (const [k, v] of url.searchParams) {
    if (!drop.has(k.toLowerCase())) kept.push([k, v]);
  }
  if (kept.length === 0) return url.pathname;
  // Sort by name, then value, so repeated names are stable too.
  kept.sort((a, b) =>
    a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0
  );
  return url.pathname + "?" + new URLSearchParams(kept).toString();
}

/** A reusable key builder with the ignore set compiled once. */
export function createCacheKeyer(
  ignored: Iterable<string>,
): (url: URL) => string {
  const drop = new Set([...ignored].map((s) => s.toLowerCase()));
  return (url) => cacheKey(url, drop);
}
