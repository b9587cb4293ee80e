/**
 * VOD transcode jobs: a library file made into an adaptive-bitrate set (HLS with a master
 * playlist, or one MP4 per rendition with a master over the library's HLS of each), written
 * into the library beside the file so the VOD service serves it.
 *
 * - One ffmpeg per job decodes the file once and encodes every rendition, keyframes every
 *   segment duration from 0 in each, so segments line up across renditions.
 * - Jobs wait in a queue, `maxConcurrentJobs` at a time; progress (percent, fps, speed, ETA)
 *   comes from ffmpeg's `-progress` blocks.
 * - A job writes into a hidden working folder (`.{output}.{id}.partial`, never served) and
 *   renames it into place when done, so a half-written set is never seen; a cancelled or failed
 *   job leaves nothing.
 * - The queue is journaled in `dataDir/transcode/jobs.json`: after a restart, queued jobs wait
 *   again and a job that was running starts over (ffmpeg cannot resume a file it was writing).
 *
 * @module
 */

import type { TranscodeProfile } from "../../config/mod.ts";
import { renderMasterPlaylist } from "../../codec/hls/mod.ts";
import type { MetricsRegistry } from "../../metrics/mod.ts";
import type { Logger } from "../log.ts";
import {
  checkRelPath,
  describeMedia,
  extensionOf,
  indexMediaFile,
  Library,
  type LibraryConfig,
  MEDIA_EXTENSIONS,
  VodError,
} from "../vod/mod.ts";
import type { ChildProcesses, SupervisedChild } from "./children.ts";
import { TranscodeError, TranscodeErrorCode } from "./errors.ts";
import {
  planRenditions,
  type SkippedProfile,
  type SourceShape,
  vodJobArgs,
  type VodJobFormat,
} from "./profiles.ts";
import { ProgressParser } from "./progress.ts";
import { describeJobOutput, type VodRendition } from "./vod_master.ts";

/** The journal, below the data directory. */
export const JOBS_FILE = "transcode/jobs.json";
/** Jobs waiting at once; more are refused (503). */
export const MAX_QUEUED_JOBS = 100;
/** Finished jobs remembered (the oldest are forgotten first). */
export const MAX_FINISHED_JOBS = 200;
/** The master playlist's name in a job's folder. */
export const MASTER_NAME = "master.m3u8";
/** ffmpeg log lines kept for a failed job's error. */
const ERROR_TAIL_LINES = 8;
const OUTPUT_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Where a job is. */
export type JobState = "queued" | "running" | "done" | "failed" | "cancelled";

/** A job as the API shows it (and the journal keeps it). */
export interface Job {
  readonly id: string;
  /** The source file's URL path (`/vod/films/a.mp4`). */
  readonly path: string;
  readonly profiles: readonly string[];
  readonly format: VodJobFormat;
  /** The set's folder, as a URL path (`/vod/films/a_abr/`). */
  readonly output: string;
  state: JobState;
  readonly createdAt: string;
  startedAt: string | undefined;
  finishedAt: string | undefined;
  /** Runs started (a restart of Meridian starts a running job again). */
  attempts: number;
  error: string | undefined;
  progress: {
    percent: number;
    fps: number | undefined;
    speed: number | undefined;
    etaSeconds: number | undefined;
  };
  skipped: readonly SkippedProfile[];
  /** The master playlist's URL path, once done. */
  master: string | undefined;
  renditions: readonly VodRendition[];
}

/** Options of {@link TranscodeJobs}. */
export interface TranscodeJobsOptions {
  readonly maxConcurrent: number;
  /** Segment (and keyframe) period of the outputs, s (`origin.vod.hlsSegmentSeconds`). */
  readonly segmentSeconds: number;
  readonly ffmpeg: string;
  /** Profiles a job may name. */
  readonly profiles: readonly TranscodeProfile[];
  readonly libraries: readonly LibraryConfig[];
}

/** What {@link TranscodeJobs} needs. */
export interface TranscodeJobsDeps {
  readonly children: ChildProcesses;
  readonly log: Logger;
  readonly metrics: MetricsRegistry;
  /** The data directory (the journal); none: jobs last as long as the process. */
  readonly dataDir: string | undefined;
  /** Epoch ms. @default Date.now */
  readonly now?: () => number;
}

