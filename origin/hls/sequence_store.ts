/**
 * Where each stream's HLS numbering survives a restart: one small JSON file per stream below
 * the origin's data directory, rewritten each time a segment opens.
 *
 * Why persisted rather than derived from the wall clock: a restarted origin must neither reuse
 * nor go back on an EXT-X-MEDIA-SEQUENCE a client or cache has seen (RFC 8216 §6.2.1), and its
 * EXT-X-DISCONTINUITY-SEQUENCE must count the discontinuities the earlier process removed. A
 * clock-derived sequence (`floor(now / target)`) gets the first only while segments are never
 * shorter than the target (republishes, codec changes and the size cap all cut short ones) and
 * while the clock never steps back (NTP, a restored VM), and cannot give the second at all. The
 * file gives both exactly, for the price of one write of ~60 bytes per segment and stream.
 *
 * Why it survives `kill -9`: the state is written when a segment *opens*, a whole target
 * duration before that segment can be listed in any playlist, so whatever a client saw is
 * already on disk (in the page cache, which a killed process does not lose) when the process
 * dies. Each write goes to a temporary file renamed over the old one (atomic on POSIX), so a
 * kill mid-write leaves the previous state, never a torn file.
 *
 * @module
 */

import { describeError, type Logger, silentLogger } from "../log.ts";
import type { HlsSequenceState } from "./segmenter.ts";

/** States not rewritten for this long are dropped at start-up (no client holds such playlists). */
export const SEQUENCE_STATE_MAX_AGE_MS = 7 * 24 * 3600 * 1000;
/** Largest state file read (bytes); anything bigger is not ours. */
const MAX_STATE_FILE_BYTES = 4096;
const STATE_EXT = ".json";
const TMP_EXT = ".tmp";
/** Names used as path parts: the registry's safe names, never `.`/`..` or hidden files. */
const PART_RE = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}$/;

function safePart(name: string): boolean {
  return PART_RE.test(name) && !name.includes("..");
}

function parseState(text: string): HlsSequenceState | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null) return undefined;
  const { nextSequence, discontinuities } = v as Record<string, unknown>;
  const count = (n: unknown): n is number =>
    Number.isSafeInteger(n) && (n as number) >= 0;
  return count(nextSequence) && count(discontinuities)
    ? { nextSequence, discontinuities }
    : undefined;
}

/** Options of {@link HlsSequenceStore.open}. */
export interface HlsSequenceStoreOptions {
  readonly log: Logger;
  /** Epoch ms. @default Date.now */
  readonly now?: () => number;
  /** Told of every failed write (for a metric). */
  readonly onWriteError?: () => void;
}

