/**
 * The Redis key layout of {@link RedisStore}, in one place (module-private). Every key starts
 * with the store's prefix (`meridian:` by default), so one Redis can hold several deployments
 * and nothing else's keys are touched. Indexes are plain sets so readers never SCAN the whole
 * keyspace on a hot timer (only `listTokens`, an admin call, scans).
 *
 * @module
 */

/** Default prefix of every key. */
export const DEFAULT_KEY_PREFIX = "meridian:";

/** The keys of one store prefix. */
export function redisKeys(prefix: string) {
  return {
    /** Hash `{ r: TokenRecord JSON, u: uses spent }`, expiring after the token (+ grace). */
    token: (t: string) => `${prefix}tok:${t}`,
    /** SCAN pattern of every token hash. */
    tokenPattern: `${prefix}tok:*`,
    tokenPrefix: `${prefix}tok:`,
    /** Revocation tombstone: the token's expiry (Unix ms), kept until it would have expired. */
    revoked: (t: string) => `${prefix}rev:${t}`,
    revokedPattern: `${prefix}rev:*`,
    revokedPrefix: `${prefix}rev:`,
    /** The feed: a Redis Stream of `{ s: seq, e: FeedEvent JSON }`. */
    feed: `${prefix}feed`,
    /** Last feed seq written (INCR in the same script as XADD). */
    feedSeq: `${prefix}feed_seq`,
    secret: (name: string) => `${prefix}secret:${name}`,
    /** `EdgeRecord` JSON by edge id, expiring after missed heartbeats. */
    edge: (id: string) => `${prefix}edge:${id}`,
    /** Set of edge ids registered (a member whose record expired is dropped by readers). */
    edgeIds: `${prefix}edges`,
    /** Hash edge id → drain start (Unix ms); no expiry (operator intent). */
    drains: `${prefix}drains`,
    /** Hash edge id → `HealthView` JSON, one per scheduler, expiring with its reports. */
    health: (schedulerId: string) => `${prefix}health:${schedulerId}`,
    /** Set of scheduler ids with a health hash. */
    healthIds: `${prefix}health_schedulers`,
    /** `OriginListing` JSON by origin id, expiring after its `ttlMs`. */
    listing: (originId: string) => `${prefix}listing:${originId}`,
    /** Set of origin ids with a listing. */
    listingIds: `${prefix}listings`,
    /** `NodeRecord` JSON by node id, expiring after its `ttlMs`. */
    node: (id: string) => `${prefix}node:${id}`,
    /** Set of node ids with a record. */
    nodeIds: `${prefix}nodes`,
    /** `ResumePosition` JSON of one viewer and video (the pair as JSON: no ambiguity). */
    resume: (viewerId: string, video: string) =>
      `${prefix}resume:${JSON.stringify([viewerId, video])}`,
  } as const;
}

/** The keys of one prefix. */
export type RedisKeys = ReturnType<typeof redisKeys>;
