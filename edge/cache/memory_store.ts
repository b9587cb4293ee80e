/**
 * In-memory cache tier with a byte cap and least-recently-used eviction.
 *
 * LRU in O(1): a JavaScript `Map` iterates in insertion order, so a hit re-inserts its entry
 * (delete + set, both O(1)) and eviction takes the first key. No linked list to maintain.
 *
 * @module
 */

import {
  type CachedObject,
  type CacheStore,
  type CacheStoreStats,
  objectCost,
} from "./store.ts";

interface Entry {
  readonly object: CachedObject;
  readonly cost: number;
}

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** Byte budget (bodies + headers + per-object overhead). */
  readonly maxBytes: number;
  /** Largest single object admitted. @default maxBytes / 8 */
  readonly maxObjectBytes?: number;
}

/**
 * A byte-capped LRU cache in memory.
 *
 * @example
 * ```ts
 * import { MemoryStore } from "./memory_store.ts";
 * const store = new MemoryStore({ maxBytes: 1 << 20 });
 * await store.put("/a", {
 *   status: 200, headers: [], body: new Uint8Array(3), storedAtMs: 0, initialAgeMs: 0,
 *   lifetimeMs: 1000, staleWhileRevalidateMs: 0, staleIfErrorMs: 0, mustRevalidate: false,
 *   etag: undefined, lastModified: undefined, persistent: false,
 * });
 * if ((await store.get("/a"))?.body.byteLength !== 3) throw new Error("miss");
 * ```
 */
export class MemoryStore implements CacheStore {
  readonly name = "memory";
  readonly #maxBytes: number;
  readonly #maxObjectBytes: number;
  #entries = new Map<string, Entry>();
  #bytes = 0;
  #evictions = 0;

  /** @throws {RangeError} If `maxBytes` is not a positive integer. */
  constructor(options: MemoryStoreOptions) {
    if (!Number.isInteger(options.maxBytes) || options.maxBytes <= 0) {
      throw new RangeError(
        `Invalid MemoryStore option 'maxBytes': got ${options.maxBytes}, expected a positive integer`,
      );
    }
    this.#maxBytes = options.maxBytes;
    this.#maxObjectBytes = Math.min(
      options.maxObjectBytes ?? Math.floor(options.maxBytes / 8),
      options.maxBytes,
    );
  }

  /** Synchronous lookup for the hot path; same semantics as {@link get}. */
  getSync(key: string): CachedObject | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, e);
    return e.object;
  }

  /** True when `key` is held (does not count as a use). */
  has(key: string): boolean {
    return this.#entries.has(key);
  }

  get(key: string): Promise<CachedObject | undefined> {
    return Promise.resolve(this.getSync(key));
  }

  /** Synchronous store; same semantics as {@link put}. */
  putSync(key: string, object: CachedObject): boolean {
    const cost = objectCost(key, object);
    this.#remove(key);
    if (cost > this.#maxObjectBytes) return false;
    while (this.#bytes + cost > this.#maxBytes) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#remove(oldest.value);
      this.#evictions++;
    }
    this.#entries.set(key, { object, cost });
    this.#bytes += cost;
    return true;
  }

  put(key: string, object: CachedObject): Promise<boolean> {
    return Promise.resolve(this.putSync(key, object));
  }

  #remove(key: string): boolean {
    const e = this.#entries.get(key);
    if (!e) return false;
    this.#entries.delete(key);
    this.#bytes -= e.cost;
    return true;
  }

  delete(key: string): Promise<boolean> {
    return Promise.resolve(this.#remove(key));
  }

  deletePrefix(prefix: string): Promise<number> {
    let n = 0;
    for (const key of [...this.#entries.keys()]) {
      if (key.startsWith(prefix) && this.#remove(key)) n++;
    }
    return Promise.resolve(n);
  }

  clear(): Promise<number> {
    const n = this.#entries.size;
    this.#entries.clear();
    this.#bytes = 0;
    return Promise.resolve(n);
  }

  stats(): CacheStoreStats {
    return {
      objects: this.#entries.size,
      bytes: this.#bytes,
      maxBytes: this.#maxBytes,
      evictions: this.#evictions,
    };
  }

  close(): Promise<void> {
    this.#entries.clear();
    this.#bytes = 0;
    return Promise.resolve();
  }
}
