/**
 * {@link NodeDirectory} and {@link ResumePositions} over Redis, used by {@link RedisStore} as
 * `store.nodes` and `store.resume`.
 *
 * A node writes its own key (`SET … PX ttl`) and its id in a set readers walk instead of a
 * SCAN, as origins do for the stream directory. A resume position is one key per viewer and
 * video (`SET … PX`), named by the JSON of the pair so no id can run into the video key.
 *
 * @module
 */

import type { Redis } from "ioredis";
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
import type { RedisKeys } from "./_keys.ts";
import { execAll } from "./edges.ts";

/** What the directories borrow from their store. */
export interface RedisDirectoryDeps {
  /** Runs an operation on the command connection with the store's closed and outage checks. */
  readonly track: <T>(what: string, op: (r: Redis) => Promise<T>) => Promise<T>;
}

/** The Redis node directory. Construct through `RedisStore`; `store.nodes` is one. */
export class RedisNodeDirectory implements NodeDirectory {
  readonly #k: RedisKeys;
  readonly #d: RedisDirectoryDeps;

  constructor(keys: RedisKeys, deps: RedisDirectoryDeps) {
    this.#k = keys;
    this.#d = deps;
  }

  async announce(record: NodeRecord): Promise<void> {
    const json = checkNodeRecord(record);
    return await this.#d.track("write node record", async (r) => {
      await execAll(
        r.multi()
          .set(
            this.#k.node(record.id),
            json,
            "PX",
            Math.max(1, Math.ceil(record.ttlMs)),
          )
          .sadd(this.#k.nodeIds, record.id),
      );
    });
  }

  withdraw(id: string): Promise<void> {
    return this.#d.track("delete node record", async (r) => {
      await execAll(
        r.multi().del(this.#k.node(id)).srem(this.#k.nodeIds, id),
      );
    });
  }

  list(nowMs: number): Promise<NodeRecord[]> {
    return this.#d.track("read node directory", async (r) => {
      const ids = await r.smembers(this.#k.nodeIds);
      if (ids.length === 0) return [];
      const values = await r.mget(...ids.map((id) => this.#k.node(id)));
      const out: NodeRecord[] = [];
      const gone: string[] = [];
      ids.forEach((id, i) => {
        const json = values[i];
        if (json === null || json === undefined) return void gone.push(id);
        const n = JSON.parse(json) as NodeRecord;
        if (nowMs - n.updatedAtMs <= n.ttlMs) out.push(n);
      });
      if (gone.length) await r.srem(this.#k.nodeIds, ...gone);
      return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    });
  }
}

/** The Redis resume positions. Construct through `RedisStore`; `store.resume` is one. */
export class RedisResumePositions implements ResumePositions {
  readonly #k: RedisKeys;
  readonly #d: RedisDirectoryDeps;

  constructor(keys: RedisKeys, deps: RedisDirectoryDeps) {
    this.#k = keys;
    this.#d = deps;
  }

  async set(
    viewerId: string,
    video: string,
    p: ResumePosition,
  ): Promise<void> {
    checkResumeKey(viewerId, video);
    checkResumePosition(p);
    const value = JSON.stringify({
      positionSeconds: p.positionSeconds,
      durationSeconds: p.durationSeconds,
      updatedAtMs: p.updatedAtMs,
    });
    return await this.#d.track("write resume position", async (r) => {
      await r.set(this.#k.resume(viewerId, video), value, "PX", RESUME_TTL_MS);
    });
  }

  async get(
    viewerId: string,
    video: string,
  ): Promise<ResumePosition | undefined> {
    checkResumeKey(viewerId, video);
    return await this.#d.track("read resume position", async (r) => {
      const json = await r.get(this.#k.resume(viewerId, video));
      return json === null ? undefined : JSON.parse(json) as ResumePosition;
    });
  }

  async delete(viewerId: string, video: string): Promise<void> {
    checkResumeKey(viewerId, video);
    return await this.#d.track("delete resume position", async (r) => {
      await r.del(this.#k.resume(viewerId, video));
    });
  }
}