/**
 * Persisted {@link HlsSequenceState} per `app/stream`.
 *
 * @example
 * ```ts
 * import { HlsSequenceStore } from "./sequence_store.ts";
 * import { silentLogger } from "../log.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const a = await HlsSequenceStore.open(dir, { log: silentLogger });
 * a.set("live", "cam", { nextSequence: 12, discontinuities: 1 });
 * await a.flush();
 * const b = await HlsSequenceStore.open(dir, { log: silentLogger });
 * assert.deepEqual(b.get("live", "cam"), { nextSequence: 12, discontinuities: 1 });
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class HlsSequenceStore {
  /** `undefined`: memory only. */
  readonly #dir: string | undefined;
  readonly #log: Logger;
  readonly #onWriteError: () => void;
  readonly #states = new Map<string, HlsSequenceState>();
  /** Keys with a write in flight; a newer state set meanwhile is written after it. */
  readonly #writing = new Map<string, Promise<void>>();
  readonly #dirty = new Set<string>();
  readonly #madeDirs = new Set<string>();

  private constructor(
    dir: string | undefined,
    options: HlsSequenceStoreOptions,
  ) {
    this.#dir = dir;
    this.#log = options.log;
    this.#onWriteError = options.onWriteError ?? (() => {});
  }

  /**
   * A store that keeps states in memory only (no data directory): numbering goes on across
   * publishes of this process, not across restarts.
   */
  static inMemory(log?: Logger): HlsSequenceStore {
    return new HlsSequenceStore(undefined, { log: log ?? silentLogger });
  }

  /**
   * Opens (creating it if needed) the state directory and loads every state in it. Leftover
   * temporary files and states older than {@link SEQUENCE_STATE_MAX_AGE_MS} are removed.
   *
   * @param dir The directory, e.g. `${dataDir}/hls`.
   * @throws {Deno.errors.PermissionDenied} (or another I/O error) when it cannot be created.
   */
  static async open(
    dir: string,
    options: HlsSequenceStoreOptions,
  ): Promise<HlsSequenceStore> {
    const store = new HlsSequenceStore(dir, options);
    const now = (options.now ?? Date.now)();
    await Deno.mkdir(dir, { recursive: true });
    for await (const app of Deno.readDir(dir)) {
      if (!app.isDirectory || !safePart(app.name)) continue;
      const appDir = `${dir}/${app.name}`;
      for await (const f of Deno.readDir(appDir)) {
        const path = `${appDir}/${f.name}`;
        if (!f.isFile) continue;
        if (f.name.endsWith(TMP_EXT)) {
          await Deno.remove(path).catch(() => {});
          continue;
        }
        if (!f.name.endsWith(STATE_EXT)) continue;
        const stream = f.name.slice(0, -STATE_EXT.length);
        if (!safePart(stream)) continue;
        try {
          const info = await Deno.stat(path);
          if (
            info.size > MAX_STATE_FILE_BYTES ||
            now - (info.mtime?.getTime() ?? now) > SEQUENCE_STATE_MAX_AGE_MS
          ) {
            await Deno.remove(path);
            continue;
          }
          const state = parseState(await Deno.readTextFile(path));
          if (state) store.#states.set(`${app.name}/${stream}`, state);
          else {
            options.log.warn("ignoring a malformed HLS sequence state", {
              file: path,
            });
          }
        } catch (err) {
          options.log.warn("cannot read an HLS sequence state", {
            file: path,
            error: describeError(err),
          });
        }
      }
      store.#madeDirs.add(app.name);
    }
    return store;
  }

  /** Streams with a state. */
  get size(): number {
    return this.#states.size;
  }

  /** The last state set (or loaded) for the stream, if any. */
  get(app: string, stream: string): HlsSequenceState | undefined {
    return this.#states.get(`${app}/${stream}`);
  }

  /**
   * Records the stream's state and writes it soon (never two writes of one stream at once: a
   * state set during a write is written right after it). Streams whose names are not safe
   * path parts are kept in memory only.
   */
  set(app: string, stream: string, state: HlsSequenceState): void {
    const key = `${app}/${stream}`;
    this.#states.set(key, state);
    if (this.#dir === undefined || !safePart(app) || !safePart(stream)) return;
    if (this.#writing.has(key)) {
      this.#dirty.add(key);
      return;
    }
    this.#write(key, app, stream);
  }

  #write(key: string, app: string, stream: string): void {
    const p = this.#writeOnce(key, app, stream).finally(() => {
      this.#writing.delete(key);
      if (this.#dirty.delete(key)) this.#write(key, app, stream);
    });
    this.#writing.set(key, p);
  }

  async #writeOnce(key: string, app: string, stream: string): Promise<void> {
    const state = this.#states.get(key)!;
    const dir = this.#dir!;
    const file = `${dir}/${app}/${stream}${STATE_EXT}`;
    const tmp = `${file}${TMP_EXT}`;
    try {
      if (!this.#madeDirs.has(app)) {
        await Deno.mkdir(`${dir}/${app}`, { recursive: true });
        this.#madeDirs.add(app);
      }
      await Deno.writeTextFile(
        tmp,
        JSON.stringify({
          nextSequence: state.nextSequence,
          discontinuities: state.discontinuities,
        }),
      );
      await Deno.rename(tmp, file);
    } catch (err) {
      this.#onWriteError();
      this.#log.warn("cannot persist the HLS sequence state", {
        stream: key,
        error: describeError(err),
      });
    }
  }

  /** Resolves when every write started so far (and any it queued) is done. */
  async flush(): Promise<void> {
    while (this.#writing.size > 0) {
      await Promise.all([...this.#writing.values()]);
    }
  }
}
