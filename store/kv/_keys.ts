/**
 * The KV key layout of {@link KvStore}, in one place (module-private).
 *
 * @module
 */

/** Keys of the shared store. Each family has its own first part, so listing one never sees another. */
export const KEYS = {
  /** `TokenRecord`, immutable; deleted by revocation, dropped by KV after expiry. */
  token: (token: string): Deno.KvKey => ["tokens", token],
  tokens: ["tokens"] as Deno.KvKey,
  /** `Deno.KvU64` use count, apart from the record so the record never changes. */
  uses: (token: string): Deno.KvKey => ["token_uses", token],
  allUses: ["token_uses"] as Deno.KvKey,
  /** Revocation tombstone `{ expiresAtMs }`, kept until the token would have expired. */
  revoked: (token: string): Deno.KvKey => ["revoked", token],
  allRevoked: ["revoked"] as Deno.KvKey,
  /** The last feed sequence number written (a number). */
  feedSeq: ["feed_seq"] as Deno.KvKey,
  /** Feed events by sequence number. */
  feed: ["feed"] as Deno.KvKey,
  feedEntry: (seq: number): Deno.KvKey => ["feed", seq],
  secret: (name: string): Deno.KvKey => ["secrets", name],
  /** `EdgeRecord` by edge id, expiring after missed heartbeats. */
  edge: (id: string): Deno.KvKey => ["edges", id],
  edges: ["edges"] as Deno.KvKey,
  /** Drain flag `{ sinceMs }` by edge id; no expiry (operator intent). */
  drain: (id: string): Deno.KvKey => ["edge_drain", id],
  drains: ["edge_drain"] as Deno.KvKey,
  /** `HealthView` by edge id and scheduler id. */
  health: (edgeId: string, schedulerId: string): Deno.KvKey => [
    "edge_health",
    edgeId,
    schedulerId,
  ],
  allHealth: ["edge_health"] as Deno.KvKey,
  /** `OriginListing` by origin id (`store.streams`), expiring after its `ttlMs`. */
  streamListing: (
    originId: string,
  ): Deno.KvKey => ["stream_directory", originId],
  streamListings: ["stream_directory"] as Deno.KvKey,
  /** `NodeRecord` by node id (`store.nodes`), expiring after its `ttlMs`. */
  node: (id: string): Deno.KvKey => ["node_directory", id],
  nodes: ["node_directory"] as Deno.KvKey,
  /** `ResumePosition` by viewer id and video key (`store.resume`). */
  resume: (viewerId: string, video: string): Deno.KvKey => [
    "resume",
    viewerId,
    video,
  ],
} as const;

/** A revocation tombstone's value. */
export interface Tombstone {
  readonly expiresAtMs: number;
}
