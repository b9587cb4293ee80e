/**
 * Sessions that end when their token is revoked: an RTMP or HTTP-FLV viewer (or publisher)
 * whose token an operator revokes anywhere in the cluster is closed within a feed poll. The
 * origin's gate and the edge watch the same way: one watch over the store's feed.
 *
 * @module
 */

import type { SharedStore } from "../store/mod.ts";

/** Refusal of a request, with what to tell the client: never a token, key or hook URL. */
export interface Refusal<R extends string = string> {
  readonly ok: false;
  readonly reason: R;
  /** 401 when a credential is missing, 403 when it is wrong, 503 when we could not check. */
  readonly status: 401 | 403 | 503;
  readonly description: string;
}

/** Makes a {@link Refusal} (403 unless told otherwise). */
export function refusal<R extends string>(
  reason: R,
  description: string,
  status: 401 | 403 | 503 = 403,
): Refusal<R> {
  return { ok: false, reason, status, description };
}

/**
 * Calls the callbacks watching a token when the feed says it was revoked.
 *
 * @example
 * ```ts ignore
 * const watch = new RevocationWatch(store, (e) => log.warn("close failed", { error: String(e) }));
 * const stop = watch.watch(grant.subject, () => viewer.close("token revoked"));
 * ```
 */
export class RevocationWatch {
  readonly #watchers = new Map<string, Set<() => void>>();
  readonly #unsubscribe: () => void;
  readonly #store: SharedStore | undefined;
  readonly #onError: (error: unknown) => void;

  /**
   * @param store The shared store whose feed brings revocations (none: nothing is watched).
   * @param onError Told when a callback throws (the others still run).
   */
  constructor(
    store: SharedStore | undefined,
    onError: (error: unknown) => void,
  ) {
    this.#store = store;
    this.#onError = onError;
    this.#unsubscribe = store?.subscribe((entry) => {
      if (entry.event.kind === "token.revoked") this.#revoke(entry.event.token);
    }) ?? (() => {});
  }

  /**
   * Calls `onRevoke` once if `subject`'s token is revoked while watched (at once, on the next
   * microtask, when it already is).
   *
   * @returns A function that stops watching; call it when the session ends.
   */
  watch(subject: string | undefined, onRevoke: () => void): () => void {
    if (subject === undefined) return () => {};
    if (this.#store?.isRevoked(subject)) {
      queueMicrotask(onRevoke);
      return () => {};
    }
    let set = this.#watchers.get(subject);
    if (!set) this.#watchers.set(subject, set = new Set());
    set.add(onRevoke);
    return () => {
      set.delete(onRevoke);
      if (set.size === 0 && this.#watchers.get(subject) === set) {
        this.#watchers.delete(subject);
      }
    };
  }

  /** Stops watching the feed. */
  close(): void {
    this.#unsubscribe();
    this.#watchers.clear();
  }

  #revoke(token: string): void {
    const set = this.#watchers.get(token);
    if (!set) return;
    this.#watchers.delete(token);
    for (const fn of set) {
      try {
        fn();
      } catch (err) {
        this.#onError(err);
      }
    }
  }
}