/** A validated job request. */
export interface JobRequest {
  readonly path: string;
  readonly profiles: readonly TranscodeProfile[];
  readonly format: VodJobFormat;
  readonly output: string | undefined;
}

function badRequest(field: string, value: unknown, expected: string): never {
  const shown = JSON.stringify(value) ?? String(value);
  throw new TranscodeError(
    TranscodeErrorCode.BadRequest,
    `Invalid job '${field}': got ${
      shown.length > 200 ? `${shown.slice(0, 200)}…` : shown
    }, expected ${expected}`,
  );
}

/**
 * Validates a `POST /admin/transcode` body: `path` (a library file), `profiles` (names of
 * `origin.transcode.profiles`; default all), `format` (`hls` or `mp4`; default `hls`), `output`
 * (the set's folder name; default `{file name}_abr`).
 *
 * @throws {TranscodeError} `TRANSCODE_BAD_REQUEST` naming the first bad field.
 * @example
 * ```ts
 * import { parseJobRequest } from "./jobs.ts";
 * import { DEFAULT_LADDER } from "../../config/mod.ts";
 * import assert from "node:assert/strict";
 * const r = parseJobRequest({ path: "/vod/a.mp4", profiles: ["360p"] }, DEFAULT_LADDER);
 * assert.deepEqual([r.format, r.profiles.map((p) => p.name)], ["hls", ["360p"]]);
 * assert.throws(() => parseJobRequest({ path: "a.mp4", profiles: ["4k"] }, DEFAULT_LADDER), /'profiles\[0\]'/);
 * ```
 */
export function parseJobRequest(
  body: unknown,
  profiles: readonly TranscodeProfile[],
): JobRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    badRequest("", body, 'an object like {"path": "/vod/a.mp4"}');
  }
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) {
    if (!["path", "profiles", "format", "output"].includes(k)) {
      badRequest(
        k,
        b[k],
        "one of the known keys: path, profiles, format, output",
      );
    }
  }
  if (typeof b.path !== "string" || b.path === "" || b.path.length > 4096) {
    badRequest(
      "path",
      b.path,
      "the URL path of a library file, like /vod/a.mp4",
    );
  }
  const names = profiles.map((p) => p.name);
  let chosen = [...profiles];
  if (b.profiles !== undefined) {
    if (!Array.isArray(b.profiles) || b.profiles.length === 0) {
      badRequest(
        "profiles",
        b.profiles,
        `a list of profile names (${names.join(", ")})`,
      );
    }
    chosen = b.profiles.map((n, i) => {
      const p = profiles.find((x) => x.name === n);
      if (!p) {
        badRequest(
          `profiles[${i}]`,
          n,
          `a profile of origin.transcode.profiles (${names.join(", ")})`,
        );
      }
      return p;
    });
    if (new Set(chosen).size !== chosen.length) {
      badRequest("profiles", b.profiles, "each profile once");
    }
  }
  const format = b.format ?? "hls";
  if (format !== "hls" && format !== "mp4") {
    badRequest("format", format, "hls or mp4");
  }
  if (
    b.output !== undefined &&
    (typeof b.output !== "string" || !OUTPUT_RE.test(b.output) ||
      b.output.includes(".."))
  ) {
    badRequest(
      "output",
      b.output,
      "a folder name of [A-Za-z0-9_.-] (not hidden)",
    );
  }
  return {
    path: b.path,
    profiles: chosen,
    format,
    output: b.output as string | undefined,
  };
}

interface Running {
  readonly child: SupervisedChild;
  cancelled: boolean;
}

/** The job queue. */
export class TranscodeJobs {
  readonly #o: TranscodeJobsOptions;
  readonly #deps: TranscodeJobsDeps;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #libraries: Library[];
  readonly #jobs = new Map<string, Job>();
  readonly #running = new Map<string, Running>();
  readonly #file: string | undefined;
  readonly #outcomes;
  #writing: Promise<void> = Promise.resolve();
  #closed = false;
  /** Jobs in #run now (counted before their first await, so the queue never overfills). */
  #active = 0;
  /** Each job in #run, until it has cleaned up. */
  readonly #runs = new Map<string, Promise<void>>();

