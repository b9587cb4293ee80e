/**
 * {@link SharedStore} over Redis 7: one Redis (standalone, or found through Sentinel) shared
 * by every node of a deployment, across machines and regions.
 *
 * Atomicity: every read-check-write is one Lua script (`_scripts.ts`), which Redis runs alone,
 * so of two nodes racing for a token's last use exactly one wins, with no retry loop.
 *
 * The change feed is a Redis Stream. Each event is appended by a script that also bumps a seq
 * counter, so the order is one for every writer. Each store reads it on a second connection
 * with a blocking `XREAD` from the last entry id it saw. We chose Streams over pub/sub because
 * a pub/sub message sent while a node is disconnected is lost, whereas `XREAD` from the last
 * id after a reconnect returns exactly what was published meanwhile (within the retention):
 * catch-up costs nothing extra. Revocations also leave tombstones, which a store re-reads after
 * an outage and at open, so even a feed trimmed or lost (a Redis restarted without
 * persistence) cannot un-revoke a token.
 *
 * Outages: commands are never queued while the connection is down (`enableOfflineQueue:
 * false`) nor re-sent after a reconnect (a spend must not count twice), so a call fails at
 * once with `STORE_UNAVAILABLE` and changes nothing; in-memory answers (`isRevoked`) go on;
 * ioredis reconnects in the background; `health()` says down and the loss is logged once.
 *
 * @module
 */

import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "../../log/mod.ts";
import { describeError } from "../../log/mod.ts";
import { HealthTracker } from "../_health.ts";
import { StoreError, StoreErrorCode } from "../errors.ts";
import type {
  EdgeRegistry,
  FeedEntry,
  FeedEvent,
  NodeDirectory,
  ResumePositions,
  SharedStore,
  SpendRefusal,
  SpendResult,
  StoreHealth,
  StreamDirectory,
  TokenRecord,
  TokenState,
} from "../types.ts";
import { DEFAULT_KEY_PREFIX, type RedisKeys, redisKeys } from "./_keys.ts";
import {
  CREATE_TOKEN,
  PUBLISH,
  REVOKE_TOKEN,
  SPEND_TOKEN,
} from "./_scripts.ts";
import { RedisEdgeRegistry } from "./edges.ts";
import { RedisStreamDirectory } from "./streams.ts";
import { RedisNodeDirectory, RedisResumePositions } from "./nodes.ts";

/** Feed entries are trimmed after this long (ms); tombstones outlive them. */
export const FEED_RETENTION_MS = 24 * 3600 * 1000;
/**
 * Records and tombstones stay this long (ms) past their token's expiry, so a late check answers
 * "expired" or "revoked" rather than "unknown" (the same grace as the KV backend).
 */
export const EXPIRED_GRACE_MS = 3600 * 1000;
/** Longest a blocking feed read waits before it is issued again (ms). */
export const FEED_BLOCK_MS = 5_000;
/** Most feed entries read in one round trip. */
export const FEED_BATCH = 500;
/** Default ceiling of the wait between two reconnect attempts (ms). */
export const DEFAULT_MAX_RECONNECT_DELAY_MS = 2_000;
/** Default time a command may take before it fails (ms). */
export const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;
/** Default time the first connection may take at open (ms). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** Keys read per SCAN step (`listTokens`, tombstones). */
const SCAN_COUNT = 1000;
/** How often (ms) revocations past their token's expiry are dropped from memory. */
const PRUNE_INTERVAL_MS = 10_000;

/** Options of {@link RedisStore.open}. */
export interface RedisStoreOptions {
  /** Where listener failures and outages are reported. @default silent */
  readonly log?: Logger;
  /** Wall clock in Unix ms (pruning, health timestamps). @default Date.now */
  readonly clock?: () => number;
  /** Prefix of every key. @default "meridian:" */
  readonly keyPrefix?: string;
  /** Ceiling of the reconnect backoff (ms). @default 2000 */
  readonly maxReconnectDelayMs?: number;
  /** A command not answered by then fails (ms). @default 5000 */
  readonly commandTimeoutMs?: number;
  /** Open fails when the first connection takes longer (ms). @default 5000 */
  readonly connectTimeoutMs?: number;
  /** Shown in logs and `health()` instead of the connection details. @default "redis" */
  readonly location?: string;
}

