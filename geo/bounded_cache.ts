/**
 * Bounded caches for latency-sensitive loops (the geo reader's records, the DNS answer
 * caches). Pure (no I/O, no timers).
 *
 * Why not one `Map` cleared when full: a growing `Map` rehashes every entry at each power of
 * two (about 0.7 ms at 16k entries, measured in the DNS loop), and clearing it makes every
 * next client a cold one at the same moment; both stall the loop. {@link ShardedMap} keeps a
 * `Map`'s exact hits but in many small maps, so a rehash or a clear touches a sixty-fourth of
 * the entries; {@link SlotCache} allocates its slots once and evicts one key at a time (for
 * keys far more numerous than the slots, where some misses are expected anyway).
 *
 * @module
 */

/** 32-bit finaliser of MurmurHash3: spreads close keys over the sets (and sticky picks). */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of a cache key: integers up to 2^53 by their two 32-bit halves, strings by FNV-1a. */
export function slotHash(key: number | string): number {
  if (typeof key === "number") {
    const lo = key >>> 0;
    const hi = Math.floor(key / 4294967296) | 0;
    return fmix32(lo ^ Math.imul(hi, 0x9e3779b1));
  }
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  }
  return fmix32(h);
}

/**
 * A fixed-size, two-way set-associative cache: each key hashes to one set of two slots, and a
 * new key takes the less recently used slot of its set. Holds at least `entries` slots
 * (rounded up to a power of two).
 *
 * @example
 * ```ts
 * import { SlotCache } from "./bounded_cache.ts";
 * const c = new SlotCache<number, string>(4);
 * c.set(10, "ten");
 * if (c.get(10) !== "ten" || c.get(11) !== undefined) throw new Error("lookup");
 * ```
 */
export class SlotCache<K extends number | string, V> {
  readonly #keys: (K | undefined)[];
  readonly #values: (V | undefined)[];
  /** Per set: the way (0 or 1) used last. */
  readonly #recent: Uint8Array;
  readonly #mask: number;
  #size = 0;

  constructor(entries: number) {
    let sets = 1;
    while (sets * 2 < entries) sets *= 2;
    this.#keys = new Array<K | undefined>(sets * 2).fill(undefined);
    this.#values = new Array<V | undefined>(sets * 2).fill(undefined);
    this.#recent = new Uint8Array(sets);
    this.#mask = sets - 1;
  }

  /** Slots in all. */
  get capacity(): number {
    return this.#keys.length;
  }

  /** Slots in use. */
  get size(): number {
    return this.#size;
  }

  get(key: K): V | undefined {
    const set = slotHash(key) & this.#mask;
    const i = set * 2;
    if (this.#keys[i] === key) {
      this.#recent[set] = 0;
      return this.#values[i];
    }
    if (this.#keys[i + 1] === key) {
      this.#recent[set] = 1;
      return this.#values[i + 1];
    }
    return undefined;
  }

  set(key: K, value: V): void {
    const set = slotHash(key) & this.#mask;
    let i = set * 2;
    const keys = this.#keys;
    if (keys[i] !== key) {
      if (keys[i + 1] === key) i++;
      else if (keys[i] === undefined) this.#size++;
      else if (keys[i + 1] === undefined) {
        i++;
        this.#size++;
      } else i += this.#recent[set]! ^ 1; // evict the way not used last
    }
    keys[i] = key;
    this.#values[i] = value;
    this.#recent[set] = i & 1;
  }

  clear(): void {
    if (!this.#size) return;
    this.#keys.fill(undefined);
    this.#values.fill(undefined);
    this.#size = 0;
  }
}

/** Shards of a {@link ShardedMap}. */
const SHARDS = 64;

/**
 * A map of at most about `entries` keys in {@link SHARDS} small maps; a shard that reaches its
 * share (`entries / 64`) is cleared before it takes another key.
 *
 * @example
 * ```ts
 * import { ShardedMap } from "./bounded_cache.ts";
 * const m = new ShardedMap<string, number>(1000);
 * m.set("a", 1);
 * if (m.get("a") !== 1 || m.size !== 1) throw new Error("lookup");
 * ```
 */
export class ShardedMap<K extends number | string, V> {
  readonly #shards: Map<K, V>[];
  readonly #share: number;

  constructor(entries: number) {
    this.#shards = Array.from({ length: SHARDS }, () => new Map<K, V>());
    this.#share = Math.max(1, Math.ceil(entries / SHARDS));
  }

  /** Keys held. */
  get size(): number {
    let n = 0;
    for (const m of this.#shards) n += m.size;
    return n;
  }

  get(key: K): V | undefined {
    return this.#shards[slotHash(key) & (SHARDS - 1)]!.get(key);
  }

  set(key: K, value: V): void {
    const m = this.#shards[slotHash(key) & (SHARDS - 1)]!;
    if (m.size >= this.#share && !m.has(key)) m.clear();
    m.set(key, value);
  }

  clear(): void {
    for (const m of this.#shards) m.clear();
  }
}
