/**
 * RFC 9111 response directives and freshness arithmetic for a shared cache.
 *
 * Pure: headers and times in, numbers out. The caller supplies `now` so tests never sleep.
 * Dates are HTTP-dates by the grammar (`http_date.ts`), never whatever `Date.parse` accepts.
 *
 * @module
 */

import { parseHttpDate } from "./http_date.ts";
import { type Member, parseDictionary } from "./structured_field.ts";

/** The response Cache-Control directives a shared cache acts on (RFC 9111 §5.2.2). */
export interface CacheDirectives {
  readonly noStore: boolean;
  /** `no-cache` without field names: store, but revalidate before every reuse (§5.2.2.4). */
  readonly noCache: boolean;
  /** `private`: a shared cache must not store it (§5.2.2.7). */
  readonly private: boolean;
  readonly public: boolean;
  readonly mustRevalidate: boolean;
  readonly proxyRevalidate: boolean;
  readonly immutable: boolean;
  readonly maxAgeSeconds: number | undefined;
  readonly sMaxAgeSeconds: number | undefined;
  /** RFC 5861 §3. */
  readonly staleWhileRevalidateSeconds: number | undefined;
  /** RFC 5861 §4. */
  readonly staleIfErrorSeconds: number | undefined;
}

/** Largest delta-seconds we keep; RFC 9111 §1.2.2 says to cap at 2^31. */
export const MAX_DELTA_SECONDS = 2_147_483_648;

function deltaSeconds(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const s = v.startsWith('"') && v.endsWith('"') && v.length >= 2
    ? v.slice(1, -1)
    : v;
  // RFC 9111 §1.2.2: delta-seconds is 1*DIGIT; anything else is invalid and ignored.
  if (!/^\d+$/.test(s)) return undefined;
  return Math.min(Number(s), MAX_DELTA_SECONDS);
}

/**
 * Parses a Cache-Control header value.
 *
 * Unknown directives are ignored; a malformed delta is treated as absent (RFC 9111 §4.2.1 asks
 * a cache to treat an invalid max-age as stale, which {@link computeFreshness} does by giving
 * such responses no explicit lifetime).
 *
 * @param value The header value (several headers joined with ", "), or null.
 * @returns The directives.
 *
 * @example
 * ```ts
 * import { parseCacheControl } from "./cache_control.ts";
 * import assert from "node:assert/strict";
 * const d = parseCacheControl("public, max-age=60, s-maxage=30, stale-while-revalidate=5");
 * assert.equal(d.sMaxAgeSeconds, 30);
 * assert.equal(d.staleWhileRevalidateSeconds, 5);
 * ```
 */
export function parseCacheControl(value: string | null): CacheDirectives {
  const d = {
    noStore: false,
    noCache: false,
    private: false,
    public: false,
    mustRevalidate: false,
    proxyRevalidate: false,
    immutable: false,
    maxAgeSeconds: undefined as number | undefined,
    sMaxAgeSeconds: undefined as number | undefined,
    staleWhileRevalidateSeconds: undefined as number | undefined,
    staleIfErrorSeconds: undefined as number | undefined,
  };
  if (!value) return d;
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    const arg = eq < 0 ? undefined : part.slice(eq + 1).trim();
    switch (name) {
      case "no-store":
        d.noStore = true;
        break;
      case "no-cache":
        // `no-cache="Set-Cookie"` (qualified) only forbids reusing those fields; we treat the
        // qualified form as unqualified, which is allowed (RFC 9111 §5.2.2.4).
        d.noCache = true;
        break;
      case "private":
        d.private = true;
        break;
      case "public":
        d.public = true;
        break;
      case "must-revalidate":
        d.mustRevalidate = true;
        break;
      case "proxy-revalidate":
        d.proxyRevalidate = true;
        break;
      case "immutable":
        d.immutable = true;
        break;
      case "max-age":
        d.maxAgeSeconds = deltaSeconds(arg);
        break;
      case "s-maxage":
        d.sMaxAgeSeconds = deltaSeconds(arg);
        break;
      case "stale-while-revalidate":
        d.staleWhileRevalidateSeconds = deltaSeconds(arg);
        break;
      case "stale-if-error":
        d.staleIfErrorSeconds = deltaSeconds(arg);
        break;
    }
  }
  return d;
}

/**
 * The targeted cache-control fields this edge obeys, first wins (RFC 9213 §2.2: a CDN's own
 * target list). `CDN-Cache-Control` is the one every CDN implements (RFC 9213 §3.1).
 */
