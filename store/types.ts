/**
 * The shared-store contract: what every backend (`kv/`, `redis/`) offers, and the records it
 * keeps. Types only, plus the limits every backend enforces alike; the rules readers apply to
 * the records (freshness) are in `freshness.ts`.
 *
 * @module
 */

import type { EdgeStreamLoad } from "./stream_key.ts";

/** A minted access token, as stored. Immutable after creation (uses are counted apart). */
export interface TokenRecord {
  /** The token itself (16 characters of [A-Za-z0-9]). */
  readonly token: string;
  /** The one app it opens, or `null` for every app. */
  readonly app: string | null;
  /** Unix time in ms. */
  readonly createdAtMs: number;
  /** Unix time in ms; the token stops working at this instant. */
  readonly expiresAtMs: number;
  /** Uses it may be spent for; 0 means unlimited (only the expiry bounds it). */
  readonly maxUses: number;
}

/** A token with its current use count. */
export interface TokenState extends TokenRecord {
  /** Uses spent so far. */
  readonly usesSpent: number;
}

/** Why a token use was refused. */
export type SpendRefusal =
  | "unknown"
  | "revoked"
  | "expired"
  | "used_up"
  | "wrong_app";

/** Outcome of {@link SharedStore.spendTokenUse}. */
export type SpendResult =
  | { readonly ok: true; readonly state: TokenState }
  | { readonly ok: false; readonly reason: SpendRefusal };

/** An event every node sees through the change feed, in order. */
export type FeedEvent =
  | {
    readonly kind: "token.revoked";
    readonly token: string;
    /** Unix ms after which the revocation no longer matters (the token expired anyway). */
    readonly expiresAtMs: number;
  }
  | {
    /** Shaped like the body of `POST /admin/prefetch`: every edge warms these paths. */
    readonly kind: "prefetch";
    readonly urls: readonly string[];
  }
  | {
    /** Shaped like the body of `POST /admin/purge` (shared/INTERFACES.md). */
    readonly kind: "purge";
    readonly urls: readonly string[];
    readonly prefixes: readonly string[];
    readonly streams: readonly string[];
    readonly all: boolean;
    /**
     * Who published it (an edge's purge-bus id), so the sender can skip what it already
     * applied; absent when sent by the control role.
     */
    readonly sourceId?: string;
    /** When it was published (epoch ms), so receivers can show the purge lag. */
    readonly publishedAtMs?: number;
  }
  | {
    /** An edge joined the registry (`store.edges`): readers refresh at once. */
    readonly kind: "edge.registered";
    readonly edgeId: string;
  }
  | {
    /** An edge left the registry cleanly (shutdown). */
    readonly kind: "edge.deregistered";
    readonly edgeId: string;
  }
  | {
    /** An operator set or cleared an edge's drain flag. */
    readonly kind: "edge.drain";
    readonly edgeId: string;
    readonly draining: boolean;
  };

/** What an edge reports about its load with every heartbeat (its `/healthz` `load`). */
export interface EdgeLoad {
  /** Live viewers (HTTP-FLV sessions). */
  readonly viewers: number;
  /** Bits per second written to viewers, averaged over the last seconds. */
  readonly egressBitsPerSecond: number;
  /** Cache hit ratio 0..1. */
  readonly hitRatio: number;
  /**
   * The live streams it serves now and their viewers (`stream_key.ts`): at most
   * `MAX_EDGE_STREAMS`, the busiest first; every backend bounds it on write. Absent in
   * records of edges that report none.
   */
  readonly streams?: readonly EdgeStreamLoad[];
}

/** One edge as registered. */
export interface EdgeRecord {
  /** Unique id, `[A-Za-z0-9_.-]{1,64}`, e.g. `fra1` or `host-8080`. */
  readonly id: string;
  /** Region name that scheduler network overrides refer to; "" when unused. */
  readonly region: string;
  readonly latitude: number;
  readonly longitude: number;
  /** IPv4 answered in A records; "" when none. */
  readonly address: string;
  /** IPv6 answered in AAAA records; "" when none. */
  readonly address6: string;
  /** Where the edge's HTTP port is reached (health checks), e.g. `http://10.0.0.5:8080`. */
  readonly baseUrl: string;
  /** Egress capacity in bits/s; 0 means unknown. */
  readonly capacityBps: number;
  /** Viewer capacity; 0 means unlimited. */
  readonly capacityViewers: number;
  /** Seconds between heartbeats; sets the expiry. */
  readonly heartbeatSeconds: number;
  /** Unix ms of this registration (a restart registers anew). */
  readonly registeredAtMs: number;
  /** Unix ms of the last heartbeat. */
  readonly updatedAtMs: number;
  readonly load: EdgeLoad;
}

