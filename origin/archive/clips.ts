/**
 * Clip jobs (剪切): `POST /admin/clips` cuts a range of the DVR window or of a library file into
 * the library as MP4, FLV or an HLS package, without re-encoding: from the keyframe at or
 * before the start to the first keyframe at or after the end (every frame kept decodes), the
 * frames copied by range. With `exact: true` the partial GOPs at both ends are re-encoded with
 * ffmpeg (same codec parameters) so the clip starts and ends on the frames asked for, and
 * everything between is still copied (exact.ts).
 *
 * Jobs answer at once (202 and an id), run in the background (at most
 * `origin.record.maxConcurrentClips` at once), report progress, can be cancelled, and survive a
 * restart: each job's state is a small JSON file in `${stateDir}/clips/`, replaced atomically;
 * queued jobs resume, running ones start again from the beginning.
 *
 * @module
 */

import { renderMediaPlaylist } from "../../codec/hls/mod.ts";
import { planMp4InPlace } from "../../codec/mp4/mod.ts";
import { scanTsKeyframes, sliceTs } from "../../codec/mpegts/mod.ts";
import { isSync, presentationTicks } from "../../codec/samples/mod.ts";
import { describeError, type Logger } from "../log.ts";
import {
  extensionOf,
  flvSource,
  MEDIA_EXTENSIONS,
  type MediaFile,
  mp4Source,
  planRange,
  planSegments,
  vodPlaylist,
  vodSegment,
  type VodService,
} from "../vod/mod.ts";
import { type ClipMedia, dvrMedia } from "./clip_source.ts";
import type { DvrSegment, DvrStore } from "./dvr_store.ts";
import {
  ArchiveError,
  ArchiveErrorCode,
  availableRange,
  isDiskFull,
} from "./errors.ts";
import { exactCut } from "./exact.ts";
import {
  listDir,
  removeIfPresent,
  syncDir,
  syncFiles,
  writeAll,
  writeFileDurably,
  writeJsonAtomic,
} from "./files.ts";
import { indexFile, writePieces } from "./finalize.ts";
import { planDvrHlsClip } from "./hls_clip.ts";
import { isArchiveName } from "./http.ts";
import { expandPattern } from "./recorder.ts";
import { parseTime } from "./time.ts";
import { selectRange, WINDOW_SLACK_MS } from "./timeshift.ts";

/** Longest clip (s): a day. A DVR clip is also bounded by its window. */
export const MAX_CLIP_SECONDS = 86_400;
/** Finished jobs kept (their state files), the newest. */
export const MAX_KEPT_JOBS = 1_000;
/** Progress is written to the job's file at most this often (ms). */
const PROGRESS_WRITE_MS = 500;
/** Longest clip name (characters). */
const MAX_CLIP_NAME_CHARS = 100;

/** A clip's file name: any letters (中文 too) and spaces, no separators or control characters. */
function isClipName(name: string): boolean {
  if (
    name.length === 0 || [...name].length > MAX_CLIP_NAME_CHARS ||
    name.startsWith(".")
  ) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0x2f || c === 0x5c) return false;
  }
  return true;
}

/** Output formats of a clip. */
export type ClipFormat = "mp4" | "flv" | "hls";

/** A clip request, validated. */
export type ClipRequest =
  & {
    readonly format: ClipFormat;
    readonly name: string | undefined;
    readonly exact: boolean;
  }
  & ({
    readonly source: "dvr";
    readonly app: string;
    readonly stream: string;
    /** Wall clock, epoch ms. */
    readonly startMs: number;
    readonly endMs: number;
  } | {
    readonly source: "library";
    /** Path in the library. */
    readonly path: string;
    /** Seconds of the file. */
    readonly startSeconds: number;
    readonly endSeconds: number;
  });

/** Where a job is. */
export type ClipState = "queued" | "running" | "done" | "failed" | "cancelled";

/** A job as its file keeps it and the admin API shows it. */
export interface ClipJob {
  readonly id: string;
  readonly request: ClipRequest;
  state: ClipState;
  /** 0..100. */
  percent: number;
  /** Bytes of the output written so far. */
  bytes: number;
  readonly createdAt: string;
  startedAt?: string | undefined;
  finishedAt?: string | undefined;
  /** Times it started (a restart while running starts it again). */
  runs: number;
  /** The clip's path in the library, once done. */
  path?: string | undefined;
  url?: string | undefined;
  /** Seconds of media in the clip, once done. */
  duration?: number | undefined;
  /** Where its output is written before it is renamed into place. */
  partial?: string | undefined;
  error?: { code: string; message: string } | undefined;
}

function bad(field: string, value: unknown, expected: string): ArchiveError {
  const shown = JSON.stringify(value) ?? String(value);
  return new ArchiveError(
    ArchiveErrorCode.BadRequest,
    `Invalid '${field}': got ${
      shown.length > 80 ? `${shown.slice(0, 80)}…` : shown
    }, expected ${expected}`,
    { field },
  );
}

