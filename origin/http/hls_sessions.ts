/**
 * HLS viewers as the origin can count them: HLS has no connection per viewer, so a viewer is a
 * client that asked for a stream's playlist within the last window (a player reloads it every
 * target duration). A client is its session credential when it has one (a protected app), else
 * its address and user agent. Behind an edge every viewer of that edge is one client: the
 * edge's own metrics count its viewers.
 *
 * Memory is bounded ({@link MAX_HLS_CLIENTS}); nothing of it is ever a label.
 *
 * @module
 */

/** Clients remembered at once; past it new ones are not counted until old ones expire. */
export const MAX_HLS_CLIENTS = 100_000;

/** A client not seen for this long (ms) is no longer watching, at least. */
export const MIN_HLS_WINDOW_MS = 10_000;

/**
 * Who is watching which stream over HLS.
 *
 * @example
 * ```ts
 * import { HlsSessions } from "./hls_sessions.ts";
 * import assert from "node:assert/strict";
 * let now = 0;
 * const s = new HlsSessions(10_000, () => now);
 * s.seen("live", "a", "1.2.3.4 vlc");
 * s.seen("live", "a", "1.2.3.4 vlc");
 * s.seen("live", "b", "5.6.7.8 ffmpeg");
 * assert.deepEqual([...s.countByApp()], [["live", 2]]);
 * now = 20_000;
 * assert.deepEqual([...s.countByApp()], []);
 * ```
 */
export class HlsSessions {
  readonly #windowMs: number;
  readonly #now: () => number;
  /** `app \0 stream \0 client` → last seen (ms); Map order is insertion order. */
  readonly #last = new Map<string, number>();

  /**
   * @param windowMs A client is watching while it asked within this (3 target durations, at
   *   least {@link MIN_HLS_WINDOW_MS}).
   */
  constructor(windowMs: number, now: () => number = Date.now) {
    this.#windowMs = Math.max(windowMs, MIN_HLS_WINDOW_MS);
    this.#now = now;
  }

  /** A playlist request of `client` for `app/stream`. */
  seen(app: string, stream: string, client: string): void {
    const key = `${app}\u0000${stream}\u0000${client}`;
    // Delete first so the Map's order stays oldest-first (expiry stops at the first fresh).
    if (!this.#last.delete(key) && this.#last.size >= MAX_HLS_CLIENTS) {
      this.#expire();
      if (this.#last.size >= MAX_HLS_CLIENTS) return;
    }
    this.#last.set(key, this.#now());
  }

  #expire(): void {
    const oldest = this.#now() - this.#windowMs;
    for (const [k, t] of this.#last) {
      if (t >= oldest) break;
      this.#last.delete(k);
    }
  }

  /** Clients watching now, by app. */
  countByApp(): Map<string, number> {
    this.#expire();
    const out = new Map<string, number>();
    for (const k of this.#last.keys()) {
      const app = k.slice(0, k.indexOf("\u0000"));
      out.set(app, (out.get(app) ?? 0) + 1);
    }
    return out;
  }
}
