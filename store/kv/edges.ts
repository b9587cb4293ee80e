/**
 * {@link EdgeRegistry} over Deno KV, used by {@link KvStore} as `store.edges`.
 *
 * Every write is a plain `set` or `delete` of the writer's own key (an edge writes only its
 * record, a scheduler only its views), so nothing needs a read-check-write loop; SQLite's
 * "database is locked" is retried by the store's `track`.
 *
 * @module
 */

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
import { KEYS } from "./_keys.ts";

/** Most mutations put in one atomic commit (Deno KV allows 1000). */
const MAX_MUTATIONS_PER_COMMIT = 500;

/** What the registry borrows from its store. */
export interface KvEdgeRegistryDeps {
  /** Runs an operation with the store's closed check and busy retry. */
  readonly track: <T>(what: string, op: () => Promise<T>) => Promise<T>;
  /** Appends to the store's change feed. */
  readonly publish: (event: FeedEvent) => Promise<void>;
}

/** The drain flag's stored value. */
interface DrainValue {
  readonly sinceMs: number;
}

/** The Deno KV registry. Construct through {@link KvStore}; `store.edges` is one. */
export class KvEdgeRegistry implements EdgeRegistry {
  readonly #kv: Deno.Kv;
  readonly #d: KvEdgeRegistryDeps;

  constructor(kv: Deno.Kv, deps: KvEdgeRegistryDeps) {
    this.#kv = kv;
    this.#d = deps;
  }

  #put(given: EdgeRecord): Promise<void> {
    const record = boundedRecord(given);
    return this.#d.track("write edge record", async () => {
      await this.#kv.set(KEYS.edge(record.id), record, {
        expireIn: edgeRecordTtlMs(record),
      });
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
    await this.#d.track(
      "delete edge record",
      () => this.#kv.delete(KEYS.edge(id)),
    );
    await this.#d.publish({ kind: "edge.deregistered", edgeId: id });
  }

  async setDraining(
    id: string,
    draining: boolean,
    nowMs: number,
  ): Promise<void> {
    await this.#d.track("write drain flag", async () => {
      if (draining) {
        await this.#kv.set(
          KEYS.drain(id),
          { sinceMs: nowMs } satisfies DrainValue,
        );
      } else await this.#kv.delete(KEYS.drain(id));
    });
    await this.#d.publish({ kind: "edge.drain", edgeId: id, draining });
  }

  reportHealth(
    schedulerId: string,
    views: readonly { edgeId: string; up: boolean; lastError: string }[],
    nowMs: number,
    ttlMs: number,
  ): Promise<void> {
    return this.#d.track("write health views", async () => {
      for (let i = 0; i < views.length; i += MAX_MUTATIONS_PER_COMMIT) {
        const op = this.#kv.atomic();
        for (const v of views.slice(i, i + MAX_MUTATIONS_PER_COMMIT)) {
          const value: HealthView = {
            edgeId: v.edgeId,
            schedulerId,
            up: v.up,
            lastError: v.lastError.slice(0, MAX_HEALTH_ERROR_CHARS),
            reportedAtMs: nowMs,
            ttlMs,
          };
          op.set(KEYS.health(v.edgeId, schedulerId), value, {
            expireIn: Math.max(1, ttlMs),
          });
        }
        await op.commit();
      }
    });
  }

  snapshot(nowMs: number): Promise<RegistrySnapshot> {
    return this.#d.track("read edge registry", async () => {
      const edges: EdgeRecord[] = [];
      for await (const e of this.#kv.list<EdgeRecord>({ prefix: KEYS.edges })) {
        if (isEdgeFresh(e.value, nowMs)) edges.push(e.value);
      }
      const drains = new Map<string, number>();
      for await (
        const e of this.#kv.list<DrainValue>({ prefix: KEYS.drains })
      ) {
        drains.set(e.key[1] as string, e.value.sinceMs);
      }
      const health: HealthView[] = [];
      for await (
        const e of this.#kv.list<HealthView>({ prefix: KEYS.allHealth })
      ) {
        if (isViewFresh(e.value, nowMs)) health.push(e.value);
      }
      // KV lists in key order, so edges come sorted by id already.
      return { edges, drains, health };
    });
  }
}