/** A time field: unix seconds (number or string) or ISO 8601. */
function timeField(b: Record<string, unknown>, f: string): number {
  const v = b[f];
  if (typeof v === "number") {
    if (!Number.isFinite(v) || v < 0) {
      throw bad(f, v, "unix seconds or an ISO 8601 date-time");
    }
    return parseTime(String(v), f);
  }
  if (typeof v !== "string") {
    throw bad(f, v, "unix seconds or an ISO 8601 date-time");
  }
  return parseTime(v, f);
}

/** Seconds of a library file. */
function secondsField(b: Record<string, unknown>, f: string): number {
  const v = typeof b[f] === "string" ? Number(b[f]) : b[f];
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > 7 * 86_400) {
    throw bad(f, b[f], "seconds of the file, 0..604800");
  }
  return v;
}

/**
 * Validates a `POST /admin/clips` body: `{app, stream, start, end}` (the DVR; times unix
 * seconds or ISO 8601) or `{path, start, end}` (a library file; seconds), with `format`
 * (`mp4`, `flv`, `hls`), optional `name` and `exact`.
 *
 * @throws {ArchiveError} `ARCHIVE_BAD_REQUEST` naming the first bad field.
 *
 * @example
 * ```ts
 * import { parseClipRequest } from "./clips.ts";
 * import assert from "node:assert/strict";
 * const r = parseClipRequest({ app: "live", stream: "cam", start: 1714564800, end: "2024-05-01T12:00:20Z", format: "mp4" });
 * assert.equal(r.source, "dvr");
 * assert.throws(() => parseClipRequest({ app: "live", stream: "cam", start: 1714564820, end: 1714564810, format: "mp4" }), /'end'/);
 * ```
 */
export function parseClipRequest(body: unknown): ClipRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw bad(
      "",
      body,
      'an object like {"app","stream","start","end","format"}',
    );
  }
  const b = body as Record<string, unknown>;
  const known = [
    "app",
    "stream",
    "path",
    "start",
    "end",
    "format",
    "name",
    "exact",
  ];
  for (const k of Object.keys(b)) {
    if (!known.includes(k)) throw bad(k, b[k], `one of ${known.join(", ")}`);
  }
  if (b.format !== "mp4" && b.format !== "flv" && b.format !== "hls") {
    throw bad("format", b.format, "mp4, flv or hls");
  }
  // A name given with folders (the console offers the source's path) keeps its last part:
  // clips go where the clip pattern puts them.
  const name = typeof b.name === "string"
    ? b.name.slice(
      Math.max(b.name.lastIndexOf("/"), b.name.lastIndexOf("\\")) + 1,
    )
      .trim()
    : b.name;
  if (
    name !== undefined &&
    (typeof name !== "string" || !isClipName(name))
  ) {
    throw bad(
      "name",
      b.name,
      `a file name of 1..${MAX_CLIP_NAME_CHARS} characters (no control characters), not starting with '.'`,
    );
  }
  if (b.exact !== undefined && typeof b.exact !== "boolean") {
    throw bad("exact", b.exact, "true or false");
  }
  const common = {
    format: b.format,
    name: name as string | undefined,
    exact: b.exact === true,
  } as const;
  if (b.path !== undefined) {
    if (b.app !== undefined || b.stream !== undefined) {
      throw bad(
        "path",
        b.path,
        "either path (a library file) or app and stream (the DVR)",
      );
    }
    if (
      typeof b.path !== "string" || b.path.length === 0 || b.path.length > 1024
    ) {
      throw bad("path", b.path, "a file's path in the library");
    }
    const startSeconds = secondsField(b, "start");
    const endSeconds = secondsField(b, "end");
    if (endSeconds <= startSeconds) {
      throw bad("end", b.end, `seconds after the start (${startSeconds})`);
    }
    return {
      ...common,
      source: "library",
      path: b.path,
      startSeconds,
      endSeconds,
    };
  }
  for (const f of ["app", "stream"] as const) {
    if (typeof b[f] !== "string" || !isArchiveName(b[f] as string)) {
      throw bad(f, b[f], "a stream name (letters, digits, '_', '-', '.')");
    }
  }
  const startMs = timeField(b, "start");
  const endMs = timeField(b, "end");
  if (endMs <= startMs) {
    throw bad(
      "end",
      b.end,
      `a time after the start (${new Date(startMs).toISOString()})`,
    );
  }
  if (endMs - startMs > MAX_CLIP_SECONDS * 1000) {
    throw bad("end", b.end, `at most ${MAX_CLIP_SECONDS} s after the start`);
  }
  return {
    ...common,
    source: "dvr",
    app: b.app as string,
    stream: b.stream as string,
    startMs,
    endMs,
  };
}

