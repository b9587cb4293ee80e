/**
 * {@link EdgeRegistry} over Redis, used by {@link RedisStore} as `store.edges`.
 *
 * An edge record is a key with a TTL of {@link EXPIRY_HEARTBEATS} heartbeats, so Redis itself
 * drops an edge that stopped beating; a set of ids lets readers find the records without a
 * SCAN (ids whose record expired are removed as they are met). Each scheduler's views are one
 * hash (edge id → view) whose TTL every report pushes back, so a scheduler that stops
 * reporting vanishes whole. Every write touches only the writer's own keys.
 *
 * @module
 */

import type { Redis } from "ioredis";
import { edgeRecordTtlMs, isEdgeFresh, isViewFresh } from "../freshness.ts";
import { boundedRecord } from "../stream_key.ts";
import {
  type EdgeRecord,
  type EdgeRegistry,
  type FeedEvent,
  type HealthView,
  MAX_HEALTH_ERROR_CHARS,
  type RegistrySnapshot,
} from "../types.ts";
import type { RedisKeys } from "./_keys.ts";

/** What the registry borrows from its store. */
export interface RedisEdgeRegistryDeps {
  /** Runs an operation on the command connection with the store's closed and outage checks. */
  readonly track: <T>(what: string, op: (r: Redis) => Promise<T>) => Promise<T>;
  /** Appends to the store's change feed. */
  readonly publish: (event: FeedEvent) => Promise<void>;
}

/** Results of a MULTI/pipeline, failing on the first error. */
export async function execAll(
  pipe: { exec(): Promise<[Error | null, unknown][] | null> },
): Promise<unknown[]> {
  const results = (await pipe.exec()) ?? [];
  return results.map(([err, v]) => {
    if (err) throw err;
    return v;
  });
}

/** The Redis registry. Construct through `RedisStore`; `store.edges` is one. */
export class RedisEdgeRegistry implements EdgeRegistry {
  readonly #k: RedisKeys;
  readonly #d: RedisEdgeRegistryDeps;

  constructor(keys: RedisKeys, deps: RedisEdgeRegistryDeps) {
    this.#k = keys;
    this.#d = deps;
  }

  #put(given: EdgeRecord): Promise<void> {
    const record = boundedRecord(given);
    return this.#d.track("write edge record", async (r) => {
      await execAll(
        r.multi()
          .set(
            this.#k.edge(record.id),
            JSON.stringify(record),
            "PX",
            Math.ceil(edgeRecordTtlMs(record)),
          )
          .sadd(this.#k.edgeIds, record.id),
      );
    });
  }

  async register(record: EdgeRecord): Promise<void> {
    await this.#put(record);
    await this.#d.publish({ kind: "edge.registered", edgeId: record.id });
  }

  heartbeat(record: EdgeRecord): Promise<void> {
    return this.#put(record);
  }

  async deregister(id: string): Promise<void> {
    await this.#d.track("delete edge record", async (r) => {
      await execAll(r.multi().del(this.#k.edge(id)).srem(this.#k.edgeIds, id));
    });
    await this.#d.publish({ kind: "edge.deregistered", edgeId: id });
  }

  async setDraining(
    id: string,
    draining: boolean,
    nowMs: number,
  ): Promise<void> {
    await this.#d.track("write drain flag", async (r) => {
      if (draining) await r.hset(this.#k.drains, id, String(nowMs));
      else await r.hdel(this.#k.drains, id);
    });
    await this.#d.publish({ kind: "edge.drain", edgeId: id, draining });
  }

  reportHealth(
    schedulerId: string,
    views: readonly { edgeId: string; up: boolean; lastError: string }[],
    nowMs: number,
    ttlMs: number,
  ): Promise<void> {
    return this.#d.track("write health views", async (r) => {
      if (views.length === 0) return;
      const fields: string[] = [];
      for (const v of views) {
        const value: HealthView = {
          edgeId: v.edgeId,
          schedulerId,
          up: v.up,
          lastError: v.lastError.slice(0, MAX_HEALTH_ERROR_CHARS),
          reportedAtMs: nowMs,
          ttlMs,
        };
        fields.push(v.edgeId, JSON.stringify(value));
      }
      const key = this.#k.health(schedulerId);
      await execAll(
        r.multi()
          .hset(key, ...fields)
          .pexpire(key, Math.max(1, Math.ceil(ttlMs)))
          .sadd(this.#k.healthIds, schedulerId),
      );
    });
  }

  snapshot(nowMs: number): Promise<RegistrySnapshot> {
    return this.#d.track("read edge registry", async (r) => {
      const [ids, drainHash, schedulers] = await execAll(
        r.pipeline()
          .smembers(this.#k.edgeIds)
          .hgetall(this.#k.drains)
          .smembers(this.#k.healthIds),
      ) as [string[], Record<string, string>, string[]];
      const read = r.pipeline();
      if (ids.length) read.mget(...ids.map((id) => this.#k.edge(id)));
      for (const s of schedulers) read.hvals(this.#k.health(s));
      const results = await execAll(read);
      const records = (ids.length ? results.shift() : []) as (string | null)[];
      const edges: EdgeRecord[] = [];
      const gone: string[] = [];
      ids.forEach((id, i) => {
        const json = records[i];
        if (json === null || json === undefined) return void gone.push(id);
        const e = JSON.parse(json) as EdgeRecord;
        if (isEdgeFresh(e, nowMs)) edges.push(e);
      });
      const health: HealthView[] = [];
      const goneSchedulers: string[] = [];
      schedulers.forEach((s, i) => {
        const vals = results[i] as string[];
        if (vals.length === 0) return void goneSchedulers.push(s);
        for (const json of vals) {
          const v = JSON.parse(json) as HealthView;
          if (isViewFresh(v, nowMs)) health.push(v);
        }
      });
      // Members whose key expired: drop them (a racing re-registration re-adds its id).
      if (gone.length || goneSchedulers.length) {
        const clean = r.pipeline();
        if (gone.length) clean.srem(this.#k.edgeIds, ...gone);
        if (goneSchedulers.length) {
          clean.srem(this.#k.healthIds, ...goneSchedulers);
        }
        await execAll(clean);
      }
      const drains = new Map<string, number>();
      for (const [id, since] of Object.entries(drainHash)) {
        drains.set(id, Number(since));
      }
      edges.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return { edges, drains, health };
    });
  }
}
