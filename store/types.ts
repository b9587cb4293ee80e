/**
 * The shared-store contract: what every backend (Deno KV today, Redis later) offers.
 *
 * @module
 */

import type { EdgeRegistry } from "./edges.ts";
import type { StreamDirectory } from "./streams.ts";

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
  }
  | {
    /** An edge joined the registry (`store/edges.ts`): readers refresh at once. */
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

/** A feed event with its position in the feed. */
export interface FeedEntry {
  /** Strictly increasing across every writer sharing the store. */
  readonly seq: number;
  /** What happened. */
  readonly event: FeedEvent;
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
  /**
   * Asks the feed to be polled at least every `intervalMs` until the returned function is
   * called (a purge bus wants ~100 ms where token revocations are fine with the default).
   * The fastest standing request wins.
   */
  requestPollInterval(intervalMs: number): () => void;
  /** Stops the feed and closes the backend; pending calls finish first. */
  close(): Promise<void>;
}
