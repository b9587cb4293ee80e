/**
 * {@link SharedStore} over Deno KV: a local SQLite file shared by the processes of one machine, or
 * a KV Connect URL shared by many machines.
 *
 * Atomicity comes from `kv.atomic().check(versionstamp)`: every read-modify-write checks that
 * what it read is still current and retries otherwise, so two processes can never both spend
 * the last use of a token.
 *
 * The change feed: `kv.watch` only reports writes made by the same process on a local file, so
 * it cannot carry a revocation from one process to another. Instead every event is written
 * under `["feed", seq]` in the same atomic commit that bumps `["feed_seq"]`, which makes `seq`
 * gap-free and ordered across writers; each store polls the prefix from the last `seq` it saw.
 * `kv.watch` on `["feed_seq"]` is added on top to wake the poll at once where it does fire (the
 * same process, KV Connect).
 *
 * @module
 */

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
  SpendResult,
  StoreHealth,
  StreamDirectory,
  TokenRecord,
  TokenState,
} from "../types.ts";
import { KEYS, type Tombstone } from "./_keys.ts";
import { KvEdgeRegistry } from "./edges.ts";
import { KvStreamDirectory } from "./streams.ts";
import { KvNodeDirectory, KvResumePositions } from "./nodes.ts";

/** Default interval between feed polls (ms): the bound on cross-process revocation lag. */
export const DEFAULT_POLL_INTERVAL_MS = 200;
/** Feed events are dropped by KV after this long (ms); tombstones outlive them. */
export const FEED_RETENTION_MS = 24 * 3600 * 1000;
/**
 * Records and tombstones stay this long (ms) past their token's expiry, so a late check answers
 * "expired" or "revoked" rather than "unknown".
 */
export const EXPIRED_GRACE_MS = 3600 * 1000;
/** Attempts of one optimistic read-check-write before giving up with `STORE_CONTENTION`. */
export const MAX_ATOMIC_ATTEMPTS = 64;
/** Attempts of one operation while SQLite reports the database locked by another writer. */
export const MAX_BUSY_ATTEMPTS = 200;
/** Upper bound (ms) of the random wait between two attempts. */
const MAX_BACKOFF_MS = 20;
/** How often (ms) revocations past their token's expiry are dropped from memory. */
const PRUNE_INTERVAL_MS = 10_000;

/** Options of {@link KvStore.open}. */
export interface KvStoreOptions {
  /** Feed poll interval in ms. @default 200 */
  readonly pollIntervalMs?: number;
  /** Also wake the poll through `kv.watch` (helps in-process and on KV Connect). @default true */
  readonly watch?: boolean;
  /** Where listener and feed failures are reported. @default silent */
  readonly log?: Logger;
  /** Wall clock in Unix ms, for pruning the revocation cache. @default Date.now */
  readonly clock?: () => number;
}

