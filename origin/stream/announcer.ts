/**
 * The origin's side of the shared store's stream directory (`store.streams`): keeps this
 * origin's listing of live streams current, so the control role (console,
 * `GET /admin/streams`) lists the streams of every origin without asking them.
 *
 * {@link StreamAnnouncer} rewrites the listing every couple of seconds and when a stream starts
 * or ends; the listing expires after `ttlMs` ({@link LISTING_TTL_INTERVALS} intervals), so an
 * origin that dies vanishes from the directory. It reads the origin's registry on a timer, off
 * the media path, and never throws into it.
 *
 * @module
 */

import { describeError, type Logger } from "../../log/mod.ts";
import {
  type DirectoryStream,
  MAX_LISTING_STREAM_BYTES,
  type StreamDirectory,
} from "../../store/mod.ts";

/** Seconds-scale default between two announcements of one origin (ms). */
export const DEFAULT_ANNOUNCE_INTERVAL_MS = 2_000;
/** A listing counts for this many announce intervals after it was written. */
export const LISTING_TTL_INTERVALS = 3;
/** Changes within this window are announced together (ms). */
const CHANGE_COALESCE_MS = 50;

/**
 * Keeps the first streams (sorted by `app/name`) whose JSON fits in `maxBytes`.
 *
 * @example
 * ```ts
 * import { boundStreams } from "./announcer.ts";
 * const s = { app: "live", name: "a", startedAt: "", viewers: 0, bytesIn: 0, codecs: {}, protocol: "rtmp" };
 * const r = boundStreams([s, { ...s, name: "b" }], 100);
 * if (r.streams.length !== 1 || r.omitted !== 1) throw new Error(JSON.stringify(r));
 * ```
 */
export function boundStreams(
  streams: readonly DirectoryStream[],
  maxBytes: number = MAX_LISTING_STREAM_BYTES,
): { streams: DirectoryStream[]; omitted: number } {
  const sorted = [...streams].sort((a, b) =>
    a.app === b.app
      ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
      : a.app < b.app
      ? -1
      : 1
  );
  const kept: DirectoryStream[] = [];
  let bytes = 0;
  for (const s of sorted) {
    bytes += JSON.stringify(s).length + 1;
    if (bytes > maxBytes) break;
    kept.push(s);
  }
  return { streams: kept, omitted: sorted.length - kept.length };
}

/** Options of {@link StreamAnnouncer}. */
export interface StreamAnnouncerOptions {
  readonly originId: string;
  readonly httpUrl: string;
  readonly rtmpUrl: string;
  /** Between two periodic announcements (ms). @default 2000 */
  readonly intervalMs?: number;
  /** Unix ms. @default Date.now */
  readonly clock?: () => number;
  /** Where failed writes are reported (once until one succeeds again). */
  readonly log?: Logger;
}

/**
 * Keeps one origin's listing in the directory: at once, every `intervalMs`, and shortly after
 * {@link StreamAnnouncer.changed}. Writes never overlap; a change during a write is announced
 * right after it. Failures are logged, never thrown.
 *
 * @example
 * ```ts
 * import { KvStore } from "../../store/mod.ts";
 * import { StreamAnnouncer } from "./announcer.ts";
 * const dir = await Deno.makeTempDir();
 * const store = await KvStore.open(`${dir}/m.kv`);
 * const announcer = new StreamAnnouncer(store.streams, () => [], {
 *   originId: "o1", httpUrl: "http://127.0.0.1:8090", rtmpUrl: "rtmp://127.0.0.1:1935",
 * });
 * await announcer.flush();
 * const listed = await store.streams.list(Date.now());
 * await announcer.close();
 * await store.close();
 * await Deno.remove(dir, { recursive: true });
 * if (listed[0]?.originId !== "o1") throw new Error("not announced");
 * ```
 */
export class StreamAnnouncer {
  readonly #directory: StreamDirectory;
  readonly #source: () => readonly DirectoryStream[];
  readonly #options: StreamAnnouncerOptions;
  readonly #intervalMs: number;
  readonly #clock: () => number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #failing = false;
  #closed = false;

  /**
   * Starts announcing at once.
   * @param source The origin's live streams now (called on the timer, never per media tag).
   */
  constructor(
    directory: StreamDirectory,
    source: () => readonly DirectoryStream[],
    options: StreamAnnouncerOptions,
  ) {
    this.#directory = directory;
    this.#source = source;
    this.#options = options;
    this.#intervalMs = Math.max(
      10,
      options.intervalMs ?? DEFAULT_ANNOUNCE_INTERVAL_MS,
    );
    this.#clock = options.clock ?? Date.now;
    this.#schedule(0);
  }

  /** A stream started or ended: announce within {@link CHANGE_COALESCE_MS}. */
  changed(): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#schedule(CHANGE_COALESCE_MS);
  }

  /** Announces now (after any write in flight) and waits for it. */
  async flush(): Promise<void> {
    await this.#running;
    if (this.#closed) return;
    clearTimeout(this.#timer);
    await this.#run();
  }

  /** Stops the timer, waits for a write in flight and withdraws the listing. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
    try {
      await this.#directory.withdraw(this.#options.originId);
    } catch (err) {
      this.#options.log?.warn("cannot withdraw stream listing", {
        error: describeError(err),
      });
    }
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#run();
    }, delayMs);
  }

  #run(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    const p = (async () => {
      try {
        const { streams, omitted } = boundStreams(this.#source());
        await this.#directory.announce({
          originId: this.#options.originId,
          httpUrl: this.#options.httpUrl,
          rtmpUrl: this.#options.rtmpUrl,
          streams,
          omitted,
          updatedAtMs: this.#clock(),
          ttlMs: this.#intervalMs * LISTING_TTL_INTERVALS,
        });
        if (this.#failing) {
          this.#failing = false;
          this.#options.log?.info("stream listing announced again");
        }
      } catch (err) {
        if (!this.#failing && !this.#closed) {
          this.#failing = true;
          this.#options.log?.warn("cannot announce stream listing", {
            error: describeError(err),
          });
        }
      }
    })();
    this.#running = p;
    p.finally(() => {
      this.#running = undefined;
      if (this.#closed) return;
      const again = this.#again;
      this.#again = false;
      this.#schedule(again ? 0 : this.#intervalMs);
    });
    return p;
  }
}