  private constructor(options: TranscodeJobsOptions, deps: TranscodeJobsDeps) {
    this.#o = options;
    this.#deps = deps;
    this.#log = deps.log;
    this.#now = deps.now ?? Date.now;
    this.#libraries = options.libraries.map((l) => new Library(l));
    this.#file = deps.dataDir === undefined
      ? undefined
      : `${deps.dataDir}/${JOBS_FILE}`;
    const m = deps.metrics;
    this.#outcomes = m.counter(
      "meridian_origin_transcode_jobs_total",
      "VOD transcode jobs ended, by outcome (done, failed, cancelled)",
    );
    m.collect(
      "meridian_origin_transcode_jobs",
      "VOD transcode jobs by state (queued, running, done, failed, cancelled)",
      "gauge",
      () => {
        const n: Record<JobState, number> = {
          queued: 0,
          running: 0,
          done: 0,
          failed: 0,
          cancelled: 0,
        };
        for (const j of this.#jobs.values()) n[j.state]++;
        return Object.entries(n).map(([state, v]) => [{ state }, v]);
      },
    );
    m.collect(
      "meridian_origin_transcode_job_percent",
      "Progress of each running VOD transcode job, percent of the file's duration",
      "gauge",
      () =>
        [...this.#jobs.values()].filter((j) => j.state === "running").map((
          j,
        ) => [{ job: j.id }, j.progress.percent]),
    );
  }

  /**
   * Opens the queue: jobs of the journal come back (a running one queued again, its partial
   * output removed), then the queue starts.
   */
  static async open(
    options: TranscodeJobsOptions,
    deps: TranscodeJobsDeps,
  ): Promise<TranscodeJobs> {
    const q = new TranscodeJobs(options, deps);
    await q.#load();
    q.#pump();
    return q;
  }

  /** Every job, newest first. */
  list(): Job[] {
    return [...this.#jobs.values()].reverse();
  }

  get(id: string): Job | undefined {
    return this.#jobs.get(id);
  }

  /**
   * Queues a job.
   *
   * @throws {TranscodeError} `TRANSCODE_BAD_REQUEST` (a bad body), `TRANSCODE_NOT_FOUND` (no
   *   such library file), `TRANSCODE_CONFLICT` (the output exists or another job writes it),
   *   `TRANSCODE_QUEUE_FULL`.
   */
  async submit(body: unknown): Promise<Job> {
    const r = parseJobRequest(body, this.#o.profiles);
    const { lib, rel } = this.#resolve(r.path);
    const file = await lib.stat(rel);
    if (!file || !(extensionOf(rel) in MEDIA_EXTENSIONS)) {
      throw new TranscodeError(
        TranscodeErrorCode.NotFound,
        `Cannot transcode '${
          r.path.slice(0, 256)
        }': no such media file in the library`,
      );
    }
    const slash = rel.lastIndexOf("/");
    const dir = slash < 0 ? "" : rel.slice(0, slash + 1);
    const base = rel.slice(slash + 1).replace(/\.[^.]*$/, "");
    const outputName = r.output ?? `${base}_abr`;
    const output = `${lib.prefix}${
      `${dir}${outputName}`.split("/").map(encodeURIComponent).join("/")
    }/`;
    const busy = [...this.#jobs.values()].find((j) =>
      j.output === output && (j.state === "queued" || j.state === "running")
    );
    if (busy || await exists(`${await lib.realRoot()}/${dir}${outputName}`)) {
      throw new TranscodeError(
        TranscodeErrorCode.Conflict,
        `Cannot transcode into '${output}': ${
          busy ? `job ${busy.id} writes it` : "it exists"
        }`,
      );
    }
    const queued =
      [...this.#jobs.values()].filter((j) => j.state === "queued").length;
    if (queued >= MAX_QUEUED_JOBS) {
      throw new TranscodeError(
        TranscodeErrorCode.QueueFull,
        `Cannot queue a job: ${MAX_QUEUED_JOBS} jobs wait already`,
      );
    }
    const job: Job = {
      id: crypto.randomUUID().replaceAll("-", "").slice(0, 12),
      path: `${lib.prefix}${rel.split("/").map(encodeURIComponent).join("/")}`,
      profiles: r.profiles.map((p) => p.name),
      format: r.format,
      output,
      state: "queued",
      createdAt: new Date(this.#now()).toISOString(),
      startedAt: undefined,
      finishedAt: undefined,
      attempts: 0,
      error: undefined,
      progress: {
        percent: 0,
        fps: undefined,
        speed: undefined,
        etaSeconds: undefined,
      },
      skipped: [],
      master: undefined,
      renditions: [],
    };
    this.#jobs.set(job.id, job);
    this.#forget();
    this.#log.info("job queued", {
      job: job.id,
      path: job.path,
      format: job.format,
    });
    await this.#save();
    // The job as queued: what the request created, before the queue may start it.
    const view = structuredClone(job);
    this.#pump();
    return view;
  }

  /**
   * Cancels a queued or running job (its ffmpeg killed, its partial output removed).
   *
   * @throws {TranscodeError} `TRANSCODE_NOT_FOUND`, or `TRANSCODE_CONFLICT` for a job that has
   *   ended.
   */
  async cancel(id: string): Promise<Job> {
    const job = this.#jobs.get(id);
    if (!job) {
      throw new TranscodeError(
        TranscodeErrorCode.NotFound,
        `Cannot find job '${id.slice(0, 64)}'`,
      );
    }
    if (job.state !== "queued" && job.state !== "running") {
      throw new TranscodeError(
        TranscodeErrorCode.Conflict,
        `Cannot cancel job '${id}': it is ${job.state}`,
      );
    }
    const inRun = this.#runs.get(id);
    if (inRun) {
      const run = this.#running.get(id);
      if (run) {
        run.cancelled = true;
        run.child.kill();
      } else this.#finish(job, "cancelled", undefined); // being prepared: #run stops at spawn
      await inRun; // its working folder removed, the journal written
    } else {
      this.#finish(job, "cancelled", undefined);
      await this.#save();
    }
    return job;
  }

  /**
   * Stops: running jobs are killed but stay `running` in the journal, so the next start runs
   * them again.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const r of this.#running.values()) r.child.kill();
    await Promise.allSettled([...this.#runs.values()]);
    await this.#writing;
  }

  #resolve(path: string): { lib: Library; rel: string } {
    const lib = this.#libraries.find((l) => path.startsWith(l.prefix)) ??
      (path.startsWith("/") ? undefined : this.#libraries[0]);
    if (!lib) {
      throw new TranscodeError(
        TranscodeErrorCode.NotFound,
        `Cannot transcode '${path.slice(0, 256)}': no library serves that path`,
      );
    }
    const rest = path.startsWith(lib.prefix)
      ? path.slice(lib.prefix.length)
      : path;
    try {
      return { lib, rel: checkRelPath(rest) };
    } catch (e) {
      throw new TranscodeError(
        TranscodeErrorCode.BadRequest,
        `Invalid job 'path': ${e instanceof VodError ? e.message : e}`,
        { cause: e },
      );
    }
  }

  #forget(): void {
    const ended = [...this.#jobs.values()].filter((j) =>
      j.state !== "queued" && j.state !== "running"
    );
    for (
      const j of ended.slice(0, Math.max(0, ended.length - MAX_FINISHED_JOBS))
    ) {
      this.#jobs.delete(j.id);
    }
  }

  #pump(): void {
    if (this.#closed) return;
    for (const job of this.#jobs.values()) {
      if (this.#active >= this.#o.maxConcurrent) return;
      if (job.state !== "queued") continue;
      const run = this.#run(job).catch((e) => {
        this.#log.error("job runner failed", { job: job.id, error: String(e) });
      }).finally(() => this.#runs.delete(job.id));
      this.#runs.set(job.id, run);
    }
  }

  #finish(job: Job, state: JobState, error: string | undefined): void {
    job.state = state;
    job.error = error;
    job.finishedAt = new Date(this.#now()).toISOString();
    job.progress.etaSeconds = undefined;
    this.#outcomes.inc({ outcome: state });
    const context = {
      job: job.id,
      path: job.path,
      ...(error ? { error } : {}),
    };
    if (state === "failed") this.#log.warn("job failed", context);
    else this.#log.info(`job ${state}`, context);
  }

  async #run(job: Job): Promise<void> {
    this.#active++;
    job.state = "running";
    job.startedAt = new Date(this.#now()).toISOString();
    job.attempts++;
    job.error = undefined;
    job.progress = {
      percent: 0,
      fps: undefined,
      speed: undefined,
      etaSeconds: undefined,
    };
    const { lib, rel } = this.#resolve(job.path);
    const root = await lib.realRoot();
    const outRel = decodeURIComponent(job.output.slice(lib.prefix.length, -1));
    const slash = outRel.lastIndexOf("/");
    const parent = `${root}/${outRel.slice(0, slash + 1)}`;
    const finalDir = `${root}/${outRel}`;
    const work = `${parent}.${outRel.slice(slash + 1)}.${job.id}.partial`;
    // A placeholder until the child exists, so a cancel meanwhile waits for this run.
    let run: Running | undefined;
    try {
      const file = await lib.stat(rel);
      if (!file) {
        throw new TranscodeError(
          TranscodeErrorCode.NotFound,
          `Cannot transcode '${job.path}': the file is gone`,
        );
      }
      const media = await indexMediaFile(file);
      const info = describeMedia(media);
      const video = media.index.tracks.find((t) => t.kind === "video");
      const shape: SourceShape = {
        hasVideo: video !== undefined,
        hasAudio: media.index.tracks.some((t) => t.kind === "audio"),
        width: video?.width,
        height: video?.height,
      };
      const profiles = job.profiles.map((n) =>
        this.#o.profiles.find((p) => p.name === n)
      ).filter(
        (p): p is TranscodeProfile => p !== undefined,
      );
      const { planned, skipped } = planRenditions(profiles, shape);
      job.skipped = skipped;
      if (planned.length === 0) {
        throw new TranscodeError(
          TranscodeErrorCode.JobFailed,
          `Cannot transcode '${job.path}': no profile fits it (${
            skipped.map((s) => `${s.profile}: ${s.reason}`).join("; ")
          })`,
        );
      }
      await Deno.remove(work, { recursive: true }).catch(() => {});
      await Deno.mkdir(work, { recursive: true });
      if (job.format === "hls") {
        for (const p of planned) await Deno.mkdir(`${work}/${p.profile.name}`);
      }
      await this.#save();
      const child = await this.#deps.children.spawn({
        command: this.#o.ffmpeg,
        args: vodJobArgs(
          file.realPath,
          planned,
          shape,
          job.format,
          this.#o.segmentSeconds,
          work,
        ),
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        label: `job ${job.id}`,
      });
      // Cancelled while it was being prepared, or the queue closed meanwhile (the job then
      // stays running in the journal, for the next start).
      if ((job.state as JobState) !== "running" || this.#closed) {
        child.kill();
        await child.status;
        return;
      }
      run = { child, cancelled: false };
      this.#running.set(job.id, run);
      this.#log.info("job started", {
        job: job.id,
        pid: child.pid,
        renditions: planned.length,
      });
      const durationMs = media.index.durationMs;
      const tail: string[] = [];
      const [, , status] = await Promise.all([
        readProgress(child, durationMs, job),
        readTail(child, tail),
        child.status,
      ]);
      if (run.cancelled) {
        this.#finish(job, "cancelled", undefined);
        return;
      }
      if (this.#closed) return; // stays "running" in the journal: the next start runs it again
      if (!status.success) {
        throw new TranscodeError(
          TranscodeErrorCode.JobFailed,
          `Job ${job.id} ffmpeg ${
            status.signal
              ? `killed by ${status.signal}`
              : `exited with code ${status.code}`
          }${tail.length ? `: ${tail[tail.length - 1]}` : ""}`,
        );
      }
      const described = await describeJobOutput(work, planned, job.format, {
        library: lib,
        segmentSeconds: this.#o.segmentSeconds,
        sourceFps: info.video?.fps,
      });
      await Deno.writeTextFile(
        `${work}/${MASTER_NAME}`,
        renderMasterPlaylist({
          independentSegments: true,
          variants: described.variants,
        }),
      );
      if (await exists(finalDir)) {
        throw new TranscodeError(
          TranscodeErrorCode.Conflict,
          `Cannot publish job ${job.id}: '${job.output}' appeared meanwhile`,
        );
      }
      await Deno.rename(work, finalDir);
      job.renditions = described.renditions;
      job.master = `${job.output}${MASTER_NAME}`;
      job.progress.percent = 100;
      this.#finish(job, "done", undefined);
    } catch (e) {
      if (this.#closed && !run?.cancelled) return;
      // Cancelled while it was being prepared.
      if ((job.state as JobState) === "cancelled") return;
      this.#finish(job, "failed", e instanceof Error ? e.message : String(e));
    } finally {
      this.#active--;
      this.#running.delete(job.id);
      const keep = this.#closed && job.state === "running";
      if (!keep && (job.state as JobState) !== "done") {
        await Deno.remove(work, { recursive: true }).catch(() => {});
      }
      await this.#save();
      this.#pump();
    }
  }

  async #load(): Promise<void> {
    const file = this.#file;
    if (!file) return;
    let saved: Job[];
    try {
      const parsed = JSON.parse(await Deno.readTextFile(file));
      saved = Array.isArray(parsed) ? parsed : [];
    } catch {
      return; // first start, or unreadable: nothing to resume
    }
    for (const j of saved) {
      if (typeof j?.id !== "string" || typeof j.path !== "string") continue;
      if (j.state === "running") {
        // Its ffmpeg died with the old process: start over, in a clean working folder.
        j.state = "queued";
        j.error = "restarted: the origin stopped while it ran";
        this.#log.info("job queued again after a restart", {
          job: j.id,
          path: j.path,
        });
      }
      this.#jobs.set(j.id, j);
    }
  }

  #save(): Promise<void> {
    const file = this.#file;
    if (!file) return Promise.resolve();
    const text = JSON.stringify([...this.#jobs.values()], null, 1);
    this.#writing = this.#writing.then(async () => {
      try {
        await Deno.mkdir(file.slice(0, file.lastIndexOf("/")), {
          recursive: true,
        });
        await Deno.writeTextFile(`${file}.tmp`, text);
        await Deno.rename(`${file}.tmp`, file);
      } catch (e) {
        this.#log.warn("cannot write the job journal", {
          file,
          error: e instanceof Error ? e.message : String(e),
        });
      }
    });
    return this.#writing;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function readProgress(
  child: SupervisedChild,
  durationMs: number,
  job: Job,
): Promise<void> {
  const parser = new ProgressParser();
  const decoder = new TextDecoder();
  try {
    for await (const chunk of child.process.stdout) {
      for (const e of parser.push(decoder.decode(chunk, { stream: true }))) {
        if (e.kind !== "report") continue;
        const r = e.report;
        const outMs = Math.max(0, r.outTimeMs ?? 0);
        const percent = durationMs > 0
          ? Math.min(99.9, (outMs * 100) / durationMs)
          : 0;
        job.progress = {
          percent: Math.round(percent * 10) / 10,
          fps: r.fps,
          speed: r.speed,
          etaSeconds: r.speed && r.speed > 0 && durationMs > 0
            ? Math.max(0, Math.round((durationMs - outMs) / 1000 / r.speed))
            : undefined,
        };
      }
    }
  } catch {
    // the pipe broke with the child
  }
}

async function readTail(child: SupervisedChild, tail: string[]): Promise<void> {
  const parser = new ProgressParser();
  const decoder = new TextDecoder();
  const take = (events: ReturnType<ProgressParser["push"]>) => {
    for (const e of events) {
      if (e.kind !== "log") continue;
      tail.push(e.line);
      if (tail.length > ERROR_TAIL_LINES) tail.shift();
    }
  };
  try {
    for await (const chunk of child.process.stderr) {
      take(parser.push(decoder.decode(chunk, { stream: true })));
    }
  } catch {
    // the pipe broke with the child
  }
  take(parser.end());
}
