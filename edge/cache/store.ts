/**
 * The `CacheStore` interface every cache tier implements (memory, disk, tiered), and the stored
 * object's shape.
 *
 * Stores are dumb: they keep bytes and metadata under a key within a byte budget. What may be
 * stored, for how long and how it is served is decided by `../middleware/cache.ts`.
 *
 * @module
 */

import type { AccessMark } from "../access/marker.ts";

/** A stored response: status, end-to-end headers, the whole body and its freshness. */
export interface CachedObject {
  readonly status: number;
  /** End-to-end response headers as received (hop-by-hop fields removed), lower-case names. */
  readonly headers: readonly (readonly [string, string])[];
  /** The complete body. A partial body is never stored. Shared: never mutate it. */
  readonly body: Uint8Array;
  /** Epoch ms when the response (or its last 304 revalidation) arrived. */
  readonly storedAtMs: number;
  /** Age at `storedAtMs` (RFC 9111 §4.2.3 corrected_initial_age), ms. */
  readonly initialAgeMs: number;
  /** Freshness lifetime, ms (RFC 9111 §4.2.1). */
  readonly lifetimeMs: number;
  /** RFC 5861 windows past the lifetime, ms. */
  readonly staleWhileRevalidateMs: number;
  readonly staleIfErrorMs: number;
  /** Never serve stale (must-revalidate and friends). */
  readonly mustRevalidate: boolean;
  /** Strong or weak validator, verbatim, if the origin sent one. */
  readonly etag: string | undefined;
  readonly lastModified: string | undefined;
  /** Eligible for a persistent tier (VOD objects; never live playlists). */
  readonly persistent: boolean;
  /**
   * The origin's access mark (`X-Meridian-Access`): served only to requests that pass the edge's
   * access check. Absent: open to anyone.
   */
  readonly access?: AccessMark | undefined;
}

/** Counters of a store, for `/healthz` and `/metrics`. */
export interface CacheStoreStats {
  readonly objects: number;
  readonly bytes: number;
  readonly maxBytes: number;
  readonly evictions: number;
}

/**
 * A cache tier. All methods may be called concurrently; implementations serialise what they
 * must.
 */
export interface CacheStore {
  /** For metrics and logs: `memory`, `disk`, `tiered`. */
  readonly name: string;
  /** The object under `key`, or undefined. A hit counts as a use for eviction. */
  get(key: string): Promise<CachedObject | undefined>;
  /**
   * Stores `object` under `key`, replacing any previous one and evicting others as needed.
   * @returns false when the object is not admitted (larger than the store's budget).
   */
  put(key: string, object: CachedObject): Promise<boolean>;
  /** @returns true if something was removed. */
  delete(key: string): Promise<boolean>;
  /** Removes every key starting with `prefix`. @returns how many were removed. */
  deletePrefix(prefix: string): Promise<number>;
  /** Removes everything. @returns how many were removed. */
  clear(): Promise<number>;
  stats(): CacheStoreStats;
  /** Releases files and handles. */
  close(): Promise<void>;
}

/** Fixed bookkeeping cost charged per object on top of its bytes (map entry, metadata). */
export const OBJECT_OVERHEAD_BYTES = 256;

/** Bytes an object is charged against a store's budget. */
export function objectCost(key: string, object: CachedObject): number {
  let n = OBJECT_OVERHEAD_BYTES + key.length * 2 + object.body.byteLength;
  for (const [k, v] of object.headers) n += k.length + v.length;
  return n;
}