/** The scripts, as `defineCommand` adds them to the connection (EVALSHA, EVAL on NOSCRIPT). */
interface ScriptCommands {
  meridianCreateToken(
    key: string,
    record: string,
    ttlMs: number,
  ): Promise<number>;
  meridianSpendToken(
    token: string,
    tombstone: string,
    nowMs: number,
    hasApp: string,
    app: string,
  ): Promise<[number, string, number?]>;
  meridianPublish(
    feed: string,
    seq: string,
    event: string,
    retentionMs: number,
  ): Promise<number>;
  meridianRevokeToken(
    token: string,
    tombstone: string,
    feed: string,
    seq: string,
    nowMs: number,
    graceMs: number,
    retentionMs: number,
  ): Promise<number>;
}

const scripts = (r: Redis) => r as unknown as ScriptCommands;

/** ioredis' XREAD reply: `[[stream, [[id, [field, value, …]], …]]]`. */
type XReadReply = [string, [string, string[]][]][] | null;

/** Compares two stream ids `ms-seq` numerically: negative when `a` is older. */
function compareIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split("-").map(BigInt);
  const [bm = 0n, bs = 0n] = b.split("-").map(BigInt);
  if (am !== bm) return am < bm ? -1 : 1;
  return as === bs ? 0 : as < bs ? -1 : 1;
}

function field(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === name) return fields[i + 1];
  }
  return undefined;
}

function tokenTtlMs(r: Pick<TokenRecord, "createdAtMs" | "expiresAtMs">) {
  return Math.ceil(
    Math.max(1, r.expiresAtMs - r.createdAtMs) + EXPIRED_GRACE_MS,
  );
}

/**
 * The Redis implementation of {@link SharedStore}. Open with {@link RedisStore.open}, or
 * through `openStore` with a `redis://` `store.url`.
 *
 * @example
 * ```ts ignore
 * import { RedisStore } from "./store.ts";
 * const store = await RedisStore.open({ host: "127.0.0.1", port: 6379 });
 * console.log(store.health().up);
 * await store.close();
 * ```
 */
export class RedisStore implements SharedStore {
  readonly edges: EdgeRegistry;
  readonly streams: StreamDirectory;
  readonly nodes: NodeDirectory;
  readonly resume: ResumePositions;
  readonly #cmd: Redis;
  readonly #feedConn: Redis;
  readonly #keys: RedisKeys;
  readonly #log: Logger | undefined;
  readonly #clock: () => number;
  readonly #health: HealthTracker;
  /** Revoked token → its expiry (Unix ms): the hot-path cache. */
  readonly #revoked = new Map<string, number>();
  readonly #listeners = new Set<(entry: FeedEntry) => void>();
  readonly #pending = new Set<Promise<unknown>>();
  /** Id of the last feed entry delivered (`0-0`: from the stream's start). */
  #lastId = "0-0";
  #lastSeq = 0;
  #lastPruneMs = 0;
  /** Set after a failure: re-check the stream and re-read tombstones before reading on. */
  #resync = false;
  #closed = false;
  #loop: Promise<void> | undefined;
  #wakeBackoff: (() => void) | undefined;