/** One scheduler's opinion of one edge's health. */
export interface HealthView {
  readonly edgeId: string;
  readonly schedulerId: string;
  readonly up: boolean;
  readonly lastError: string;
  /** Unix ms when the scheduler wrote it. */
  readonly reportedAtMs: number;
  /** The view counts for this long after `reportedAtMs` (ms). */
  readonly ttlMs: number;
}

/** Longest `lastError` a health view keeps (characters); longer ones are cut. */
export const MAX_HEALTH_ERROR_CHARS = 200;

/** Everything a scheduler reads from the registry in one refresh. */
export interface RegistrySnapshot {
  /** Fresh edges only, sorted by id. */
  readonly edges: readonly EdgeRecord[];
  /** Drained edge ids → Unix ms when the drain was set. */
  readonly drains: ReadonlyMap<string, number>;
  /** Fresh health views only. */
  readonly health: readonly HealthView[];
}

/**
 * The edge registry: which edges exist, where they are, how loaded they are, whether an
 * operator drained them, and what each scheduler's health monitor thinks of them;
 * `store.edges` of every {@link SharedStore}.
 *
 * Liveness is a heartbeat: an edge rewrites its record every `heartbeatSeconds`; the backend
 * expires it after `EXPIRY_HEARTBEATS` missed beats (`freshness.ts`), and readers also drop it
 * when `updatedAtMs` is that old, because backends delete expired keys lazily.
 */
export interface EdgeRegistry {
  /** Writes the record and announces it on the feed (`edge.registered`). */
  register(record: EdgeRecord): Promise<void>;
  /** Rewrites the record (new load, new `updatedAtMs`), pushing its expiry back. */
  heartbeat(record: EdgeRecord): Promise<void>;
  /** Deletes the record and announces it (`edge.deregistered`); the drain flag stays. */
  deregister(id: string): Promise<void>;
  /**
   * Sets or clears an operator drain flag and announces it (`edge.drain`). The flag is kept
   * apart from the record, so it survives the edge's restarts and expiry.
   */
  setDraining(id: string, draining: boolean, nowMs: number): Promise<void>;
  /** Writes one scheduler's view of several edges (`lastError` cut to {@link MAX_HEALTH_ERROR_CHARS}). */
  reportHealth(
    schedulerId: string,
    views: readonly {
      readonly edgeId: string;
      readonly up: boolean;
      readonly lastError: string;
    }[],
    nowMs: number,
    ttlMs: number,
  ): Promise<void>;
  /** Fresh edges, drains and fresh health views. */
  snapshot(nowMs: number): Promise<RegistrySnapshot>;
}

/** One live stream in an origin's listing. */
export interface DirectoryStream {
  readonly app: string;
  readonly name: string;
  /** ISO 8601. */
  readonly startedAt: string;
  /** Viewers on the origin itself (edges fan out further). */
  readonly viewers: number;
  /** Media bytes received since the publish started. */
  readonly bytesIn: number;
  readonly codecs: { readonly video?: string; readonly audio?: string };
  /** How it is published: `rtmp`, `virtual`, `relay`… */
  readonly protocol: string;
  /** Viewers on the origin by protocol (`flv`, `rtmp`); HLS viewers hold no connection. */
  readonly viewersByProtocol?: Readonly<Record<string, number>>;
  /** Who publishes: peer address and the encoder its metadata names ("" when none). */
  readonly publisher?: { readonly address: string; readonly software: string };
  /** The picture as the metadata declares it (0 when unknown). */
  readonly video?: {
    readonly width: number;
    readonly height: number;
    readonly fps: number;
  };
}

/**
 * Most bytes (JSON characters) of the streams of one listing: Deno KV values are at most 64 KiB,
 * so a writer lists streams up to this and counts the rest in `omitted`.
 */
export const MAX_LISTING_STREAM_BYTES = 48 * 1024;

