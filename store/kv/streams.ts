/**
 * {@link StreamDirectory} over Deno KV, used by {@link KvStore} as `store.streams`.
 *
 * Each origin writes only its own key (a plain `set` with `expireIn`), so nothing needs a
 * read-check-write loop; SQLite's "database is locked" is retried by the store's `track`.
 *
 * @module
 */

import { isListingFresh } from "../freshness.ts";
import type { OriginListing, StreamDirectory } from "../types.ts";
import { KEYS } from "./_keys.ts";

/** What the directory borrows from its store. */
export interface KvStreamDirectoryDeps {
  /** Runs an operation with the store's closed check and busy retry. */
  readonly track: <T>(what: string, op: () => Promise<T>) => Promise<T>;
}

/** The Deno KV stream directory. Construct through `KvStore`; `store.streams` is one. */
export class KvStreamDirectory implements StreamDirectory {
  readonly #kv: Deno.Kv;
  readonly #d: KvStreamDirectoryDeps;

  constructor(kv: Deno.Kv, deps: KvStreamDirectoryDeps) {
    this.#kv = kv;
    this.#d = deps;
  }

  announce(listing: OriginListing): Promise<void> {
    return this.#d.track("write stream listing", async () => {
      await this.#kv.set(KEYS.streamListing(listing.originId), listing, {
        expireIn: Math.max(1, listing.ttlMs),
      });
    });
  }

  withdraw(originId: string): Promise<void> {
    return this.#d.track(
      "delete stream listing",
      () => this.#kv.delete(KEYS.streamListing(originId)),
    );
  }

  list(nowMs: number): Promise<OriginListing[]> {
    return this.#d.track("read stream directory", async () => {
      const out: OriginListing[] = [];
      for await (
        const e of this.#kv.list<OriginListing>({
          prefix: KEYS.streamListings,
        })
      ) {
        if (isListingFresh(e.value, nowMs)) out.push(e.value);
      }
      // KV lists in key order: sorted by origin id already.
      return out;
    });
  }
}