/**
 * Where a keyframe cut ends: on the last keyframe at or before `endSeconds` (the cut starts on
 * the one at or before the start, so its length is within one GOP of what was asked), or on
 * the first one after the end when that would leave nothing.
 */
export function keyframeEnd(
  media: MediaFile,
  startSeconds: number,
  endSeconds: number,
): number {
  const video = media.index.tracks.find((t) => t.kind === "video");
  if (!video) return endSeconds;
  const s = video.samples;
  const sec = (i: number) => presentationTicks(video, i) / video.timescale;
  let startKey = -Infinity;
  let before: number | undefined;
  let after: number | undefined;
  for (let i = 0; i < s.count; i++) {
    if (!isSync(s, i)) continue;
    const t = sec(i);
    if (t <= startSeconds + 1e-6) startKey = t;
    if (t <= endSeconds + 1e-6) before = t;
    else {
      after = t;
      break;
    }
  }
  if (before !== undefined && before > startKey) return before;
  return after ?? endSeconds;
}

/**
 * Room left for the head of an MP4 written in place (bytes): far more than the `moov` of
 * `seconds` of media needs (tables at most ~40 bytes a sample; 60 fps video and 50 audio
 * frames a second), left as a hole in the file (no disk blocks), rounded to 64 KiB.
 */
export function headRoomFor(seconds: number): number {
  const bytes = 64 * 1024 + Math.ceil(seconds + 10) * (60 + 50) * 40;
  return Math.ceil(bytes / 65536) * 65536;
}

/** Options of {@link ClipJobs}. */
export interface ClipJobsOptions {
  /** Where job files live (`${stateDir}/clips`); undefined: memory only. */
  readonly stateDir: string | undefined;
  /** Scratch space of DVR payloads and exact cuts. */
  readonly workDir: string;
  /** The library folder clips are written into, and its URL prefix if it is a library. */
  readonly libraryDir: string;
  readonly libraryPrefix: string | undefined;
  readonly clipPattern: string;
  readonly maxConcurrent: number;
  /** HLS clips are cut into segments of about this long (ms). */
  readonly hlsSegmentMs: number;
  /** ffmpeg for exact cuts. */
  readonly ffmpegPath: string;
}

/** What {@link ClipJobs} needs. */
export interface ClipJobsDeps {
  readonly dvr: DvrStore;
  /** The media libraries (clips of library files); undefined: none. */
  readonly vod: VodService | undefined;
  /** Whether a stream may still grow (a range up to now is then cut from what is kept). */
  readonly isOpen: (app: string, stream: string) => boolean;
  readonly log: Logger;
  /** @default Date.now */
  readonly now?: () => number;
}

/** The clip jobs of the origin. */
export class ClipJobs {
  readonly #o: ClipJobsOptions;
  readonly #d: ClipJobsDeps;
  readonly #now: () => number;
  readonly #log: Logger;
  readonly #jobs = new Map<string, ClipJob>();
  readonly #running = new Map<string, AbortController>();
  readonly #finishing = new Set<Promise<void>>();
  readonly #claimed = new Set<string>();
  readonly #lastWrite = new Map<string, number>();
  #closed = false;
  /** Jobs finished, by state, since start (for /metrics). */
  readonly finished: Record<"done" | "failed" | "cancelled", number> = {
    done: 0,
    failed: 0,
    cancelled: 0,
  };

  private constructor(options: ClipJobsOptions, deps: ClipJobsDeps) {
    this.#o = options;
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
    this.#log = deps.log;
  }

  /** Loads the jobs a previous process left: queued ones resume, running ones start over. */
  static async open(
    options: ClipJobsOptions,
    deps: ClipJobsDeps,
  ): Promise<ClipJobs> {
    const j = new ClipJobs(options, deps);
    await Deno.mkdir(options.workDir, { recursive: true });
    // Scratch of jobs that were running: they start over.
    for (const e of await listDir(options.workDir)) {
      await Deno.remove(`${options.workDir}/${e.name}`, { recursive: true })
        .catch(() => {});
    }
    if (options.stateDir !== undefined) {
      await Deno.mkdir(options.stateDir, { recursive: true });
      const loaded: ClipJob[] = [];
      for (const e of await listDir(options.stateDir)) {
        if (!e.isFile || !e.name.endsWith(".json")) {
          if (e.name.endsWith(".tmp")) {
            await removeIfPresent(`${options.stateDir}/${e.name}`);
          }
          continue;
        }
        try {
          const job = JSON.parse(
            await Deno.readTextFile(`${options.stateDir}/${e.name}`),
          ) as ClipJob;
          if (typeof job.id === "string" && job.request) loaded.push(job);
        } catch {
          deps.log.warn("ignoring a malformed clip job", { file: e.name });
        }
      }
      loaded.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
      for (const job of loaded) {
        if (job.state === "running") {
          if (job.partial) {
            await Deno.remove(job.partial, { recursive: true }).catch(() => {});
          }
          job.state = "queued";
          job.percent = 0;
          job.bytes = 0;
          job.partial = undefined;
          deps.log.info("clip job restarts after a restart of the origin", {
            id: job.id,
          });
        }
        j.#jobs.set(job.id, job);
      }
      await j.#prune();
    }
    j.#pump();
    return j;
  }