/** One origin's streams, as announced. */
export interface OriginListing {
  /** Unique per origin process, e.g. `host-a:8090`. */
  readonly originId: string;
  /** Where the origin's HTTP port is reached, e.g. `http://10.0.0.5:8090` (no trailing slash). */
  readonly httpUrl: string;
  /** Where its RTMP port is reached, e.g. `rtmp://10.0.0.5:1935`. */
  readonly rtmpUrl: string;
  readonly streams: readonly DirectoryStream[];
  /** Streams left out to keep the listing under {@link MAX_LISTING_STREAM_BYTES}. */
  readonly omitted: number;
  /** Unix ms of this announcement. */
  readonly updatedAtMs: number;
  /** The listing counts for this long after `updatedAtMs` (ms). */
  readonly ttlMs: number;
}

/**
 * The stream directory: which live streams each origin sharing the store has, so the control
 * role can list the streams of every origin without asking them; `store.streams` of every
 * {@link SharedStore}. Each origin rewrites its own listing; it expires after `ttlMs`, so an
 * origin that dies vanishes without anyone cleaning up.
 */
export interface StreamDirectory {
  /** Writes (replaces) the origin's listing, expiring after its `ttlMs`. */
  announce(listing: OriginListing): Promise<void>;
  /** Deletes the origin's listing (clean shutdown). */
  withdraw(originId: string): Promise<void>;
  /** Fresh listings only, sorted by origin id. */
  list(nowMs: number): Promise<OriginListing[]>;
}

/** One process of the deployment as it announces itself (`store.nodes`). */
export interface NodeRecord {
  /** Unique per process, e.g. `host-a:8088` or `host-a:pid-1234`. */
  readonly id: string;
  /** Roles this process runs (`origin`, `edge`, `scheduler`, `control`). */
  readonly roles: readonly string[];
  /** Meridian's version (deno.json `version`, or `dev`). */
  readonly version: string;
  /** Host name of the machine. */
  readonly hostname: string;
  /** Unix ms of the process start. */
  readonly startedAtMs: number;
  /** Where each port is reached, by name (`origin.http`: `http://10.0.0.5:8090`…). */
  readonly endpoints: Readonly<Record<string, string>>;
  /** Share of one core used over the last announce interval (0..cores). */
  readonly cpu: number;
  /** Resident set size in bytes. */
  readonly rssBytes: number;
  /**
   * Rates computed over the last interval, by name (`dnsQueriesPerSecond`…); what a node
   * has depends on its roles.
   */
  readonly rates: Readonly<Record<string, number>>;
  /** Unix ms of this announcement. */
  readonly updatedAtMs: number;
  /** The record counts for this long after `updatedAtMs` (ms). */
  readonly ttlMs: number;
}

/** Longest JSON of one {@link NodeRecord} a backend stores (characters). */
export const MAX_NODE_RECORD_BYTES = 16 * 1024;

/**
 * The node directory: every process sharing the store, what it runs and how loaded it is, for
 * the console's overview; `store.nodes` of every {@link SharedStore}. Each process rewrites
 * its own record; it expires after `ttlMs`, so a process that dies vanishes on its own.
 */
export interface NodeDirectory {
  /**
   * Writes (replaces) the record, expiring after its `ttlMs`.
   * @throws {StoreError} `STORE_BAD_VALUE` when its JSON is over {@link MAX_NODE_RECORD_BYTES}.
   */
  announce(record: NodeRecord): Promise<void>;
  /** Deletes the record (clean shutdown). */
  withdraw(id: string): Promise<void>;
  /** Fresh records only, sorted by id. */
  list(nowMs: number): Promise<NodeRecord[]>;
}

/** Where a viewer stopped watching one video (`store.resume`). */
export interface ResumePosition {
  /** Seconds into the video. */
  readonly positionSeconds: number;
  /** The video's length in seconds (0 when unknown). */
  readonly durationSeconds: number;
  /** Unix ms of the write. */
  readonly updatedAtMs: number;
}

/** Longest viewer id (characters; the HTTP API stores a hash of the id it is given). */
export const MAX_RESUME_VIEWER_CHARS = 128;
/** Longest video key (characters, e.g. the library path `vod/films/a.mp4`). */
export const MAX_RESUME_VIDEO_CHARS = 1024;
/** A position not written again for this long is forgotten (ms): 180 days. */
export const RESUME_TTL_MS = 180 * 24 * 3600 * 1000;

/**
 * Resume positions of VOD (收看进度记忆): per viewer and video, the last position, so a viewer
 * who stops on a phone goes on from there on a TV; `store.resume` of every
 * {@link SharedStore}. Each position expires {@link RESUME_TTL_MS} after its last write.
 */
