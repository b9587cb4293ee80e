/**
 * Trick-play thumbnails (高速拖拉): per library file, one JPEG sprite of small frames and a
 * WebVTT track naming, for each stretch of time, the tile that shows it
 * (`sprite.jpg#xywh=x,y,w,h`, the W3C Media Fragments spatial dimension), so a player shows
 * where a viewer drags before it seeks.
 *
 * Made once per file version by one ffmpeg run that decodes keyframes only
 * (`-skip_frame nokey`: a two-hour film takes seconds, not a full decode), keeps the first
 * keyframe at least the interval after the last kept one, logs each kept frame's time
 * (`showinfo`) and tiles them; the cue times are those logged times, so a cue names exactly
 * the frame its tile holds. The result is kept under `${dataDir}/trickplay/`, named by a hash
 * of the file's real path, size, mtime and interval: a replaced file gets a new sprite, and a
 * restart reuses what was made.
 *
 * A request for a file whose sprite is not made yet starts the job and answers 202 with the
 * progress (the player asks again); the job runs once however many ask.
 *
 * @module
 */

import { VodError, VodErrorCode } from "./errors.ts";

/** Width of one tile (pixels); the height keeps the video's aspect ratio. */
export const TRICKPLAY_TILE_WIDTH = 160;
/** Tiles per sprite row. */
export const TRICKPLAY_COLUMNS = 10;
/** Most tiles in one sprite: long files get a longer interval. */
export const MAX_TRICKPLAY_TILES = 200;
/** A job that takes longer is killed (ms). */
export const TRICKPLAY_TIMEOUT_MS = 10 * 60 * 1000;
/** Jobs running at once; more wait in line. */
export const MAX_TRICKPLAY_JOBS = 1;
/** Jobs waiting at most; past it a request is told to come back later (503). */
export const MAX_TRICKPLAY_QUEUE = 64;
/** A keyframe this close to the interval still counts as one interval on (float times). */
const INTERVAL_TOLERANCE = 0.9;

/** How a sprite is laid out: what the WebVTT track is written from. */
export interface TrickPlayLayout {
  /** Seconds of each kept frame, in order (one tile each). */
  readonly times: readonly number[];
  readonly durationSeconds: number;
  readonly tileWidth: number;
  readonly tileHeight: number;
  readonly columns: number;
}

/** Where a file's trick-play stands. */
export type TrickPlayState =
  | {
    readonly kind: "ready";
    readonly layout: TrickPlayLayout;
    readonly sprite: string;
  }
  | { readonly kind: "running"; readonly percent: number }
  | { readonly kind: "queued" }
  /** Too many files wait already: ask again later. */
  | { readonly kind: "busy" }
  | { readonly kind: "failed"; readonly error: VodError };

/** What a job needs to know of a file. */
export interface TrickPlaySource {
  readonly realPath: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly durationSeconds: number;
  /** Display size; 16:9 assumed when unknown. */
  readonly width: number | undefined;
  readonly height: number | undefined;
}

/**
 * Renders the WebVTT track of a layout (W3C WebVTT §4): one cue per tile, from its frame's
 * time to the next one's (the last to the end), naming `spriteUrl#xywh=…`.
 *
 * @example
 * ```ts
 * import { renderTrickPlayVtt } from "./trick_play.ts";
 * const vtt = renderTrickPlayVtt({ times: [0, 10], durationSeconds: 15, tileWidth: 160, tileHeight: 90, columns: 10 }, "a.sprite.jpg");
 * if (!vtt.includes("00:00:10.000 --> 00:00:15.000\na.sprite.jpg#xywh=160,0,160,90")) throw new Error(vtt);
 * ```
 */
export function renderTrickPlayVtt(
  layout: TrickPlayLayout,
  spriteUrl: string,
): string {
  const lines = ["WEBVTT", ""];
  layout.times.forEach((t, i) => {
    const next = layout.times[i + 1] ?? Math.max(layout.durationSeconds, t + 1);
    const x = (i % layout.columns) * layout.tileWidth;
    const y = Math.floor(i / layout.columns) * layout.tileHeight;
    lines.push(
      `${vttTime(i === 0 ? 0 : t)} --> ${vttTime(next)}`,
      `${spriteUrl}#xywh=${x},${y},${layout.tileWidth},${layout.tileHeight}`,
      "",
    );
  });
  return lines.join("\n");
}

