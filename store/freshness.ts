/**
 * When a stored record still counts: the rules every backend and every reader applies the same
 * way, so several nodes reading one store agree. Backends expire keys lazily (Deno KV) or by
 * their own clock (Redis), so readers also check the record's own timestamps with these.
 *
 * @module
 */

import type { EdgeRecord, HealthView, OriginListing } from "./types.ts";

/** Missed heartbeats after which an edge counts as gone. */
export const EXPIRY_HEARTBEATS = 3;

/**
 * True while an edge's last heartbeat is younger than {@link EXPIRY_HEARTBEATS} beats.
 *
 * @example
 * ```ts
 * import { isEdgeFresh } from "./freshness.ts";
 * const r = { heartbeatSeconds: 5, updatedAtMs: 0 };
 * if (!isEdgeFresh(r, 15_000) || isEdgeFresh(r, 15_001)) throw new Error("3 beats of 5 s");
 * ```
 */
export function isEdgeFresh(
  record: Pick<EdgeRecord, "heartbeatSeconds" | "updatedAtMs">,
  nowMs: number,
): boolean {
  return nowMs - record.updatedAtMs <=
    record.heartbeatSeconds * 1000 * EXPIRY_HEARTBEATS;
}

/** How long (ms) a backend keeps an edge record after a heartbeat. */
export function edgeRecordTtlMs(
  record: Pick<EdgeRecord, "heartbeatSeconds">,
): number {
  return Math.max(1, record.heartbeatSeconds * 1000) * EXPIRY_HEARTBEATS;
}

/** True while a health view still counts. */
export function isViewFresh(
  view: Pick<HealthView, "reportedAtMs" | "ttlMs">,
  nowMs: number,
): boolean {
  return nowMs - view.reportedAtMs <= view.ttlMs;
}

/**
 * True while a listing is younger than its `ttlMs`.
 *
 * @example
 * ```ts
 * import { isListingFresh } from "./freshness.ts";
 * const l = { updatedAtMs: 0, ttlMs: 6_000 };
 * if (!isListingFresh(l, 6_000) || isListingFresh(l, 6_001)) throw new Error("ttl");
 * ```
 */
export function isListingFresh(
  listing: Pick<OriginListing, "updatedAtMs" | "ttlMs">,
  nowMs: number,
): boolean {
  return nowMs - listing.updatedAtMs <= listing.ttlMs;
}

/**
 * Combines several schedulers' views of one edge: up when at least as many say up as down (a
 * tie keeps the edge: one scheduler's bad network should not empty everyone's answers);
 * `undefined` without any view. The scheduler answers by it and the console shows it, so it
 * lives with the records it reads.
 *
 * @example
 * ```ts
 * import { combineHealthViews } from "./freshness.ts";
 * if (combineHealthViews([{ up: true }, { up: false }]) !== true) throw new Error("tie is up");
 * if (combineHealthViews([{ up: false }, { up: false }, { up: true }]) !== false) throw new Error();
 * if (combineHealthViews([]) !== undefined) throw new Error("no view");
 * ```
 */
export function combineHealthViews(
  views: readonly { readonly up: boolean }[],
): boolean | undefined {
  if (views.length === 0) return undefined;
  let up = 0;
  for (const v of views) if (v.up) up++;
  return up >= views.length - up;
}