export interface ResumePositions {
  /**
   * Writes the viewer's position in the video.
   * @throws {StoreError} `STORE_BAD_VALUE` for an id or key over its limit, or a position
   *   that is not a finite number of seconds >= 0.
   */
  set(
    viewerId: string,
    video: string,
    position: ResumePosition,
  ): Promise<void>;
  /** The stored position, or `undefined` when none (or it expired). */
  get(viewerId: string, video: string): Promise<ResumePosition | undefined>;
  /** Forgets the position (the viewer finished the video). */
  delete(viewerId: string, video: string): Promise<void>;
}

/** A feed event with its position in the feed. */
export interface FeedEntry {
  /** Strictly increasing across every writer sharing the store. */
  readonly seq: number;
  /** What happened. */
  readonly event: FeedEvent;
}

/** Whether a store reaches its backend, for `/healthz` and the `meridian_store_up` metric. */
export interface StoreHealth {
  /** `kv` or `redis`. */
  readonly backend: "kv" | "redis";
  /** Where the backend is, any password replaced (safe to log and show). */
  readonly location: string;
  /** False while the backend is unreachable: the node serves from what it knows. */
  readonly up: boolean;
  /** Unix ms of the last change of `up` (or of opening). */
  readonly sinceMs: number;
  /** Times the backend became unreachable since the store opened. */
  readonly outages: number;
  /** Why it is down; "" while up. */
  readonly lastError: string;
}

/**
 * State shared between nodes. Implementations make `spendTokenUse` atomic across processes and
 * machines sharing the backend, and deliver every published event to every open store, in order.
 */
export interface SharedStore {
  /**
   * Stores a new token.
   * @throws {StoreError} `STORE_TOKEN_EXISTS` when the value is taken.
   */
  createToken(record: TokenRecord): Promise<void>;
  /** The token with its use count, or `undefined` when unknown (never minted, revoked or purged). */
  getToken(token: string): Promise<TokenState | undefined>;
  /**
   * Spends one use, atomically: of two callers racing for the last use exactly one succeeds.
   * Nothing is spent when the answer is a refusal.
   *
   * @param app When given, a token scoped to another app is refused (`wrong_app`) unspent.
   */
  spendTokenUse(
    token: string,
    nowMs: number,
    app?: string,
  ): Promise<SpendResult>;
  /**
   * Deletes a token and publishes `token.revoked` on the feed.
   * @returns `false` when the token was unknown.
   */
  revokeToken(token: string, nowMs: number): Promise<boolean>;
  /** Every stored token (expired ones too, until the backend drops them). */
  listTokens(): Promise<TokenState[]>;
  /**
   * True when the token was revoked, from memory only (no round trip): for hot paths such as
   * session checks. Kept current by the feed, so it may lag a revocation elsewhere by one poll.
   */
  isRevoked(token: string): boolean;
  /** Appends an event to the change feed. */
  publish(event: FeedEvent): Promise<void>;
  /**
   * Calls `listener` with every feed event published after this store opened (own ones
   * included), in feed order.
   * @returns A function that removes the listener.
   */
  subscribe(listener: (entry: FeedEntry) => void): () => void;
  /**
   * A secret every node sharing the store agrees on: the stored one, or `create()` stored when
   * none exists yet (the first writer wins).
   */
  ensureSecret(name: string, create: () => string): Promise<string>;
  /** The edge registry: registrations, heartbeats, drain flags and schedulers' health views. */
  readonly edges: EdgeRegistry;
  /** The stream directory: each origin's live streams, refreshed by the origins with a TTL. */
  readonly streams: StreamDirectory;
  /** The node directory: every process of the deployment, refreshed by each with a TTL. */
  readonly nodes: NodeDirectory;
  /** VOD resume positions per viewer and video. */
  readonly resume: ResumePositions;
  /**
   * Asks the feed to be polled at least every `intervalMs` until the returned function is
   * called (a purge bus wants ~100 ms where token revocations are fine with the default).
   * The fastest standing request wins.
   */
  requestPollInterval(intervalMs: number): () => void;
  /**
   * Whether the backend is reachable now, from memory. While it is not, calls that need the
   * backend fail with `STORE_UNAVAILABLE` at once (nothing is changed), in-memory answers
   * (`isRevoked`) go on, the loss is logged once, and the feed catches up when it returns.
   */
  health(): StoreHealth;
  /** Stops the feed and closes the backend; pending calls finish first. */
  close(): Promise<void>;
}
