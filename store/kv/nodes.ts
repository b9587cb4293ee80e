/**
 * {@link NodeDirectory} and {@link ResumePositions} over Deno KV, used by {@link KvStore} as
 * `store.nodes` and `store.resume`.
 *
 * Each process writes only its own node key, and each viewer's position is its own key, so
 * plain `set`s with `expireIn` suffice (no read-check-write loop).
 *
 * @module
 */

import {
  checkNodeRecord,
  checkResumeKey,
  checkResumePosition,
} from "../_checks.ts";
import {
  type NodeDirectory,
  type NodeRecord,
  RESUME_TTL_MS,
  type ResumePosition,
  type ResumePositions,
} from "../types.ts";
import { KEYS } from "./_keys.ts";

/** What the directories borrow from their store. */
export interface KvDirectoryDeps {
  /** Runs an operation with the store's closed check and busy retry. */
  readonly track: <T>(what: string, op: () => Promise<T>) => Promise<T>;
}

/** The Deno KV node directory. Construct through `KvStore`; `store.nodes` is one. */
export class KvNodeDirectory implements NodeDirectory {
  readonly #kv: Deno.Kv;
  readonly #d: KvDirectoryDeps;

  constructor(kv: Deno.Kv, deps: KvDirectoryDeps) {
    this.#kv = kv;
    this.#d = deps;
  }

  async announce(record: NodeRecord): Promise<void> {
    checkNodeRecord(record);
    return await this.#d.track("write node record", async () => {
      await this.#kv.set(KEYS.node(record.id), record, {
        expireIn: Math.max(1, record.ttlMs),
      });
    });
  }

  withdraw(id: string): Promise<void> {
    return this.#d.track(
      "delete node record",
      () => this.#kv.delete(KEYS.node(id)),
    );
  }

  list(nowMs: number): Promise<NodeRecord[]> {
    return this.#d.track("read node directory", async () => {
      const out: NodeRecord[] = [];
      for await (const e of this.#kv.list<NodeRecord>({ prefix: KEYS.nodes })) {
        // Backends expire keys lazily: the record's own age decides.
        if (nowMs - e.value.updatedAtMs <= e.value.ttlMs) out.push(e.value);
      }
      return out; // key order: sorted by id
    });
  }
}

/** The Deno KV resume positions. Construct through `KvStore`; `store.resume` is one. */
export class KvResumePositions implements ResumePositions {
  readonly #kv: Deno.Kv;
  readonly #d: KvDirectoryDeps;

  constructor(kv: Deno.Kv, deps: KvDirectoryDeps) {
    this.#kv = kv;
    this.#d = deps;
  }

  async set(
    viewerId: string,
    video: string,
    p: ResumePosition,
  ): Promise<void> {
    checkResumeKey(viewerId, video);
    checkResumePosition(p);
    const value: ResumePosition = {
      positionSeconds: p.positionSeconds,
      durationSeconds: p.durationSeconds,
      updatedAtMs: p.updatedAtMs,
    };
    return await this.#d.track("write resume position", async () => {
      await this.#kv.set(KEYS.resume(viewerId, video), value, {
        expireIn: RESUME_TTL_MS,
      });
    });
  }

  async get(
    viewerId: string,
    video: string,
  ): Promise<ResumePosition | undefined> {
    checkResumeKey(viewerId, video);
    return await this.#d.track("read resume position", async () => {
      const e = await this.#kv.get<ResumePosition>(
        KEYS.resume(viewerId, video),
      );
      return e.value ?? undefined;
    });
  }

  async delete(viewerId: string, video: string): Promise<void> {
    checkResumeKey(viewerId, video);
    return await this.#d.track(
      "delete resume position",
      () => this.#kv.delete(KEYS.resume(viewerId, video)),
    );
  }
}