  /** Jobs by state now (for /metrics). */
  counts(): Record<ClipState, number> {
    const n: Record<ClipState, number> = {
      queued: 0,
      running: 0,
      done: 0,
      failed: 0,
      cancelled: 0,
    };
    for (const j of this.#jobs.values()) n[j.state]++;
    return n;
  }

  /** A job, or `undefined`. */
  get(id: string): ClipJob | undefined {
    return this.#jobs.get(id);
  }

  /** Every job kept, newest first. */
  list(): ClipJob[] {
    return [...this.#jobs.values()].reverse();
  }

  /**
   * Validates and queues a clip.
   *
   * @throws {ArchiveError} 400 (malformed), 404 (no such stream or file), 416 (outside the
   *   window or the file; names what is there).
   */
  async submit(body: unknown): Promise<ClipJob> {
    const request = parseClipRequest(body);
    await this.#check(request);
    const job: ClipJob = {
      id: crypto.randomUUID(),
      request,
      state: "queued",
      percent: 0,
      bytes: 0,
      createdAt: new Date(this.#now()).toISOString(),
      runs: 0,
    };
    this.#jobs.set(job.id, job);
    await this.#save(job);
    this.#log.info("clip queued", {
      id: job.id,
      source: request.source === "dvr"
        ? `${request.app}/${request.stream}`
        : request.path,
      format: request.format,
      exact: request.exact,
    });
    this.#pump();
    return job;
  }

  /**
   * Cancels a queued or running job (its partial output is removed).
   *
   * @throws {ArchiveError} 404 (no such job), 409 (it finished already).
   */
  async cancel(id: string): Promise<ClipJob> {
    const job = this.#jobs.get(id);
    if (!job) {
      throw new ArchiveError(
        ArchiveErrorCode.NotFound,
        `Cannot find clip job ${id}`,
      );
    }
    if (job.state === "queued") {
      job.state = "cancelled";
      job.finishedAt = new Date(this.#now()).toISOString();
      this.finished.cancelled++;
      await this.#save(job);
      return job;
    }
    if (job.state === "running") {
      this.#running.get(id)?.abort();
      await Promise.all([...this.#finishing]);
      return job;
    }
    throw new ArchiveError(
      ArchiveErrorCode.Conflict,
      `Cannot cancel clip job ${id}: it is ${job.state} already`,
    );
  }

  /** Rejects requests that cannot be cut before they are queued. */
  async #check(r: ClipRequest): Promise<void> {
    if (r.source === "library") {
      const media = await this.#libraryMedia(r.path);
      const d = media.index.durationMs / 1000;
      if (r.startSeconds >= d) {
        throw new ArchiveError(
          ArchiveErrorCode.OutOfWindow,
          `Cannot clip '${r.path}' from ${r.startSeconds} s: it lasts ${
            d.toFixed(3)
          } s`,
          {
            available: {
              start: "0",
              end: d.toFixed(3),
              startUnix: 0,
              endUnix: Math.ceil(d),
            },
          },
        );
      }
      return;
    }
    const view = this.#d.dvr.view(r.app, r.stream);
    if (!view || view.segments.length === 0) {
      throw new ArchiveError(
        ArchiveErrorCode.NotFound,
        this.#d.dvr.enabled(r.app, r.stream)
          ? `Cannot clip ${r.app}/${r.stream}: nothing of it is in the archive`
          : `Cannot clip ${r.app}/${r.stream}: time-shift is off for it`,
      );
    }
    const now = this.#now();
    const open = this.#d.isOpen(r.app, r.stream);
    // The same window rules as a time-shift playlist (416 naming what is kept).
    selectRange(view, r.startMs, r.endMs, { nowMs: now, open });
    const last = view.segments[view.segments.length - 1]!;
    const recordedEnd = last.programDateTimeMs + last.durationMs;
    if (r.endMs > recordedEnd + WINDOW_SLACK_MS) {
      throw new ArchiveError(
        ArchiveErrorCode.OutOfWindow,
        `Cannot clip ${r.app}/${r.stream} to ${
          new Date(r.endMs).toISOString()
        }: it is recorded up to ${new Date(recordedEnd).toISOString()}`,
        {
          available: availableRange(
            view.segments[0]!.programDateTimeMs,
            recordedEnd,
          ),
        },
      );
    }
  }

  async #libraryMedia(path: string) {
    const vod = this.#d.vod;
    let media;
    try {
      media = vod ? await vod.mediaFile(path) : undefined;
    } catch (cause) {
      throw new ArchiveError(
        ArchiveErrorCode.BadRequest,
        `Cannot clip '${path.slice(0, 200)}': ${
          cause instanceof Error ? cause.message : cause
        }`,
        { cause, field: "path" },
      );
    }
    if (!media) {
      throw new ArchiveError(
        ArchiveErrorCode.NotFound,
        `Cannot clip '${path.slice(0, 200)}': no such file in the library`,
      );
    }
    return media;
  }

  /** Starts queued jobs up to the concurrency limit. */
  #pump(): void {
    if (this.#closed) return;
    for (const job of this.#jobs.values()) {
      if (this.#running.size >= this.#o.maxConcurrent) return;
      if (job.state !== "queued") continue;
      const ctrl = new AbortController();
      this.#running.set(job.id, ctrl);
      const p = this.#run(job, ctrl.signal).finally(() => {
        this.#running.delete(job.id);
        this.#finishing.delete(p);
        this.#pump();
      });
      this.#finishing.add(p);
    }
  }

  async #run(job: ClipJob, signal: AbortSignal): Promise<void> {
    job.state = "running";
    job.runs++;
    job.percent = 0;
    job.bytes = 0;
    job.startedAt = new Date(this.#now()).toISOString();
    job.error = undefined;
    await this.#save(job);
    const started = performance.now();
    const temporary: string[] = [];
    const work = `${this.#o.workDir}/${job.id}`;
    try {
      await Deno.mkdir(work, { recursive: true });
      temporary.push(work);
      const r = job.request;
      // Reading the source is the first half of the progress for the DVR, nothing for a file.
      const readShare = r.source === "dvr" ? 0.5 : 0;
      const progress = (fraction: number) => {
        job.percent = Math.min(99, Math.floor(fraction * 100));
        this.#saveThrottled(job);
      };
      const rel = this.#outputPath(job);
      const final = `${this.#o.libraryDir}/${rel}`;
      const dir = final.slice(0, final.lastIndexOf("/"));
      await Deno.mkdir(dir, { recursive: true }).catch((cause) => {
        throw new ArchiveError(
          ArchiveErrorCode.Io,
          `Cannot write clips into '${dir}': ${describeError(cause)}`,
          { cause },
        );
      });
      const partial = `${dir}/.${final.slice(dir.length + 1)}.part`;
      // An HLS clip of the DVR reuses the kept segments (the ends sliced at keyframes);
      // the rest is remuxed from the source's frames.
      const reused = r.source === "dvr" && r.format === "hls" && !r.exact &&
        await this.#hlsOfKeptSegments(job, r, final, signal, progress);
      if (!reused) {
        // A keyframe MP4 of the DVR is written where it ends up: its frames once, then its head
        // in the room left before them (no second copy of a 10-minute clip).
        const inPlace = r.source === "dvr" && r.format === "mp4" && !r.exact;
        let reserve = 0;
        let src: ClipMedia;
        let startSeconds: number;
        let endSeconds: number;
        if (r.source === "dvr") {
          const view = this.#d.dvr.view(r.app, r.stream);
          const segments = view
            ? selectRange(view, r.startMs, r.endMs, {
              nowMs: this.#now(),
              open: true,
            })
            : [];
          // And the segment after: its keyframe is where a cut at the range's end may end.
          const last = segments[segments.length - 1];
          const next = last && view
            ? view.segments[view.segments.indexOf(last) + 1]
            : undefined;
          if (next && next.session === last!.session) segments.push(next);
          if (inPlace) {
            let seconds = 0;
            for (const sg of segments) seconds += sg.durationMs / 1000;
            reserve = headRoomFor(seconds);
            job.partial = partial;
            await this.#save(job);
          }
          src = await dvrMedia(
            this.#d.dvr.streamDir(r.app, r.stream),
            segments,
            inPlace ? partial : `${work}/payload.bin`,
            {
              signal,
              onProgress: (f) => progress(f * (inPlace ? 0.95 : readShare)),
              reserveBytes: reserve,
            },
          );
          startSeconds = (r.startMs - src.t0Ms!) / 1000;
          endSeconds = (r.endMs - src.t0Ms!) / 1000;
        } else {
          src = {
            media: await this.#libraryMedia(r.path),
            t0Ms: undefined,
            temporary: [],
          };
          startSeconds = r.startSeconds;
          endSeconds = r.endSeconds;
        }
        startSeconds = Math.max(0, startSeconds);
        if (!r.exact) {
          endSeconds = keyframeEnd(src.media, startSeconds, endSeconds);
        }
        if (r.exact) {
          src = await exactCut(src.media, startSeconds, endSeconds, {
            workDir: work,
            ffmpegPath: this.#o.ffmpegPath,
            signal,
          });
          // The exact cut is the clip: from 0 to its end.
          endSeconds = endSeconds - startSeconds;
          startSeconds = 0;
        }
        const range = { startSeconds, endSeconds, accurate: false as const };
        const writeShare = 1 - readShare;
        const onBytes = (total: number) => (n: number) => {
          job.bytes = n;
          progress(
            readShare + writeShare * Math.min(1, n / Math.max(1, total)),
          );
        };
        const head = inPlace
          ? (() => {
            const plan = planRange(src.media, range);
            return planMp4InPlace(plan.parts, { startMs: plan.showFromMs }, {
              headBytes: reserve,
              payloadBytes: src.media.file.size - reserve,
            });
          })()
          : undefined;
        if (head) {
          const f = await Deno.open(partial, { write: true });
          try {
            await writeAll(f, head);
            await f.syncData();
          } finally {
            f.close();
          }
          await Deno.rename(partial, final);
          job.bytes = (await Deno.stat(final)).size;
        } else if (r.format === "hls") {
          await this.#writeHls(job, src, range, final, work, signal, onBytes);
        } else {
          if (inPlace) {
            // The head did not fit its room: the frames move to a file of their own first.
            await Deno.rename(partial, `${work}/payload.bin`);
            src = {
              ...src,
              media: {
                ...src.media,
                file: { ...src.media.file, realPath: `${work}/payload.bin` },
              },
            };
          }
          const source = r.format === "mp4"
            ? mp4Source(src.media, range)
            : flvSource(src.media, range);
          job.partial = partial;
          await this.#save(job);
          await writePieces(src.media.file.realPath, source, partial, {
            signal,
            onBytes: onBytes(source.size),
          });
          await Deno.rename(partial, final);
          job.bytes = source.size;
        }
        job.partial = undefined;
        const result = await indexFile(
          r.format === "hls" ? `${work}/clip.mp4` : final,
        )
          .catch(() => undefined);
        job.duration = result
          ? Math.round(result.index.durationMs) / 1000
          : undefined;
      }
      job.path = rel;
      job.url = this.#o.libraryPrefix === undefined
        ? undefined
        : this.#o.libraryPrefix +
          rel.split("/").map(encodeURIComponent).join("/");
      job.state = "done";
      job.percent = 100;
      this.finished.done++;
      this.#log.info("clip done", {
        id: job.id,
        path: rel,
        seconds: job.duration,
        bytes: job.bytes,
        took: Math.round(performance.now() - started) / 1000,
      });
    } catch (err) {
      const e = err instanceof ArchiveError
        ? err
        : isDiskFull(err)
        ? new ArchiveError(
          ArchiveErrorCode.DiskFull,
          "Cannot clip: the disk is full",
          { cause: err },
        )
        : new ArchiveError(
          ArchiveErrorCode.Io,
          `Cannot clip: ${describeError(err)}`,
          { cause: err },
        );
      if (job.partial) {
        await Deno.remove(job.partial, { recursive: true }).catch(() => {});
      }
      job.partial = undefined;
      if (this.#closed && signal.aborted) {
        // Shut down mid-run: it starts over at the next start.
        job.state = "running";
        await this.#save(job);
        return;
      }
      if (e.code === ArchiveErrorCode.Cancelled || signal.aborted) {
        job.state = "cancelled";
        this.finished.cancelled++;
        this.#log.info("clip cancelled", { id: job.id });
      } else {
        job.state = "failed";
        job.error = { code: e.code, message: e.message };
        this.finished.failed++;
        this.#log.error("clip failed", {
          id: job.id,
          code: e.code,
          error: describeError(e),
        });
      }
    } finally {
      for (const t of temporary) {
        await Deno.remove(t, { recursive: true }).catch(() => {});
      }
    }
    job.finishedAt = new Date(this.#now()).toISOString();
    await this.#save(job);
    await this.#prune();
  }

  /** An HLS package: `name.m3u8` beside a `name/` folder of segments, the playlist last. */
  async #writeHls(
    job: ClipJob,
    src: ClipMedia,
    range: { startSeconds: number; endSeconds: number; accurate: false },
    final: string,
    work: string,
    signal: AbortSignal,
    onBytes: (total: number) => (n: number) => void,
  ): Promise<void> {
    // The keyframe cut as an MP4 first (copied by range), then its VOD segments.
    const mp4 = mp4Source(src.media, range);
    await writePieces(src.media.file.realPath, mp4, `${work}/clip.mp4`, {
      signal,
    });
    const clip = await indexFile(`${work}/clip.mp4`);
    const segments = planSegments(clip, this.#o.hlsSegmentMs);
    const base = final.slice(0, -".m3u8".length);
    const name = base.slice(base.lastIndexOf("/") + 1);
    const dir = base.slice(0, base.lastIndexOf("/"));
    const partial = `${dir}/.${name}.part`;
    job.partial = partial;
    await this.#save(job);
    await Deno.mkdir(partial, { recursive: true });
    const f = await Deno.open(`${work}/clip.mp4`, { read: true });
    let written = 0;
    const progress = onBytes(clip.file.size);
    try {
      for (let n = 0; n < segments.length; n++) {
        if (signal.aborted) {
          throw new ArchiveError(ArchiveErrorCode.Cancelled, "Cancelled");
        }
        const bytes = await vodSegment(
          clip,
          segments,
          n,
          async (offset, length) => {
            const out = new Uint8Array(length);
            await f.seek(offset, Deno.SeekMode.Start);
            let got = 0;
            while (got < length) {
              const k = await f.read(out.subarray(got));
              if (k === null) break;
              got += k;
            }
            return out;
          },
        );
        await writeFileDurably(`${partial}/${n}.ts`, bytes);
        written += bytes.byteLength;
        progress(Math.min(clip.file.size, written));
      }
    } catch (err) {
      if (err instanceof ArchiveError) throw err;
      throw isDiskFull(err)
        ? new ArchiveError(
          ArchiveErrorCode.DiskFull,
          "Cannot clip: the disk is full",
          { cause: err },
        )
        : new ArchiveError(
          ArchiveErrorCode.Unsupported,
          `Cannot clip as HLS: ${describeError(err)}`,
          { cause: err },
        );
    } finally {
      f.close();
    }
    await Deno.rename(partial, base);
    job.partial = final;
    const text = vodPlaylist(
      segments,
      `${encodeURIComponent(name)}/`,
      "",
      undefined,
    );
    await writeFileDurably(`${final}.tmp`, new TextEncoder().encode(text));
    await Deno.rename(`${final}.tmp`, final);
    job.bytes = written + text.length;
  }

  /**
   * An HLS clip of the DVR out of the kept segments ({@link planDvrHlsClip}): those inside
   * the range hard-linked (copied across disks), the two ends sliced at keyframes, the
   * playlist last. False (nothing written) when the segments cannot be cut so: remux instead.
   */
  async #hlsOfKeptSegments(
    job: ClipJob,
    r: Extract<ClipRequest, { source: "dvr" }>,
    final: string,
    signal: AbortSignal,
    progress: (fraction: number) => void,
  ): Promise<boolean> {
    const view = this.#d.dvr.view(r.app, r.stream);
    if (!view) return false;
    const segments = selectRange(view, r.startMs, r.endMs, {
      nowMs: this.#now(),
      open: true,
    });
    const after = segments.length > 0
      ? view.segments[view.segments.indexOf(segments.at(-1)!) + 1]
      : undefined;
    if (after && after.session === segments.at(-1)!.session) {
      segments.push(after);
    }
    const streamDir = this.#d.dvr.streamDir(r.app, r.stream);
    const read = new Map<DvrSegment, Uint8Array>();
    const gone = (cause: unknown) =>
      new ArchiveError(
        ArchiveErrorCode.OutOfWindow,
        `Cannot clip ${r.app}/${r.stream}: the range left the DVR window while it was cut`,
        { cause },
      );
    const pieces = await planDvrHlsClip(
      segments,
      r.startMs,
      r.endMs,
      async (s) => {
        let bytes: Uint8Array;
        try {
          bytes = await Deno.readFile(`${streamDir}/${s.name}`);
        } catch (cause) {
          if (cause instanceof Deno.errors.NotFound) throw gone(cause);
          throw cause;
        }
        try {
          const map = scanTsKeyframes(bytes);
          read.set(s, bytes);
          return map;
        } catch {
          return undefined; // not ours to slice: remuxed instead
        }
      },
    );
    if (!pieces) return false;
    const base = final.slice(0, -".m3u8".length);
    const name = base.slice(base.lastIndexOf("/") + 1);
    const dir = base.slice(0, base.lastIndexOf("/"));
    const partial = `${dir}/.${name}.part`;
    job.partial = partial;
    await this.#save(job);
    await Deno.mkdir(partial, { recursive: true });
    const toSync: string[] = [];
    let bytes = 0;
    try {
      for (let n = 0; n < pieces.length; n++) {
        if (signal.aborted) {
          throw new ArchiveError(ArchiveErrorCode.Cancelled, "Cancelled");
        }
        const p = pieces[n]!;
        const out = `${partial}/${n}.ts`;
        if (p.whole) {
          const src = `${streamDir}/${p.segment.name}`;
          try {
            // Kept segments never change: the clip shares their blocks.
            await Deno.link(src, out);
          } catch (cause) {
            if (cause instanceof Deno.errors.NotFound) throw gone(cause);
            await Deno.copyFile(src, out).catch((err) => {
              throw err instanceof Deno.errors.NotFound ? gone(err) : err;
            });
            toSync.push(out);
          }
          bytes += p.segment.bytes;
        } else {
          const slice = sliceTs(
            read.get(p.segment)!,
            p.map!,
            p.fromPacket,
            p.toPacket,
          );
          await Deno.writeFile(out, slice);
          toSync.push(out);
          bytes += slice.byteLength;
        }
        job.bytes = bytes;
        progress((n + 1) / pieces.length);
      }
      // Synced together (the disk takes them as one batch), then named.
      await syncFiles(toSync);
      await syncDir(partial);
    } catch (err) {
      if (err instanceof ArchiveError) throw err;
      throw isDiskFull(err)
        ? new ArchiveError(
          ArchiveErrorCode.DiskFull,
          "Cannot clip: the disk is full",
          { cause: err },
        )
        : err;
    }
    await Deno.rename(partial, base);
    job.partial = final;
    const text = renderMediaPlaylist({
      mediaSequence: 0,
      discontinuitySequence: 0,
      playlistType: "VOD",
      ended: true,
      segments: pieces.map((p, n) => ({
        uri: `${encodeURIComponent(name)}/${n}.ts`,
        durationSeconds: p.durationMs / 1000,
        programDateTimeMs: p.programDateTimeMs,
        discontinuity: p.discontinuity,
      })),
    });
    await writeFileDurably(`${final}.tmp`, new TextEncoder().encode(text));
    await Deno.rename(`${final}.tmp`, final);
    await syncDir(dir);
    job.partial = undefined;
    job.bytes = bytes + text.length;
    let ms = 0;
    for (const p of pieces) ms += p.durationMs;
    job.duration = Math.round(ms) / 1000;
    return true;
  }

  /** The clip's path in the library, unique among files and jobs. */
  #outputPath(job: ClipJob): string {
    const r = job.request;
    const ext = r.format === "hls" ? "m3u8" : r.format;
    let app: string;
    let stream: string;
    let startMs: number;
    let name: string;
    if (r.source === "dvr") {
      app = r.app;
      stream = r.stream;
      startMs = r.startMs;
      const iso = new Date(r.startMs).toISOString();
      name = r.name ??
        `${iso.slice(0, 10)}T${iso.slice(11, 19).replaceAll(":", "-")}Z_${
          Math.round((r.endMs - r.startMs) / 1000)
        }s`;
    } else {
      app = "vod";
      const file = r.path.slice(r.path.lastIndexOf("/") + 1);
      const ext0 = extensionOf(file);
      stream =
        (ext0 in MEDIA_EXTENSIONS ? file.slice(0, -ext0.length - 1) : file)
          .replace(/[^A-Za-z0-9_.-]/g, "_").replace(/^\./, "_") || "file";
      startMs = this.#now();
      name = r.name ?? `${stream}_${r.startSeconds}-${r.endSeconds}`;
    }
    const rel = expandPattern(this.#o.clipPattern, {
      app,
      stream,
      startMs,
      ext,
      name,
    });
    const dot = rel.lastIndexOf(".");
    for (let n = 0; n < 10_000; n++) {
      const candidate = n === 0
        ? rel
        : `${rel.slice(0, dot)}-${n}${rel.slice(dot)}`;
      if (this.#claimed.has(candidate)) continue;
      try {
        Deno.lstatSync(`${this.#o.libraryDir}/${candidate}`);
        continue;
      } catch {
        // free
      }
      this.#claimed.add(candidate);
      return candidate;
    }
    return `${rel.slice(0, dot)}-${job.id}${rel.slice(dot)}`;
  }

  #saveThrottled(job: ClipJob): void {
    const now = this.#now();
    if (now - (this.#lastWrite.get(job.id) ?? 0) < PROGRESS_WRITE_MS) return;
    this.#lastWrite.set(job.id, now);
    this.#save(job).catch(() => {});
  }

  async #save(job: ClipJob): Promise<void> {
    const dir = this.#o.stateDir;
    if (dir === undefined) return;
    try {
      await writeJsonAtomic(`${dir}/${job.id}.json`, job);
    } catch (err) {
      this.#log.warn("cannot persist a clip job", {
        id: job.id,
        error: describeError(err),
      });
    }
  }

  /** Keeps the newest {@link MAX_KEPT_JOBS} finished jobs. */
  async #prune(): Promise<void> {
    const finished = [...this.#jobs.values()].filter((j) =>
      j.state === "done" || j.state === "failed" || j.state === "cancelled"
    );
    for (
      const j of finished.slice(0, Math.max(0, finished.length - MAX_KEPT_JOBS))
    ) {
      this.#jobs.delete(j.id);
      this.#lastWrite.delete(j.id);
      if (this.#o.stateDir !== undefined) {
        await removeIfPresent(`${this.#o.stateDir}/${j.id}.json`).catch(
          () => {},
        );
      }
    }
  }

  /** Stops: running jobs are interrupted and start over at the next start. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const c of this.#running.values()) c.abort();
    await Promise.all([...this.#finishing]);
  }
}