  private constructor(cmd: Redis, feedConn: Redis, options: RedisStoreOptions) {
    this.#cmd = cmd;
    this.#feedConn = feedConn;
    this.#keys = redisKeys(options.keyPrefix ?? DEFAULT_KEY_PREFIX);
    this.#log = options.log;
    this.#clock = options.clock ?? Date.now;
    this.#health = new HealthTracker(
      "redis",
      options.location ?? "redis",
      options.log,
      this.#clock,
    );
    const track = <T>(what: string, op: (r: Redis) => Promise<T>) =>
      this.#track(what, op);
    this.edges = new RedisEdgeRegistry(this.#keys, {
      track,
      publish: (event) => this.publish(event),
    });
    this.streams = new RedisStreamDirectory(this.#keys, { track });
    this.nodes = new RedisNodeDirectory(this.#keys, { track });
    this.resume = new RedisResumePositions(this.#keys, { track });
    cmd.defineCommand("meridianCreateToken", {
      numberOfKeys: 1,
      lua: CREATE_TOKEN,
    });
    cmd.defineCommand("meridianSpendToken", {
      numberOfKeys: 2,
      lua: SPEND_TOKEN,
    });
    cmd.defineCommand("meridianPublish", { numberOfKeys: 2, lua: PUBLISH });
    cmd.defineCommand("meridianRevokeToken", {
      numberOfKeys: 4,
      lua: REVOKE_TOKEN,
    });
    for (const conn of [cmd, feedConn]) {
      // ioredis prints unhandled "error" events; the health tracker reports them instead.
      conn.on("error", (err: unknown) => this.#onConnectionLost(err));
      conn.on(
        "close",
        () => this.#onConnectionLost(new Error("connection closed")),
      );
      conn.on("ready", () => this.#onConnectionReady());
    }
  }

  /**
   * Connects (two connections: commands and the feed), reads the feed position and the
   * revocations, and starts the feed.
   *
   * @param connection ioredis options (host, port, password, tls, sentinels…).
   * @throws {StoreError} `STORE_OPEN_FAILED` when Redis cannot be reached within
   *   `connectTimeoutMs`.
   */
  static async open(
    connection: RedisOptions,
    options: RedisStoreOptions = {},
  ): Promise<RedisStore> {
    const maxDelay = options.maxReconnectDelayMs ??
      DEFAULT_MAX_RECONNECT_DELAY_MS;
    const base: RedisOptions = {
      ...connection,
      lazyConnect: true,
      // Fail at once while disconnected, and never re-send a command whose answer was lost.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      retryStrategy: (times: number) =>
        Math.min(50 * 2 ** Math.min(times, 10), maxDelay),
      connectionName: "meridian",
    };
    const cmd = new Redis({
      ...base,
      commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    });
    // No command timeout on the feed connection: its reads block on purpose.
    const feedConn = new Redis({ ...base, connectionName: "meridian-feed" });
    const store = new RedisStore(cmd, feedConn, options);
    const where = options.location ?? "redis";
    try {
      await Promise.all([cmd.connect(), feedConn.connect()]);
      await store.#start();
    } catch (cause) {
      store.#closed = true;
      cmd.disconnect();
      feedConn.disconnect();
      throw new StoreError(
        StoreErrorCode.OpenFailed,
        `Cannot open shared store: ${where} (${describeError(cause)})`,
        { cause },
      );
    }
    return store;
  }

  async #start(): Promise<void> {
    // Read the feed position before the tombstones: a revocation landing in between is then
    // seen twice (harmless), never missed.
    const last = await this.#cmd.xrevrange(
      this.#keys.feed,
      "+",
      "-",
      "COUNT",
      1,
    );
    this.#lastId = last[0]?.[0] ?? "0-0";
    const seq = last[0] ? Number(field(last[0][1], "s")) : 0;
    this.#lastSeq = Number.isFinite(seq) ? seq : 0;
    await this.#loadTombstones();
    this.#loop = this.#feedLoop();
  }

  #onConnectionLost(err: unknown): void {
    if (this.#closed) return;
    this.#resync = true;
    this.#health.markDown(err);
  }

  /** Up again once both connections are ready (a command timeout leaves them so). */
  #onConnectionReady(): void {
    if (this.#closed || this.#health.up) return;
    if (this.#cmd.status === "ready" && this.#feedConn.status === "ready") {
      this.#health.markUp();
      this.#wakeBackoff?.();
    }
  }

  async #loadTombstones(): Promise<void> {
    const prefix = this.#keys.revokedPrefix;
    let cursor = "0";
    do {
      const [next, keys] = await this.#cmd.scan(
        cursor,
        "MATCH",
        this.#keys.revokedPattern,
        "COUNT",
        SCAN_COUNT,
      );
      cursor = next;
      if (keys.length === 0) continue;
      const values = await this.#cmd.mget(...keys);
      keys.forEach((k, i) => {
        const v = values[i];
        if (v !== null && v !== undefined) {
          this.#revoked.set(k.slice(prefix.length), Number(v));
        }
      });
    } while (cursor !== "0");
  }

  /** After an outage: the stream may have been trimmed or lost (a restart without persistence). */
  async #resyncAfterOutage(): Promise<void> {
    const last = await this.#cmd.xrevrange(
      this.#keys.feed,
      "+",
      "-",
      "COUNT",
      1,
    );
    const newest = last[0]?.[0];
    if (newest === undefined || compareIds(newest, this.#lastId) < 0) {
      if (this.#lastId !== "0-0") {
        this.#log?.warn(
          "shared store feed was reset; reading it from its start",
          {
            lastSeen: this.#lastSeq,
          },
        );
      }
      this.#lastId = "0-0";
      this.#lastSeq = 0;
    }
    await this.#loadTombstones();
  }

  #backoff(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wakeBackoff = done;
    });
  }

  async #feedLoop(): Promise<void> {
    let failures = 0;
    while (!this.#closed) {
      try {
        if (this.#resync) {
          this.#resync = false;
          await this.#resyncAfterOutage();
        }
        const reply = await this.#feedConn.xread(
          "COUNT",
          FEED_BATCH,
          "BLOCK",
          FEED_BLOCK_MS,
          "STREAMS",
          this.#keys.feed,
          this.#lastId,
        ) as XReadReply;
        failures = 0;
        this.#onConnectionReady();
        for (const [, entries] of reply ?? []) {
          for (const [id, fields] of entries) this.#onEntry(id, fields);
        }
        this.#prune();
      } catch (err) {
        if (this.#closed) return;
        this.#resync = true;
        this.#health.markDown(err);
        // Woken early when both connections are ready again.
        await this.#backoff(
          Math.min(100 * 2 ** Math.min(failures++, 5), 2_000),
        );
      }
    }
  }

  #onEntry(id: string, fields: readonly string[]): void {
    this.#lastId = id;
    const seq = Number(field(fields, "s"));
    const json = field(fields, "e");
    if (json === undefined) return;
    let event: FeedEvent;
    try {
      event = JSON.parse(json) as FeedEvent;
    } catch (err) {
      this.#log?.error("feed entry unreadable; skipped", {
        id,
        error: describeError(err),
      });
      return;
    }
    if (seq !== this.#lastSeq + 1 && this.#lastSeq !== 0) {
      // Trimmed by retention, or a reset store: tombstones still hold every revocation.
      this.#log?.warn("feed gap; reloading revocations", {
        from: this.#lastSeq + 1,
        to: seq - 1,
      });
      this.#loadTombstones().catch((e) => this.#onConnectionLost(e));
    }
    this.#lastSeq = seq;
    this.#deliver({ seq, event });
  }

  #deliver(entry: FeedEntry): void {
    if (entry.event.kind === "token.revoked") {
      this.#revoked.set(entry.event.token, entry.event.expiresAtMs);
    }
    for (const listener of this.#listeners) {
      try {
        listener(entry);
      } catch (err) {
        this.#log?.error("feed listener failed", {
          seq: entry.seq,
          kind: entry.event.kind,
          error: describeError(err),
        });
      }
    }
  }

  #prune(): void {
    const now = this.#clock();
    if (now - this.#lastPruneMs < PRUNE_INTERVAL_MS) return;
    this.#lastPruneMs = now;
    for (const [token, expiresAtMs] of this.#revoked) {
      if (expiresAtMs + EXPIRED_GRACE_MS < now) this.#revoked.delete(token);
    }
  }

  /**
   * Runs `op` on the command connection unless closed, lets `close()` wait for it, and turns a
   * connection failure into `STORE_UNAVAILABLE` (the call changed nothing, or its effect is
   * unknown only when the connection dropped mid-reply).
   */
  #track<T>(what: string, op: (r: Redis) => Promise<T>): Promise<T> {
    if (this.#closed) {
      return Promise.reject(
        new StoreError(
          StoreErrorCode.Closed,
          `Cannot ${what}: store is closed`,
        ),
      );
    }
    const p = (async () => {
      try {
        const value = await op(this.#cmd);
        this.#onConnectionReady();
        return value;
      } catch (err) {
        if (err instanceof StoreError) throw err;
        // A script or reply error is ours to see; anything else is the connection.
        const name = (err as { name?: string }).name;
        if (name === "ReplyError") throw err;
        this.#onConnectionLost(err);
        throw new StoreError(
          StoreErrorCode.Unavailable,
          `Cannot ${what}: shared store unreachable (${this.#health.snapshot().location})`,
          { cause: err },
        );
      }
    })();
    this.#pending.add(p);
    const forget = () => this.#pending.delete(p);
    p.then(forget, forget);
    return p;
  }

  createToken(record: TokenRecord): Promise<void> {
    return this.#track("create token", async (r) => {
      const created = await scripts(r).meridianCreateToken(
        this.#keys.token(record.token),
        JSON.stringify(record),
        tokenTtlMs(record),
      );
      if (created !== 1) {
        throw new StoreError(
          StoreErrorCode.TokenExists,
          "Cannot create token: the value is already taken",
        );
      }
    });
  }

  getToken(token: string): Promise<TokenState | undefined> {
    return this.#track("get token", async (r) => {
      const [rec, uses] = await r.hmget(this.#keys.token(token), "r", "u");
      if (rec === null || rec === undefined) return undefined;
      return {
        ...(JSON.parse(rec) as TokenRecord),
        usesSpent: Number(uses ?? 0),
      };
    });
  }

  spendTokenUse(
    token: string,
    nowMs: number,
    app?: string,
  ): Promise<SpendResult> {
    return this.#track("spend token use", async (r) => {
      const reply = await scripts(r).meridianSpendToken(
        this.#keys.token(token),
        this.#keys.revoked(token),
        Math.floor(nowMs),
        app === undefined ? "0" : "1",
        app ?? "",
      );
      if (reply[0] !== 1) {
        return { ok: false, reason: reply[1] as SpendRefusal };
      }
      const rec = JSON.parse(reply[1]) as TokenRecord;
      return { ok: true, state: { ...rec, usesSpent: Number(reply[2]) } };
    });
  }

  revokeToken(token: string, nowMs: number): Promise<boolean> {
    return this.#track("revoke token", async (r) => {
      const expiresAtMs = Number(
        await scripts(r).meridianRevokeToken(
          this.#keys.token(token),
          this.#keys.revoked(token),
          this.#keys.feed,
          this.#keys.feedSeq,
          Math.floor(nowMs),
          EXPIRED_GRACE_MS,
          FEED_RETENTION_MS,
        ),
      );
      if (!expiresAtMs) return false;
      // Effective here at once; other stores learn it from the feed.
      this.#revoked.set(token, expiresAtMs);
      return true;
    });
  }

  listTokens(): Promise<TokenState[]> {
    return this.#track("list tokens", async (r) => {
      const out: TokenState[] = [];
      let cursor = "0";
      do {
        const [next, keys] = await r.scan(
          cursor,
          "MATCH",
          this.#keys.tokenPattern,
          "COUNT",
          SCAN_COUNT,
        );
        cursor = next;
        if (keys.length === 0) continue;
        const pipe = r.pipeline();
        for (const k of keys) pipe.hmget(k, "r", "u");
        for (const [err, v] of (await pipe.exec()) ?? []) {
          if (err) throw err;
          const [rec, uses] = v as [string | null, string | null];
          if (rec !== null) {
            out.push({
              ...(JSON.parse(rec) as TokenRecord),
              usesSpent: Number(uses ?? 0),
            });
          }
        }
      } while (cursor !== "0");
      return out;
    });
  }

  isRevoked(token: string): boolean {
    return this.#revoked.has(token);
  }

  publish(event: FeedEvent): Promise<void> {
    return this.#track("publish feed event", async (r) => {
      await scripts(r).meridianPublish(
        this.#keys.feed,
        this.#keys.feedSeq,
        JSON.stringify(event),
        FEED_RETENTION_MS,
      );
    });
  }

  subscribe(listener: (entry: FeedEntry) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  ensureSecret(name: string, create: () => string): Promise<string> {
    return this.#track("ensure secret", async (r) => {
      const key = this.#keys.secret(name);
      const existing = await r.get(key);
      if (existing !== null) return existing;
      const value = create();
      // SET NX GET (Redis 7): stores ours unless one exists, and returns the one that did.
      const before = await r.call("SET", key, value, "NX", "GET") as
        | string
        | null;
      return before ?? value;
    });
  }

  /** The feed is pushed (a blocking read), so there is no poll to speed up. */
  requestPollInterval(_intervalMs: number): () => void {
    return () => {};
  }

  health(): StoreHealth {
    return this.#health.snapshot();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wakeBackoff?.();
    // Ends the blocking read at once (it rejects), then the loop sees #closed.
    this.#feedConn.disconnect();
    await this.#loop;
    await Promise.allSettled([...this.#pending]);
    this.#listeners.clear();
    await this.#cmd.quit().catch(() => this.#cmd.disconnect());
  }
}
