/**
 * Memory in front of an optional disk tier. Persistent (VOD) objects go to both; a disk hit is
 * promoted back into memory.
 *
 * @module
 */

import type { DiskStore } from "./disk_store.ts";
import type { MemoryStore } from "./memory_store.ts";
import type { CachedObject, CacheStore, CacheStoreStats } from "./store.ts";

/**
 * The store the edge uses: a {@link MemoryStore} plus, when configured, a disk tier that keeps
 * `persistent` objects.
 *
 * @example
 * ```ts
 * import { MemoryStore } from "./memory_store.ts";
 * import { TieredStore } from "./tiered_store.ts";
 * const store = new TieredStore(new MemoryStore({ maxBytes: 1 << 20 }), undefined);
 * if ((await store.get("/x")) !== undefined) throw new Error("unexpected hit");
 * ```
 */
export class TieredStore implements CacheStore {
  readonly name = "tiered";
  readonly #memory: MemoryStore;
  readonly #disk: DiskStore | undefined;

  constructor(memory: MemoryStore, disk: DiskStore | undefined) {
    this.#memory = memory;
    this.#disk = disk;
  }

  /** Memory-only synchronous lookup (the hot path tries this before awaiting anything). */
  getSync(key: string): CachedObject | undefined {
    return this.#memory.getSync(key);
  }

  async get(key: string): Promise<CachedObject | undefined> {
    const hit = this.#memory.getSync(key);
    if (hit || !this.#disk) return hit;
    const fromDisk = await this.#disk.get(key);
    if (fromDisk) this.#memory.putSync(key, fromDisk);
    return fromDisk;
  }

  async put(key: string, object: CachedObject): Promise<boolean> {
    const inMemory = this.#memory.putSync(key, object);
    if (!this.#disk || !object.persistent) return inMemory;
    const onDisk = await this.#disk.put(key, object);
    return inMemory || onDisk;
  }

  async delete(key: string): Promise<boolean> {
    const a = await this.#memory.delete(key);
    const b = this.#disk ? await this.#disk.delete(key) : false;
    return a || b;
  }

  async deletePrefix(prefix: string): Promise<number> {
    const a = await this.#memory.deletePrefix(prefix);
    const b = this.#disk ? await this.#disk.deletePrefix(prefix) : 0;
    return Math.max(a, b);
  }

  async clear(): Promise<number> {
    const a = await this.#memory.clear();
    const b = this.#disk ? await this.#disk.clear() : 0;
    return Math.max(a, b);
  }

  stats(): CacheStoreStats {
    const m = this.#memory.stats();
    const d = this.#disk?.stats();
    // Objects count distinct keys: a VOD object may sit in both tiers.
    let diskOnly = 0;
    if (this.#disk) {
      for (const k of this.#disk.keys()) if (!this.#memory.has(k)) diskOnly++;
    }
    return {
      objects: m.objects + diskOnly,
      bytes: m.bytes + (d?.bytes ?? 0),
      maxBytes: m.maxBytes + (d?.maxBytes ?? 0),
      evictions: m.evictions + (d?.evictions ?? 0),
    };
  }

  /** Per-tier stats for `/metrics`. */
  tierStats(): { memory: CacheStoreStats; disk: CacheStoreStats | undefined } {
    return { memory: this.#memory.stats(), disk: this.#disk?.stats() };
  }

  async close(): Promise<void> {
    await this.#memory.close();
    await this.#disk?.close();
  }
}