/** `HH:MM:SS.mmm` (WebVTT §4.5 timestamps). */
function vttTime(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms % 1000, 3)}`;
}

/** The interval between tiles for a file of `durationSeconds` (at most {@link MAX_TRICKPLAY_TILES}). */
export function trickPlayInterval(
  durationSeconds: number,
  minIntervalSeconds: number,
): number {
  return Math.max(
    minIntervalSeconds,
    Math.ceil(durationSeconds / (MAX_TRICKPLAY_TILES - 1)),
  );
}

interface Job {
  state: TrickPlayState;
  done?: Promise<void>;
}

async function sha256Hex(text: string): Promise<string> {
  const d = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(text),
  );
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** Makes and keeps trick-play sprites. One per origin. */
export class TrickPlay {
  readonly #ffmpeg: string;
  readonly #dir: string | undefined;
  readonly #minInterval: number;
  readonly #jobs = new Map<string, Job>();
  readonly #waiting: (() => void)[] = [];
  readonly #children = new Set<Deno.ChildProcess>();
  #running = 0;
  #closed = false;

  /**
   * @param dir Where sprites are kept (`${dataDir}/trickplay`); without it every request
   *   answers 501.
   */
  constructor(
    ffmpeg: string,
    dir: string | undefined,
    minIntervalSeconds: number,
  ) {
    this.#ffmpeg = ffmpeg;
    this.#dir = dir;
    this.#minInterval = minIntervalSeconds;
  }

  /**
   * The state of a file's sprite; starts making it when it is not there yet.
   *
   * @throws {VodError} `VOD_NOT_IMPLEMENTED` without a data directory.
   */
  async state(src: TrickPlaySource): Promise<TrickPlayState> {
    if (this.#dir === undefined) {
      throw new VodError(
        VodErrorCode.NotImplemented,
        "Cannot make trick-play thumbnails: the origin has no data directory",
      );
    }
    const interval = trickPlayInterval(src.durationSeconds, this.#minInterval);
    const key = await sha256Hex(
      `${src.realPath}\0${src.size}\0${src.mtimeMs}\0${interval}`,
    );
    const base = `${this.#dir}/${key}`;
    const job = this.#jobs.get(key);
    if (job) return job.state;
    const ready = await this.#readLayout(base);
    if (ready) return { kind: "ready", layout: ready, sprite: `${base}.jpg` };
    if (this.#waiting.length >= MAX_TRICKPLAY_QUEUE) return { kind: "busy" };
    const created: Job = { state: { kind: "queued" } };
    created.done = this.#make(created, src, interval, base).finally(() => {
      // A failure is remembered briefly (the next request after it tries again).
      if (created.state.kind === "failed") {
        setTimeout(() => this.#jobs.delete(key), 5_000);
      } else this.#jobs.delete(key);
    });
    this.#jobs.set(key, created);
    return created.state;
  }

  /** Waits for every running job (tests). */
  async settle(): Promise<void> {
    await Promise.all([...this.#jobs.values()].map((j) => j.done));
  }

  /** Kills running jobs (what was half made is dropped) and refuses new ones. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const c of this.#children) {
      try {
        c.kill("SIGKILL");
      } catch {
        // gone already
      }
    }
    for (const w of this.#waiting.splice(0)) w();
    await this.settle();
  }

  async #readLayout(base: string): Promise<TrickPlayLayout | undefined> {
    try {
      const layout = JSON.parse(
        await Deno.readTextFile(`${base}.json`),
      ) as TrickPlayLayout;
      await Deno.stat(`${base}.jpg`);
      return layout;
    } catch {
      return undefined;
    }
  }

  async #make(
    job: Job,
    src: TrickPlaySource,
    interval: number,
    base: string,
  ): Promise<void> {
    if (this.#running >= MAX_TRICKPLAY_JOBS) {
      await new Promise<void>((r) => this.#waiting.push(r));
    }
    this.#running++;
    try {
      if (this.#closed) {
        throw new VodError(
          VodErrorCode.Io,
          "Cannot make trick-play thumbnails: the origin is closing",
        );
      }
      job.state = { kind: "running", percent: 0 };
      const layout = await this.#run(job, src, interval, base);
      job.state = { kind: "ready", layout, sprite: `${base}.jpg` };
    } catch (e) {
      job.state = {
        kind: "failed",
        error: e instanceof VodError ? e : new VodError(
          VodErrorCode.Io,
          "Cannot make trick-play thumbnails",
          { cause: e },
        ),
      };
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }

  async #run(
    job: Job,
    src: TrickPlaySource,
    interval: number,
    base: string,
  ): Promise<TrickPlayLayout> {
    await Deno.mkdir(this.#dir!, { recursive: true });
    const aspect = src.width && src.height ? src.height / src.width : 9 / 16;
    const tileWidth = TRICKPLAY_TILE_WIDTH;
    const tileHeight = Math.max(2, Math.round(tileWidth * aspect / 2) * 2);
    const maxTiles = Math.min(
      MAX_TRICKPLAY_TILES,
      Math.floor(src.durationSeconds / interval) + 1,
    );
    const rows = Math.max(1, Math.ceil(maxTiles / TRICKPLAY_COLUMNS));
    const tmp = `${base}.${crypto.randomUUID().slice(0, 8)}.tmp.jpg`;
    const gap = (interval * INTERVAL_TOLERANCE).toFixed(3);
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(this.#ffmpeg, {
        args: [
          "-hide_banner",
          "-nostdin",
          "-y",
          "-skip_frame",
          "nokey",
          "-i",
          src.realPath,
          "-an",
          "-sn",
          "-vf",
          `select='isnan(prev_selected_t)+gte(t-prev_selected_t\\,${gap})',showinfo,` +
          `scale=${tileWidth}:${tileHeight},tile=${TRICKPLAY_COLUMNS}x${rows}`,
          "-fps_mode",
          "passthrough",
          "-frames:v",
          "1",
          "-q:v",
          "5",
          tmp,
        ],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new VodError(
          VodErrorCode.NotImplemented,
          `Cannot make trick-play thumbnails: ffmpeg ('${this.#ffmpeg}') is not installed`,
        );
      }
      throw e;
    }
    this.#children.add(child);
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // gone already
      }
    }, TRICKPLAY_TIMEOUT_MS);
    const times: number[] = [];
    let tail = "";
    try {
      const decoder = new TextDecoder();
      let buffered = "";
      for await (const chunk of child.stderr) {
        buffered += decoder.decode(chunk, { stream: true });
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        for (const line of lines) {
          const m = /\bpts_time:\s*(-?[0-9.]+)/.exec(line);
          if (m && line.includes("showinfo")) {
            if (times.length < maxTiles) times.push(Math.max(0, Number(m[1])));
            job.state = {
              kind: "running",
              percent: Math.min(
                99,
                Math.round(
                  Number(m[1]) / Math.max(1, src.durationSeconds) * 100,
                ),
              ),
            };
          } else if (line.trim() !== "") tail = line;
        }
      }
      const status = await child.status;
      if (!status.success || times.length === 0) {
        throw new VodError(
          VodErrorCode.BadMedia,
          `Cannot make trick-play thumbnails: ${
            tail.slice(0, 200) || "no frame"
          }`,
        );
      }
    } catch (e) {
      await Deno.remove(tmp).catch(() => {});
      throw e;
    } finally {
      clearTimeout(timer);
      this.#children.delete(child);
    }
    const layout: TrickPlayLayout = {
      times,
      durationSeconds: src.durationSeconds,
      tileWidth,
      tileHeight,
      columns: TRICKPLAY_COLUMNS,
    };
    // The sprite first, then the layout that says it is there: a reader never sees half.
    await Deno.rename(tmp, `${base}.jpg`);
    await Deno.writeTextFile(`${base}.json.tmp`, JSON.stringify(layout));
    await Deno.rename(`${base}.json.tmp`, `${base}.json`);
    return layout;
  }
}