function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(MAX_BACKOFF_MS, 1 + attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** True for SQLite's SQLITE_BUSY / SQLITE_LOCKED, as Deno KV reports them. */
function isBusy(err: unknown): boolean {
  return err instanceof Error &&
    /database (?:table )?is locked|SQLITE_BUSY/i.test(err.message);
}

function usesOf(entry: Deno.KvEntryMaybe<Deno.KvU64>): number {
  return entry.value === null ? 0 : Number(entry.value.value);
}

/**
 * The Deno KV implementation of {@link SharedStore}.
 *
 * @example
 * ```ts
 * import { KvStore } from "./store.ts";
 * const dir = await Deno.makeTempDir();
 * const store = await KvStore.open(`${dir}/m.kv`);
 * const now = Date.now();
 * await store.createToken({ token: "AbCdEfGh12345678", app: null, createdAtMs: now, expiresAtMs: now + 60_000, maxUses: 1 });
 * const first = await store.spendTokenUse("AbCdEfGh12345678", now);
 * const second = await store.spendTokenUse("AbCdEfGh12345678", now);
 * await store.close();
 * await Deno.remove(dir, { recursive: true });
 * if (!first.ok || second.ok) throw new Error("one use only");
 * ```
 */
export class KvStore implements SharedStore {
  readonly edges: EdgeRegistry;
  readonly streams: StreamDirectory;
  readonly nodes: NodeDirectory;
  readonly resume: ResumePositions;
  readonly #kv: Deno.Kv;
  readonly #pollIntervalMs: number;
  readonly #log: Logger | undefined;
  readonly #clock: () => number;
  readonly #health: HealthTracker;
  /** Revoked token → its expiry (Unix ms): the hot-path cache. */
  readonly #revoked = new Map<string, number>();
  readonly #listeners = new Set<(entry: FeedEntry) => void>();
  readonly #pending = new Set<Promise<unknown>>();
  #lastSeq = 0;
  #lastPruneMs = 0;
  #closed = false;
  #loop: Promise<void> | undefined;
  #watchReader: ReadableStreamDefaultReader<unknown> | undefined;
  #watchDone: Promise<void> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #wakeSleep: (() => void) | undefined;
  #wakeRequested = false;
  /** Standing requests for a faster feed poll (see `requestPollInterval`). */
  readonly #pollRequests = new Map<symbol, number>();

  private constructor(kv: Deno.Kv, path: string, options: KvStoreOptions) {
    this.#kv = kv;
    this.#pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.#log = options.log;
    this.#clock = options.clock ?? Date.now;
    this.#health = new HealthTracker("kv", path, options.log, this.#clock);
    this.edges = new KvEdgeRegistry(kv, {
      track: (what, op) => this.#track(what, op),
      publish: (event) => this.publish(event),
    });
    this.streams = new KvStreamDirectory(kv, {
      track: (what, op) => this.#track(what, op),
    });
    this.nodes = new KvNodeDirectory(kv, {
      track: (what, op) => this.#track(what, op),
    });
    this.resume = new KvResumePositions(kv, {
      track: (what, op) => this.#track(what, op),
    });
  }

  /**
   * Opens the KV database at `path` (a file path or a KV Connect URL) and starts the feed.
   *
   * @throws {StoreError} `STORE_OPEN_FAILED` when the database cannot be opened.
   */
  static async open(
    path: string,
    options: KvStoreOptions = {},
  ): Promise<KvStore> {
    let kv: Deno.Kv;
    try {
      kv = await Deno.openKv(path);
    } catch (cause) {
      throw new StoreError(
        StoreErrorCode.OpenFailed,
        `Cannot open shared store: ${path}`,
        { cause },
      );
    }
    const store = new KvStore(kv, path, options);
    try {
      await store.#start(options.watch ?? true);
    } catch (cause) {
      kv.close();
      throw new StoreError(
        StoreErrorCode.OpenFailed,
        `Cannot read the change feed of shared store: ${path}`,
        { cause },
      );
    }
    return store;
  }

  async #start(watch: boolean): Promise<void> {
    // Read the feed position before the tombstones: a revocation landing in between is then
    // seen twice (harmless), never missed.
    const seq = await this.#kv.get<number>(KEYS.feedSeq);
    this.#lastSeq = seq.value ?? 0;
    await this.#loadTombstones();
    if (watch) this.#startWatch();
    this.#loop = this.#pollLoop();
  }

  async #loadTombstones(): Promise<void> {
    for await (
      const e of this.#kv.list<Tombstone>({ prefix: KEYS.allRevoked })
    ) {
      this.#revoked.set(e.key[1] as string, e.value.expiresAtMs);
    }
  }

  #startWatch(): void {
    const reader = this.#kv.watch([KEYS.feedSeq]).getReader();
    this.#watchReader = reader;
    this.#watchDone = (async () => {
      try {
        while (true) {
          const { done } = await reader.read();
          if (done) return;
          this.#wake();
        }
      } catch (err) {
        if (!this.#closed) {
          this.#log?.warn("feed watch stopped; polling only", {
            error: describeError(err),
          });
        }
      }
    })();
  }

  #wake(): void {
    this.#wakeRequested = true;
    this.#wakeSleep?.();
  }

  #sleep(ms: number): Promise<void> {
    if (this.#wakeRequested) {
      this.#wakeRequested = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#wakeSleep = undefined;
        this.#wakeRequested = false;
        resolve();
      };
      this.#wakeSleep = done;
      this.#timer = setTimeout(done, ms);
    });
  }

  async #pollLoop(): Promise<void> {
    while (!this.#closed) {
      try {
        await this.#pollOnce();
        this.#health.markUp();
      } catch (err) {
        if (this.#closed) return;
        // Logged once per outage; the poll goes on and catches up from the last seq.
        this.#health.markDown(err);
      }
      if (this.#closed) return;
      await this.#sleep(this.#currentPollIntervalMs());
    }
  }

  #currentPollIntervalMs(): number {
    let ms = this.#pollIntervalMs;
    for (const r of this.#pollRequests.values()) ms = Math.min(ms, r);
    return ms;
  }

  requestPollInterval(intervalMs: number): () => void {
    const id = Symbol("poll request");
    this.#pollRequests.set(id, Math.max(1, intervalMs));
    // A sleep already begun at the slower interval ends now; the next one uses the new one.
    if (intervalMs < this.#pollIntervalMs) this.#wake();
    return () => {
      this.#pollRequests.delete(id);
    };
  }

  async #pollOnce(): Promise<void> {
    const iter = this.#kv.list<FeedEvent>({
      prefix: KEYS.feed,
      start: KEYS.feedEntry(this.#lastSeq + 1),
    });
    for await (const e of iter) {
      const seq = e.key[1] as number;
      if (seq !== this.#lastSeq + 1) {
        // Entries between were dropped by retention: tombstones still hold every revocation.
        this.#log?.warn("feed gap; reloading revocations", {
          from: this.#lastSeq + 1,
          to: seq - 1,
        });
        await this.#loadTombstones();
      }
      this.#lastSeq = seq;
      this.#deliver({ seq, event: e.value });
    }
    this.#prune();
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
   * Runs `op` unless closed, and lets `close()` wait for it. SQLite answers "database is locked"
   * when another handle (another process, or another store in this one) holds the write lock;
   * the transaction did not happen, so the whole operation is run again after a short wait.
   */
  #track<T>(what: string, op: () => Promise<T>): Promise<T> {
    if (this.#closed) {
      return Promise.reject(
        new StoreError(
          StoreErrorCode.Closed,
          `Cannot ${what}: store is closed`,
        ),
      );
    }
    const p = (async () => {
      for (let i = 0;; i++) {
        try {
          return await op();
        } catch (err) {
          if (!isBusy(err)) throw err;
          if (i + 1 >= MAX_BUSY_ATTEMPTS) {
            throw new StoreError(
              StoreErrorCode.Contention,
              `Cannot ${what}: database still locked after ${MAX_BUSY_ATTEMPTS} attempts`,
              { cause: err },
            );
          }
          await backoff(i);
        }
      }
    })();
    this.#pending.add(p);
    const forget = () => this.#pending.delete(p);
    p.then(forget, forget);
    return p;
  }

  /** Runs `attempt` (a read, then a checked commit) until it is done, with jittered backoff. */
  async #retry<T>(
    what: string,
    attempt: () => Promise<{ done: true; value: T } | { done: false }>,
  ): Promise<T> {
    for (let i = 0; i < MAX_ATOMIC_ATTEMPTS; i++) {
      const r = await attempt();
      if (r.done) return r.value;
      await backoff(i);
    }
    throw new StoreError(
      StoreErrorCode.Contention,
      `Cannot ${what}: still conflicting after ${MAX_ATOMIC_ATTEMPTS} attempts`,
    );
  }

  createToken(record: TokenRecord): Promise<void> {
    return this.#track("create token", async () => {
      const expireIn = Math.max(1, record.expiresAtMs - record.createdAtMs) +
        EXPIRED_GRACE_MS;
      const res = await this.#kv.atomic()
        .check({ key: KEYS.token(record.token), versionstamp: null })
        .set(KEYS.token(record.token), record, { expireIn })
        .set(KEYS.uses(record.token), new Deno.KvU64(0n), { expireIn })
        .commit();
      if (!res.ok) {
        throw new StoreError(
          StoreErrorCode.TokenExists,
          "Cannot create token: the value is already taken",
        );
      }
    });
  }

  getToken(token: string): Promise<TokenState | undefined> {
    return this.#track("get token", async () => {
      const [rec, uses] = await this.#kv.getMany<[TokenRecord, Deno.KvU64]>([
        KEYS.token(token),
        KEYS.uses(token),
      ]);
      if (rec.value === null) return undefined;
      return { ...rec.value, usesSpent: usesOf(uses) };
    });
  }

  spendTokenUse(
    token: string,
    nowMs: number,
    app?: string,
  ): Promise<SpendResult> {
    return this.#track(
      "spend token use",
      () =>
        this.#retry<SpendResult>("spend token use", async () => {
          const [rec, uses, tomb] = await this.#kv.getMany<
            [TokenRecord, Deno.KvU64, Tombstone]
          >([KEYS.token(token), KEYS.uses(token), KEYS.revoked(token)]);
          const r = rec.value;
          if (r === null) {
            return {
              done: true,
              value: { ok: false, reason: tomb.value ? "revoked" : "unknown" },
            };
          }
          if (nowMs >= r.expiresAtMs) {
            return { done: true, value: { ok: false, reason: "expired" } };
          }
          if (app !== undefined && r.app !== null && r.app !== app) {
            return { done: true, value: { ok: false, reason: "wrong_app" } };
          }
          const spent = usesOf(uses);
          if (r.maxUses > 0 && spent >= r.maxUses) {
            return { done: true, value: { ok: false, reason: "used_up" } };
          }
          const expireIn = Math.max(1, r.expiresAtMs - r.createdAtMs) +
            EXPIRED_GRACE_MS;
          // Checking the record too makes a spend racing a revocation lose.
          const res = await this.#kv.atomic()
            .check(rec)
            .check(uses)
            .set(KEYS.uses(token), new Deno.KvU64(BigInt(spent + 1)), {
              expireIn,
            })
            .commit();
          if (!res.ok) return { done: false };
          return {
            done: true,
            value: { ok: true, state: { ...r, usesSpent: spent + 1 } },
          };
        }),
    );
  }

  revokeToken(token: string, nowMs: number): Promise<boolean> {
    return this.#track(
      "revoke token",
      () =>
        this.#retry<boolean>("revoke token", async () => {
          const [rec, seq] = await this.#kv.getMany<[TokenRecord, number]>([
            KEYS.token(token),
            KEYS.feedSeq,
          ]);
          if (rec.value === null) return { done: true, value: false };
          const expiresAtMs = rec.value.expiresAtMs;
          const event: FeedEvent = {
            kind: "token.revoked",
            token,
            expiresAtMs,
          };
          const next = (seq.value ?? 0) + 1;
          const res = await this.#kv.atomic()
            .check(rec)
            .check(seq)
            .delete(KEYS.token(token))
            .delete(KEYS.uses(token))
            .set(KEYS.revoked(token), { expiresAtMs } satisfies Tombstone, {
              expireIn: Math.max(1, expiresAtMs - nowMs) + EXPIRED_GRACE_MS,
            })
            .set(KEYS.feedSeq, next)
            .set(KEYS.feedEntry(next), event, { expireIn: FEED_RETENTION_MS })
            .commit();
          if (!res.ok) return { done: false };
          // Effective here at once; other stores learn it from the feed.
          this.#revoked.set(token, expiresAtMs);
          return { done: true, value: true };
        }),
    );
  }

  listTokens(): Promise<TokenState[]> {
    return this.#track("list tokens", async () => {
      const uses = new Map<string, number>();
      for await (
        const e of this.#kv.list<Deno.KvU64>({ prefix: KEYS.allUses })
      ) {
        uses.set(e.key[1] as string, Number(e.value.value));
      }
      const out: TokenState[] = [];
      for await (
        const e of this.#kv.list<TokenRecord>({ prefix: KEYS.tokens })
      ) {
        out.push({ ...e.value, usesSpent: uses.get(e.value.token) ?? 0 });
      }
      return out;
    });
  }

  isRevoked(token: string): boolean {
    return this.#revoked.has(token);
  }

  publish(event: FeedEvent): Promise<void> {
    return this.#track(
      "publish feed event",
      () =>
        this.#retry<void>("publish feed event", async () => {
          const seq = await this.#kv.get<number>(KEYS.feedSeq);
          const next = (seq.value ?? 0) + 1;
          const res = await this.#kv.atomic()
            .check(seq)
            .set(KEYS.feedSeq, next)
            .set(KEYS.feedEntry(next), event, { expireIn: FEED_RETENTION_MS })
            .commit();
          return res.ok ? { done: true, value: undefined } : { done: false };
        }),
    );
  }

  subscribe(listener: (entry: FeedEntry) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  ensureSecret(name: string, create: () => string): Promise<string> {
    return this.#track("ensure secret", async () => {
      const key = KEYS.secret(name);
      const existing = await this.#kv.get<string>(key);
      if (existing.value !== null) return existing.value;
      const value = create();
      const res = await this.#kv.atomic().check(existing).set(key, value)
        .commit();
      if (res.ok) return value;
      // Another node stored one first: everyone uses that one.
      const winner = await this.#kv.get<string>(key);
      if (winner.value === null) {
        throw new StoreError(
          StoreErrorCode.Contention,
          `Cannot ensure secret: ${name} vanished while being created`,
        );
      }
      return winner.value;
    });
  }

  /** Up while the feed poll succeeds: the poll is the probe, every 200 ms by default. */
  health(): StoreHealth {
    return this.#health.snapshot();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake();
    await this.#watchReader?.cancel().catch(() => {});
    await this.#watchDone;
    await this.#loop;
    await Promise.allSettled([...this.#pending]);
    this.#listeners.clear();
    this.#kv.close();
  }
}