export const TARGETED_FIELDS: readonly string[] = ["cdn-cache-control"];

const DELTA_DIRECTIVES = {
  "max-age": "maxAgeSeconds",
  "s-maxage": "sMaxAgeSeconds",
  "stale-while-revalidate": "staleWhileRevalidateSeconds",
  "stale-if-error": "staleIfErrorSeconds",
} as const;

const FLAG_DIRECTIVES = {
  "no-store": "noStore",
  "no-cache": "noCache",
  private: "private",
  public: "public",
  "must-revalidate": "mustRevalidate",
  "proxy-revalidate": "proxyRevalidate",
  immutable: "immutable",
} as const;

/** True when a flag directive is set; undefined when its value has the wrong type. */
function flagOf(name: string, m: Member): boolean | undefined {
  if (m.kind === "list") {
    // RFC 9213 §2.1: `no-cache` and `private` may list field names (Inner List of Strings);
    // like the qualified Cache-Control forms we treat them as unqualified (RFC 9111 §5.2.2.4).
    return (name === "no-cache" || name === "private") &&
        m.items.every((i) => i.value.type === "string")
      ? true
      : undefined;
  }
  return m.value.type === "boolean" ? m.value.value : undefined;
}

/**
 * Parses a targeted cache-control field such as `CDN-Cache-Control` (RFC 9213 §2.1): a
 * Structured Field Dictionary of the Cache-Control response directives, Booleans for flags and
 * Integers for delta-seconds. Unknown directives and parameters are ignored.
 *
 * @param value The field value, or null.
 * @returns The directives, or `undefined` when the field is absent, empty or invalid (a parse
 *   error, or a known directive of the wrong type): the cache then ignores it (RFC 9213 §2.1).
 *
 * @example
 * ```ts
 * import { parseTargetedCacheControl } from "./cache_control.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseTargetedCacheControl("max-age=600, foo")?.maxAgeSeconds, 600);
 * assert.equal(parseTargetedCacheControl('max-age="600"'), undefined);
 * assert.equal(parseTargetedCacheControl("max-age =600"), undefined);
 * ```
 */
export function parseTargetedCacheControl(
  value: string | null,
): CacheDirectives | undefined {
  if (value === null || value.trim() === "") return undefined;
  let dict;
  try {
    dict = parseDictionary(value);
  } catch {
    return undefined;
  }
  if (dict.size === 0) return undefined;
  const d: { -readonly [K in keyof CacheDirectives]: CacheDirectives[K] } =
    parseCacheControl(null);
  for (const [name, m] of dict) {
    if (name in DELTA_DIRECTIVES) {
      if (
        m.kind !== "item" || m.value.type !== "integer" || m.value.value < 0
      ) return undefined;
      d[DELTA_DIRECTIVES[name as keyof typeof DELTA_DIRECTIVES]] = Math.min(
        m.value.value,
        MAX_DELTA_SECONDS,
      );
    } else if (name in FLAG_DIRECTIVES) {
      const on = flagOf(name, m);
      if (on === undefined) return undefined;
      d[FLAG_DIRECTIVES[name as keyof typeof FLAG_DIRECTIVES]] = on;
    }
  }
  return d;
}

/**
 * The directives a CDN acts on (RFC 9213 §2.2): those of the first valid, non-empty targeted
 * field; else Cache-Control.
 *
 * @returns The directives, and whether a targeted field gave them (Expires is then ignored).
 */
export function effectiveDirectives(
  headers: Headers,
): { readonly directives: CacheDirectives; readonly targeted: boolean } {
  for (const f of TARGETED_FIELDS) {
    const t = parseTargetedCacheControl(headers.get(f));
    if (t) return { directives: t, targeted: true };
  }
  return {
    directives: parseCacheControl(headers.get("cache-control")),
    targeted: false,
  };
}

/**
 * Response fields meant for the one client that asked: its cookie (RFC 6265 §4.1, and the
 * obsolete RFC 2965 `Set-Cookie2`) and its authentication state (RFC 9110 §11.6.3). A
 * response with any of them is stored only under an explicit `public`, and never with them:
 * a stored copy is served to everyone (what nginx and Varnish do by default).
 */
export const PER_CLIENT_FIELDS: readonly string[] = [
  "set-cookie",
  "set-cookie2",
  "authentication-info",
];

