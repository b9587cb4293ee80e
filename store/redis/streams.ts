/**
 * {@link StreamDirectory} over Redis, used by {@link RedisStore} as `store.streams`.
 *
 * Each origin writes only its own key (a plain `SET … PX ttl`) and its id in a set that
 * readers walk instead of a SCAN; ids whose listing expired are removed as they are met.
 *
 * @module
 */

import type { Redis } from "ioredis";
import { isListingFresh } from "../freshness.ts";
import type { OriginListing, StreamDirectory } from "../types.ts";
import type { RedisKeys } from "./_keys.ts";
import { execAll } from "./edges.ts";

/** What the directory borrows from its store. */
export interface RedisStreamDirectoryDeps {
  /** Runs an operation on the command connection with the store's closed and outage checks. */
  readonly track: <T>(what: string, op: (r: Redis) => Promise<T>) => Promise<T>;
}

/** The Redis stream directory. Construct through `RedisStore`; `store.streams` is one. */
export class RedisStreamDirectory implements StreamDirectory {
  readonly #k: RedisKeys;
  readonly #d: RedisStreamDirectoryDeps;

  constructor(keys: RedisKeys, deps: RedisStreamDirectoryDeps) {
    this.#k = keys;
    this.#d = deps;
  }

  announce(listing: OriginListing): Promise<void> {
    return this.#d.track("write stream listing", async (r) => {
      await execAll(
        r.multi()
          .set(
            this.#k.listing(listing.originId),
            JSON.stringify(listing),
            "PX",
            Math.max(1, Math.ceil(listing.ttlMs)),
          )
          .sadd(this.#k.listingIds, listing.originId),
      );
    });
  }

  withdraw(originId: string): Promise<void> {
    return this.#d.track("delete stream listing", async (r) => {
      await execAll(
        r.multi()
          .del(this.#k.listing(originId))
          .srem(this.#k.listingIds, originId),
      );
    });
  }

  list(nowMs: number): Promise<OriginListing[]> {
    return this.#d.track("read stream directory", async (r) => {
      const ids = await r.smembers(this.#k.listingIds);
      if (ids.length === 0) return [];
      const values = await r.mget(...ids.map((id) => this.#k.listing(id)));
      const out: OriginListing[] = [];
      const gone: string[] = [];
      ids.forEach((id, i) => {
        const json = values[i];
        if (json === null || json === undefined) return void gone.push(id);
        const l = JSON.parse(json) as OriginListing;
        if (isListingFresh(l, nowMs)) out.push(l);
      });
      if (gone.length) await r.srem(this.#k.listingIds, ...gone);
      out.sort((
        a,
        b,
      ) => (a.originId < b.originId ? -1 : a.originId > b.originId ? 1 : 0));
      return out;
    });
  }
}
