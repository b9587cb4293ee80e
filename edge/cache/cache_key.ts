/**
 * Cache keys, and the origin request that goes with each: path plus a normalised query.
 *
 * Parameter names are sorted so `?a=1&b=2` and `?b=2&a=1` share an object; the values of a
 * repeated name keep their order (`?a=1&a=2` is not `?a=2&a=1`: an origin may read the first
 * or the last). The query is decoded and re-encoded as `application/x-www-form-urlencoded`,
 * so `+` and `%20`, `%` and `%25`, `;` and `%3B`, `?a` and `?a=` share a key — and the origin is
 * sent exactly that normalised query, never the viewer's raw one: what is keyed is what is
 * fetched, so no spelling of a URL can put another spelling's body in the cache.
 *
 * Access tokens and signed-URL credentials (the ignored parameters) are left out of keys so
 * every viewer of a segment shares one copy. The origin still needs them for its access check,
 * so they are appended to the origin request; an answer to such a request is shared only when
 * the origin marks it protected (`X-Meridian-Access`: the same body for every viewer it admits,
 * each checked by the edge), see `middleware/cache.ts`. LL-HLS blocking-reload parameters
 * (`_HLS_msn`, `_HLS_part`) stay in: they select a different playlist.
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

/** One request as the cache and the origin see it. */
export interface KeyedRequest {
  /** The cache key: `path` or `path?normalised-query` without the ignored parameters. */
  readonly key: string;
  /** The path and query to fetch: the key, then the ignored parameters in their order. */
  readonly upstreamPath: string;
  /** The request carried ignored parameters (credentials the origin may act on). */
  readonly credentialed: boolean;
}

/**
 * Builds the cache key and the origin request of a URL.
 *
 * @param url The request URL (only path and query are used).
 * @param ignored Parameter names, lower case, left out of the key.
 * @returns Key, upstream path and whether ignored parameters were present.
 *
 * @example
 * ```ts
 * import { keyRequest } from "./cache_key.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(
 *   keyRequest(new URL("http://e/s.ts?b=1;x&a=%20&a&cred=C.1"), new Set(["cred"])),
 *   { key: "/s.ts?a=+&a=&b=1%3Bx", upstreamPath: "/s.ts?a=+&a=&b=1%3Bx&cred=C.1", credentialed: true },
 * );
 * ```
 */
export function keyRequest(
  url: URL,
  ignored: ReadonlySet<string>,
): KeyedRequest {
  const path = url.pathname;
  if (url.search.length <= 1) {
    return { key: path, upstreamPath: path, credentialed: false };
  }
  const kept: [string, string][] = [];
  const dropped: [string, string][] = [];
  for (const p of url.searchParams) {
    (ignored.has(p[0].toLowerCase()) ? dropped : kept).push(p);
  }
  // Stable sort by name only: a repeated name's values keep their order.
  kept.sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  const key = kept.length === 0
    ? path
    : `${path}?${new URLSearchParams(kept).toString()}`;
  if (dropped.length === 0) {
    return { key, upstreamPath: key, credentialed: false };
  }
  const extra = new URLSearchParams(dropped).toString();
  return {
    key,
    upstreamPath: `${key}${kept.length === 0 ? "?" : "&"}${extra}`,
    credentialed: true,
  };
}

/**
 * Builds the cache key of a URL.
 *
 * @param url The request URL (only path and query are used).
 * @param ignored Parameter names (case-insensitive) left out of the key.
 * @returns `path` or `path?normalised-query`.
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
  return keyRequest(url, lowerSet(ignored)).key;
}

function lowerSet(ignored: Iterable<string>): ReadonlySet<string> {
  return new Set([...ignored].map((s) => s.toLowerCase()));
}

/** A reusable key builder with the ignore set compiled once. */
export function createCacheKeyer(
  ignored: Iterable<string>,
): (url: URL) => string {
  const drop = lowerSet(ignored);
  return (url) => keyRequest(url, drop).key;
}

/** A reusable {@link keyRequest} with the ignore set compiled once. */
export function createRequestKeyer(
  ignored: Iterable<string>,
): (url: URL) => KeyedRequest {
  const drop = lowerSet(ignored);
  return (url) => keyRequest(url, drop);
}