/** Statuses cacheable by default, i.e. heuristically (RFC 9110 §15.1). */
const HEURISTIC_STATUSES = new Set([
  200,
  203,
  204,
  206,
  300,
  301,
  308,
  404,
  405,
  410,
  414,
  501,
]);

/** Longest heuristic freshness we assign (RFC 9111 §4.2.2 leaves the bound to the cache). */
export const MAX_HEURISTIC_LIFETIME_MS = 24 * 3600 * 1000;

/**
 * Heuristic freshness (RFC 9111 §4.2.2): 10% of the time since Last-Modified, the rule
 * HTTP/1.1 caches have used since RFC 2616, capped at {@link MAX_HEURISTIC_LIFETIME_MS}.
 * Undefined when the response has no usable Last-Modified.
 */
function heuristicLifetimeMs(headers: Headers): number | undefined {
  const modified = parseHttpDate(headers.get("last-modified"));
  if (modified === undefined) return undefined;
  const now = parseHttpDate(headers.get("date")) ?? Date.now();
  if (now <= modified) return undefined;
  return Math.min(MAX_HEURISTIC_LIFETIME_MS, Math.floor((now - modified) / 10));
}

/** Statuses the edge stores at all (a 206 is never stored: we never ask for ranges). */
const STORABLE_STATUSES = new Set([200, 203, 204, 300, 301, 308, 404, 410]);

/** How long a stored response may be reused, all in milliseconds. */
export interface Freshness {
  /** False when the response must not be stored (§3). */
  readonly storable: boolean;
  /** Why not, for Cache-Status `detail` and logs. */
  readonly reason?: string;
  /** Freshness lifetime (§4.2.1). 0 means "revalidate before every reuse". */
  readonly lifetimeMs: number;
  /** May be served stale while a background revalidation runs (RFC 5861 §3). */
  readonly staleWhileRevalidateMs: number;
  /** May be served stale when the origin fails (RFC 5861 §4). */
  readonly staleIfErrorMs: number;
  /** must-revalidate / proxy-revalidate / s-maxage: never serve stale (§4.2.4, §5.2.2.2). */
  readonly mustRevalidate: boolean;
}

/** Inputs of {@link computeFreshness} beyond the response itself. */
export interface FreshnessDefaults {
  /** Lifetime when the origin gives none (live HLS defaults); undefined: do not store. */
  readonly defaultLifetimeMs?: number | undefined;
  /** Never let an object be served older than this, stale included (live playlists). */
  readonly maxServeAgeMs?: number | undefined;
  /** The request carried Authorization (§3.5). */
  readonly requestHasAuthorization?: boolean;
}

/**
 * Decides whether and for how long a shared cache may reuse a response (RFC 9111 §3, §4.2.1).
 *
 * @param status Response status.
 * @param headers Response headers.
 * @param defaults Lifetime when the origin is silent, and the live-playlist cap.
 * @returns The freshness policy.
 *
 * @example
 * ```ts
 * import { computeFreshness } from "./cache_control.ts";
 * import assert from "node:assert/strict";
 * const f = computeFreshness(200, new Headers({ "cache-control": "max-age=10, s-maxage=4" }), {});
 * assert.equal(f.lifetimeMs, 4000);
 * assert.equal(computeFreshness(200, new Headers({ "cache-control": "private" }), {}).storable, false);
 * ```
 */
