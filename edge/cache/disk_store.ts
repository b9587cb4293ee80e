/**
 * Disk cache tier for VOD objects: bodies in files, metadata and LRU order in memory.
 *
 * The index lives in memory only, so the directory is wiped when the store opens: a restart
 * starts cold rather than trusting files whose freshness metadata is gone. Each write goes to a
 * temporary name and is renamed into place, so a reader never sees half a file.
 *
 * @module
 */

import { EdgeError, EdgeErrorCode } from "../errors.ts";
import {
  type CachedObject,
  type CacheStore,
  type CacheStoreStats,
  objectCost,
} from "./store.ts";

interface DiskEntry {
  readonly meta: Omit<CachedObject, "body">;
  readonly file: string;
  readonly cost: number;
}

/** Options of {@link DiskStore.open}. */
export interface DiskStoreOptions {
  /** Directory owned by the store; created if missing and emptied at open. */
  readonly dir: string;
  /** Byte budget of the files plus metadata. */
  readonly maxBytes: number;
  /** Largest single object admitted. @default maxBytes / 4 */
  readonly maxObjectBytes?: number;
}

const FILE_SUFFIX = ".obj";

/**
 * A byte-capped LRU cache on disk.
 *
 * @example
 * ```ts
 * import { DiskStore } from "./disk_store.ts";
 * const dir = await Deno.makeTempDir();
 * const store = await DiskStore.open({ dir, maxBytes: 1 << 20 });
 * await store.put("/vod/a.mp4", {
 *   status: 200, headers: [], body: new Uint8Array([1, 2]), storedAtMs: 0, initialAgeMs: 0,
 *   lifetimeMs: 1000, staleWhileRevalidateMs: 0, staleIfErrorMs: 0, mustRevalidate: false,
 *   etag: undefined, lastModified: undefined, persistent: true,
 * });
 * if ((await store.get("/vod/a.mp4"))?.body[1] !== 2) throw new Error("miss");
 * await store.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class DiskStore implements CacheStore {
  readonly name = "disk";
  readonly #dir: string;
  readonly #maxBytes: number;
  readonly #maxObjectBytes: number;
  #index = new Map<string, DiskEntry>();
  #bytes = 0;
  #evictions = 0;
  #generation = 0;

  private constructor(options: DiskStoreOptions) {
    this.#dir = options.dir;
    this.#maxBytes = options.maxBytes;
    this.#maxObjectBytes = Math.min(
      options.maxObjectBytes ?? Math.floor(options.maxBytes / 4),
      options.maxBytes,
    );
  }

  /**
   * Opens (and empties) the store's directory.
   * @throws {EdgeError} `EDGE_STORE` when the directory cannot be created or cleared.
   */
  static async open(options: DiskStoreOptions): Promise<DiskStore> {
    if (!Number.isInteger(options.maxBytes) || options.maxBytes <= 0) {
      throw new RangeError(
        `Invalid DiskStore option 'maxBytes': got ${options.maxBytes}, expected a positive integer`,
      );
    }
    try {
      await Deno.mkdir(options.dir, { recursive: true });
      for await (const e of Deno.readDir(options.dir)) {
        if (
          e.isFile && (e.name.endsWith(FILE_SUFFIX) || e.name.endsWith(".tmp"))
        ) {
          await Deno.remove(`${options.dir}/${e.name}`);
        }
      }
    } catch (cause) {
      throw new EdgeError(
        EdgeErrorCode.Store,
        `Cannot open disk cache: directory ${options.dir} is not usable`,
        { cause },
      );
    }
    return new DiskStore(options);
  }

  /** Every key held, oldest use first. */
  keys(): IterableIterator<string> {
    return this.#index.keys();
  }

  async get(key: string): Promise<CachedObject | undefined> {
    const e = this.#index.get(key);
    if (!e) return undefined;
    this.#index.delete(key);
    this.#index.set(key, e);
    try {
      const body = await Deno.readFile(e.file);
      return { ...e.meta, body };
    } catch {
      // Replaced or purged while we read: a miss, not an error.
      return undefined;
    }
  }

  async put(key: string, object: CachedObject): Promise<boolean> {
    const cost = objectCost(key, object);
    await this.delete(key);
    if (cost > this.#maxObjectBytes) return false;
    const name = `${await hashKey(key)}-${(this.#generation++).toString(36)}`;
    const file = `${this.#dir}/${name}${FILE_SUFFIX}`;
    const tmp = `${this.#dir}/${name}.tmp`;
    try {
      await Deno.writeFile(tmp, object.body);
      await Deno.rename(tmp, file);
    } catch (cause) {
      await Deno.remove(tmp).catch(() => {});
      throw new EdgeError(
        EdgeErrorCode.Store,
        `Cannot write disk cache object: ${key}`,
        { cause },
      );
    }
    // Another put of the same key may have finished while we wrote: last writer wins.
    await this.delete(key);
    const evicted: string[] = [];
    while (this.#bytes + cost > this.#maxBytes) {
      const oldest = this.#index.keys().next();
      if (oldest.done) break;
      const f = this.#unlink(oldest.value);
      if (f) evicted.push(f);
      this.#evictions++;
    }
    const { body: _body, ...meta } = object;
    this.#index.set(key, { meta, file, cost });
    this.#bytes += cost;
    await Promise.all(evicted.map((f) => Deno.remove(f).catch(() => {})));
    return true;
  }

  #unlink(key: string): string | undefined {
    const e = this.#index.get(key);
    if (!e) return undefined;
    this.#index.delete(key);
    this.#bytes -= e.cost;
    return e.file;
  }

  async delete(key: string): Promise<boolean> {
    const file = this.#unlink(key);
    if (file === undefined) return false;
    await Deno.remove(file).catch(() => {});
    return true;
  }

  async deletePrefix(prefix: string): Promise<number> {
    const files: string[] = [];
    for (const key of [...this.#index.keys()]) {
      if (!key.startsWith(prefix)) continue;
      const f = this.#unlink(key);
      if (f) files.push(f);
    }
    await Promise.all(files.map((f) => Deno.remove(f).catch(() => {})));
    return files.length;
  }

  clear(): Promise<number> {
    return this.deletePrefix("");
  }

  stats(): CacheStoreStats {
    return {
      objects: this.#index.size,
      bytes: this.#bytes,
      maxBytes: this.#maxBytes,
      evictions: this.#evictions,
    };
  }

  async close(): Promise<void> {
    await this.clear();
  }
}

async function hashKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(key),
  );
  return Array.from(
    new Uint8Array(digest).subarray(0, 16),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}