export function computeFreshness(
  status: number,
  headers: Headers,
  defaults: FreshnessDefaults,
): Freshness {
  const no = (reason: string): Freshness => ({
    storable: false,
    reason,
    lifetimeMs: 0,
    staleWhileRevalidateMs: 0,
    staleIfErrorMs: 0,
    mustRevalidate: true,
  });
  if (!STORABLE_STATUSES.has(status)) return no("status");
  // RFC 9213 §2.2: a valid CDN-Cache-Control replaces Cache-Control and Expires for us.
  const { directives: cc, targeted } = effectiveDirectives(headers);
  if (cc.noStore) return no("no-store");
  if (cc.private) return no("private");
  // Stored only when the origin says `public`, and then without the fields (the cache strips
  // them from the copy it keeps and from every answer but the requester's own).
  if (!cc.public && PER_CLIENT_FIELDS.some((f) => headers.has(f))) {
    return no("set-cookie");
  }
  // RFC 9110 §12.5.5: Vary: * never matches a later request.
  const vary = headers.get("vary");
  if (vary && vary.split(",").some((v) => v.trim() === "*")) {
    return no("vary-star");
  }
  // RFC 9111 §3.5: an authenticated request's response is stored only when explicitly allowed.
  if (
    defaults.requestHasAuthorization && !cc.public &&
    cc.sMaxAgeSeconds === undefined && !cc.mustRevalidate
  ) return no("authorization");

  let lifetimeMs: number | undefined;
  if (cc.noCache) lifetimeMs = 0;
  else if (cc.sMaxAgeSeconds !== undefined) {
    lifetimeMs = cc.sMaxAgeSeconds * 1000; // §5.2.2.10: s-maxage wins in a shared cache
  } else if (cc.maxAgeSeconds !== undefined) {
    lifetimeMs = cc.maxAgeSeconds * 1000;
  } else {
    const expires = targeted ? null : headers.get("expires");
    if (expires !== null) {
      // §5.3: an invalid Expires ("0", another time zone, a one-digit hour, two values) is a
      // time in the past: stored, but stale at once. §4.2.1: lifetime = Expires - Date.
      const exp = parseHttpDate(expires);
      const base = parseHttpDate(headers.get("date")) ?? Date.now();
      lifetimeMs = exp === undefined ? 0 : Math.max(0, exp - base);
    }
  }
  if (lifetimeMs === undefined) {
    if (!HEURISTIC_STATUSES.has(status)) return no("no-lifetime");
    lifetimeMs = defaults.defaultLifetimeMs ?? heuristicLifetimeMs(headers);
    if (lifetimeMs === undefined) return no("no-lifetime");
  }
  const mustRevalidate = cc.mustRevalidate || cc.proxyRevalidate ||
    cc.sMaxAgeSeconds !== undefined && cc.noCache;
  let swr = mustRevalidate ? 0 : (cc.staleWhileRevalidateSeconds ?? 0) * 1000;
  let sie = mustRevalidate ? 0 : (cc.staleIfErrorSeconds ?? 0) * 1000;
  const cap = defaults.maxServeAgeMs;
  if (cap !== undefined) {
    lifetimeMs = Math.min(lifetimeMs, cap);
    swr = Math.max(0, Math.min(swr, cap - lifetimeMs));
    sie = Math.max(0, Math.min(sie, cap - lifetimeMs));
  }
  return {
    storable: true,
    lifetimeMs,
    staleWhileRevalidateMs: swr,
    staleIfErrorMs: sie,
    mustRevalidate,
  };
}

/**
 * The `Age` field's value in seconds (RFC 9111 §5.1): of a list (`Age: 7200, 0`, or two `Age`
 * lines, which `Headers` joins) the first member counts; an invalid value is ignored.
 *
 * @param value The field value, or null.
 * @returns Seconds (capped at {@link MAX_DELTA_SECONDS}), or `undefined` when absent or invalid.
 *
 * @example
 * ```ts
 * import { parseAge } from "./cache_control.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseAge("7200, 0"), 7200);
 * assert.equal(parseAge("-1"), undefined);
 * ```
 */
export function parseAge(value: string | null): number | undefined {
  if (value === null) return undefined;
  const comma = value.indexOf(",");
  const first = (comma < 0 ? value : value.slice(0, comma)).trim();
  return /^\d+$/.test(first)
    ? Math.min(Number(first), MAX_DELTA_SECONDS)
    : undefined;
}

/**
 * The response's age when it was received (RFC 9111 §4.2.3 `corrected_initial_age`).
 *
 * @param headers The response headers (Age, Date).
 * @param requestTimeMs When the request was sent.
 * @param responseTimeMs When the response headers arrived.
 * @returns Milliseconds.
 *
 * @example
 * ```ts
 * import { initialAgeMs } from "./cache_control.ts";
 * if (initialAgeMs(new Headers({ age: "5" }), 0, 100) !== 5100) throw new Error("bad age");
 * ```
 */
export function initialAgeMs(
  headers: Headers,
  requestTimeMs: number,
  responseTimeMs: number,
): number {
  const dateMs = parseHttpDate(headers.get("date"));
  const apparent = dateMs === undefined
    ? 0
    : Math.max(0, responseTimeMs - dateMs);
  const ageValue = (parseAge(headers.get("age")) ?? 0) * 1000;
  const correctedAge = ageValue + (responseTimeMs - requestTimeMs);
  return Math.max(apparent, correctedAge);
}
