/**
 * Recordings (录播): a stream's publish written into a library folder as fragmented MP4
 * (faststart when done) and/or FLV, from the config (`record` of the app or stream: every
 * publish from its start) or through the admin API (start and stop). Each file is at once VOD:
 * the library serves fragmented MP4 and FLV while they grow, and the finished file as it is.
 *
 * - Paths follow `origin.record.pathPattern` in the library (`recordings/{app}/{stream}/{start}.{ext}`);
 *   a name already taken gets `-1`, `-2`… before its extension.
 * - Files are split at a keyframe after `splitSeconds` or `splitBytes`, and at a codec change.
 * - Each open file is named in a journal (`${stateDir}/recordings/active/`); a start-up pass
 *   repairs what a crash left (truncated to its whole fragments or tags), finalizes it and
 *   reports it like any finished file. Finished files are listed in
 *   `${stateDir}/recordings/done.jsonl` and told to `onRecordDone` (retried with backoff).
 *
 * @module
 */

import type { FlvTag } from "../../codec/flv/mod.ts";
import {
  FlvTagType,
  isAudioSequenceHeader,
  isVideoKeyframe,
  isVideoSequenceHeader,
} from "../../codec/flv/mod.ts";
import type { RecordFormat } from "../../config/mod.ts";
import { describeError, type Logger } from "../log.ts";
import type { Hub } from "../stream/hub.ts";
import type { StreamRegistry } from "../stream/registry.ts";
import { ArchiveError, ArchiveErrorCode } from "./errors.ts";
import {
  listDir,
  removeIfPresent,
  writeAll,
  writeJsonAtomic,
} from "./files.ts";
import {
  finalizeMp4,
  patchFlvDuration,
  repairFlv,
  repairMp4,
} from "./finalize.ts";
import type { ArchivePolicies } from "./policy.ts";
import type { RecordDoneEvent, RecordHook } from "./record_hook.ts";
import {
  createWriter,
  type RecordWriter,
  type WrittenFile,
} from "./record_writers.ts";

/** Finished files kept in the listing (the newest). */
export const MAX_LISTED_RECORDINGS = 1_000;
/** Largest done list read at start-up (bytes). */
const MAX_DONE_FILE_BYTES = 16 * 1024 * 1024;
const RECORDINGS_DIR = "recordings";

/** Options of {@link Recorder}. */
export interface RecorderOptions {
  /** The library folder files are written into. */
  readonly libraryDir: string;
  /** The URL prefix the folder is served under (`/vod/`), if it is a library. */
  readonly libraryPrefix: string | undefined;
  readonly pathPattern: string;
  /** 0 = never split by time. */
  readonly splitMs: number;
  /** 0 = never split by size. */
  readonly splitBytes: number;
  readonly fragmentMs: number;
  /** Where the journal and the done list live; undefined = memory only (no recovery). */
  readonly stateDir: string | undefined;
}

/** What {@link Recorder} needs. */
export interface RecorderDeps {
  readonly registry: StreamRegistry;
  readonly policies: ArchivePolicies;
  readonly hook: RecordHook;
  readonly log: Logger;
  /** Epoch ms. @default Date.now */
  readonly now?: () => number;
}

/** One file as the admin API lists it. */
export interface RecordingFileInfo {
  readonly format: RecordFormat;
  /** Path in the library. */
  readonly path: string;
  /** Its VOD URL (when the folder is a library). */
  readonly url: string | undefined;
  readonly start: string;
  readonly startUnix: number;
  /** Seconds of media (so far, while recording). */
  readonly duration: number;
  readonly bytes: number;
  /** `recording` now, `done`, `recovered` (finished at start-up after a crash), `failed`. */
  readonly state: "recording" | "done" | "recovered" | "failed";
  readonly error?: string | undefined;
  readonly app: string;
  readonly stream: string;
}

/** A recording now, as the admin API shows it. */
export interface RecordingInfo {
  readonly id: string;
  readonly app: string;
  readonly stream: string;
  readonly formats: readonly RecordFormat[];
  /** `config` (the app's or stream's `record`) or `api`. */
  readonly by: "config" | "api";
  readonly start: string;
  readonly files: readonly RecordingFileInfo[];
}

interface JournalEntry {
  readonly id: string;
  readonly app: string;
  readonly stream: string;
  readonly format: RecordFormat;
  readonly path: string;
  readonly relPath: string;
  readonly startedAtMs: number;
}

interface OpenFile {
  readonly journal: JournalEntry;
  readonly writer: RecordWriter & { opened(): Promise<void> };
}

interface Active {
  readonly id: string;
  readonly hub: Hub;
  readonly formats: readonly RecordFormat[];
  readonly by: "config" | "api";
  readonly startedAtMs: number;
  open: OpenFile[];
  finished: RecordingFileInfo[];
  /** Finalizations in flight. */
  closing: Set<Promise<void>>;
  metadata: FlvTag | undefined;
  videoConfig: FlvTag | undefined;
  audioConfig: FlvTag | undefined;
  unsubscribe: () => void;
  stopped: boolean;
}

/** Counters of the recorder for /metrics. */
export interface RecorderStats {
  files: Record<"done" | "recovered" | "failed", number>;
  bytes: number;
}

/** The origin's recordings. */
export class Recorder {
  readonly #o: RecorderOptions;
  readonly #d: RecorderDeps;
  readonly #now: () => number;
  readonly #log: Logger;
  readonly #active = new Map<string, Active>();
  readonly #done: RecordingFileInfo[] = [];
  /** Names this process gave files (a split within a second must not reuse one). */
  readonly #claimed = new Set<string>();
  readonly #unsubscribe: () => void;
  #appendDone: Promise<void> = Promise.resolve();
  #closed = false;
  readonly stats: RecorderStats = {
    files: { done: 0, recovered: 0, failed: 0 },
    bytes: 0,
  };

  private constructor(options: RecorderOptions, deps: RecorderDeps) {
    this.#o = options;
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
    this.#log = deps.log;
    this.#unsubscribe = deps.registry.onPublish((hub) => this.#onPublish(hub));
  }

  /**
   * Starts the recorder: loads the done list, then finishes what a crash left (repair,
   * finalize, report), then records publishes whose config says so.
   */
  static async open(
    options: RecorderOptions,
    deps: RecorderDeps,
  ): Promise<Recorder> {
    const r = new Recorder(options, deps);
    await r.#loadDone();
    await r.#recover();
    return r;
  }

  get #stateDir(): string | undefined {
    return this.#o.stateDir === undefined
      ? undefined
      : `${this.#o.stateDir}/${RECORDINGS_DIR}`;
  }

  /** Recordings now. */
  get activeCount(): number {
    return this.#active.size;
  }

  /** Files being written now. */
  get openFiles(): number {
    let n = 0;
    for (const a of this.#active.values()) n += a.open.length;
    return n;
  }

  /** The recording of a stream now, if any. */
  active(app: string, stream: string): RecordingInfo | undefined {
    const a = this.#active.get(`${app}/${stream}`);
    return a ? this.#info(a) : undefined;
  }

  /** Every recording now, and the finished files (newest first, filtered by stream if given). */
  list(
    filter: { app?: string | undefined; stream?: string | undefined } = {},
  ): { active: RecordingInfo[]; files: RecordingFileInfo[] } {
    const match = (x: { app: string; stream: string }) =>
      (filter.app === undefined || x.app === filter.app) &&
      (filter.stream === undefined || x.stream === filter.stream);
    return {
      active: [...this.#active.values()].filter((a) =>
        match({ app: a.hub.app, stream: a.hub.name })
      ).map((a) => this.#info(a)),
      files: this.#done.filter(match).slice().reverse(),
    };
  }

  /**
   * Starts recording a live stream.
   *
   * @throws {ArchiveError} 404 when the stream is not live, 409 when it records already, 500
   *   or 507 when the folder cannot be written (nothing else is disturbed).
   */
  async start(
    app: string,
    stream: string,
    formats?: readonly RecordFormat[],
  ): Promise<RecordingInfo> {
    const hub = this.#d.registry.get(app, stream);
    if (!hub) {
      throw new ArchiveError(
        ArchiveErrorCode.NotFound,
        `Cannot record ${app}/${stream}: it is not live`,
      );
    }
    if (this.#active.has(`${app}/${stream}`)) {
      throw new ArchiveError(
        ArchiveErrorCode.Conflict,
        `Cannot record ${app}/${stream}: a recording of it is running`,
      );
    }
    const a = await this.#begin(
      hub,
      formats ?? this.#d.policies.recordFormats(app, stream),
      "api",
    );
    return this.#info(a);
  }

  /**
   * Stops a stream's recording; resolves when its files are finalized.
   *
   * @throws {ArchiveError} 404 when it is not recording.
   */
  async stop(app: string, stream: string): Promise<RecordingInfo> {
    const a = this.#active.get(`${app}/${stream}`);
    if (!a) {
      throw new ArchiveError(
        ArchiveErrorCode.NotFound,
        `Cannot stop recording ${app}/${stream}: it is not recording`,
      );
    }
    await this.#end(a, "stopped through the admin API");
    return this.#info(a);
  }

  #onPublish(hub: Hub): void {
    if (this.#closed) return;
    const policy = this.#d.policies.record(hub.app, hub.name);
    if (!policy) return;
    this.#begin(hub, policy.formats, "config").catch((err) =>
      this.#log.error("recording not started", {
        stream: `${hub.app}/${hub.name}`,
        error: describeError(err),
      })
    );
  }

  async #begin(
    hub: Hub,
    formats: readonly RecordFormat[],
    by: "config" | "api",
  ): Promise<Active> {
    const key = `${hub.app}/${hub.name}`;
    const a: Active = {
      id: crypto.randomUUID(),
      hub,
      formats: [...formats],
      by,
      startedAtMs: this.#now(),
      open: [],
      finished: [],
      closing: new Set(),
      metadata: undefined,
      videoConfig: undefined,
      audioConfig: undefined,
      unsubscribe: () => {},
      stopped: false,
    };
    this.#active.set(key, a);
    // Files and listener now, before any await: a publish's first keyframe may come in the
    // same task as its start, and writes queue behind each file's open.
    a.open = a.formats.map((f) => this.#newFile(a, f));
    if (hub.live) {
      // The hub replays its metadata and sequence headers to a new listener, then live tags.
      a.unsubscribe = hub.addListener({
        onTag: (tag) => this.#onTag(a, tag),
        onEnd: () => {
          this.#end(a, "the publisher left").catch((err) =>
            this.#log.error("recording end failed", {
              stream: key,
              error: describeError(err),
            })
          );
        },
      });
    }
    try {
      await Promise.all(a.open.map((f) => f.writer.opened()));
    } catch (err) {
      // A folder that cannot be written: nothing of this recording stays.
      a.stopped = true;
      a.unsubscribe();
      if (this.#active.get(key) === a) this.#active.delete(key);
      for (const f of a.open) {
        await f.writer.close().catch(() => {});
        await this.#unjournal(f.journal);
      }
      throw err;
    }
    if (!hub.live) await this.#end(a, "the publisher left");
    else {
      this.#log.info("recording started", {
        stream: key,
        by,
        formats: formats.join(","),
      });
    }
    return a;
  }

  /** A new file of `format` for `a`, named and opening (its writes queue behind the open). */
  #newFile(a: Active, format: RecordFormat): OpenFile {
    const startMs = this.#now();
    const rel = this.#claim(
      this.#relPath(a.hub.app, a.hub.name, format, startMs),
    );
    const journal: JournalEntry = {
      id: crypto.randomUUID(),
      app: a.hub.app,
      stream: a.hub.name,
      format,
      path: `${this.#o.libraryDir}/${rel}`,
      relPath: rel,
      startedAtMs: startMs,
    };
    const writer = createWriter(
      format,
      journal.path,
      this.#o.fragmentMs,
      this.#now,
    );
    this.#journal(journal).catch((err) =>
      this.#log.warn("cannot write the recording journal", {
        path: rel,
        error: describeError(err),
      })
    );
    return { journal, writer };
  }

  #relPath(
    app: string,
    stream: string,
    format: RecordFormat,
    startMs: number,
    name?: string,
  ): string {
    return expandPattern(this.#o.pathPattern, {
      app,
      stream,
      startMs,
      ext: format,
      name: name ?? "",
    });
  }

  /** `rel` with `-n` before its extension: `n` = 0 is `rel` itself. */
  #numbered(rel: string, n: number): string {
    const dot = rel.lastIndexOf(".");
    return n === 0 ? rel : `${rel.slice(0, dot)}-${n}${rel.slice(dot)}`;
  }

  /**
   * The first of `rel`, `rel-1`… that neither this process gave a file (a split within the
   * same second) nor exists on disk (an earlier process's). One stat per new file.
   */
  #claim(rel: string): string {
    for (let n = 0; n < 10_000; n++) {
      const name = this.#numbered(rel, n);
      if (this.#claimed.has(name)) continue;
      try {
        Deno.lstatSync(`${this.#o.libraryDir}/${name}`);
        continue;
      } catch {
        // free
      }
      this.#claimed.add(name);
      if (this.#claimed.size > MAX_LISTED_RECORDINGS * 4) {
        this.#claimed.delete(this.#claimed.values().next().value!);
      }
      return name;
    }
    return this.#numbered(rel, Date.now());
  }

  #onTag(a: Active, tag: FlvTag): void {
    if (a.stopped) return;
    const d = tag.data;
    if (tag.type === FlvTagType.Script) a.metadata = tag;
    else if (tag.type === FlvTagType.Video && isVideoSequenceHeader(d)) {
      a.videoConfig = tag;
    } else if (tag.type === FlvTagType.Audio && isAudioSequenceHeader(d)) {
      a.audioConfig = tag;
    }
    // Split at a keyframe (or at any audio frame of an audio-only stream).
    const boundary = tag.type === FlvTagType.Video
      ? isVideoKeyframe(d)
      : tag.type === FlvTagType.Audio && a.videoConfig === undefined &&
        !isAudioSequenceHeader(d);
    if (boundary && a.open.some((f) => this.#full(f.writer))) {
      this.#rotate(a, a.open.map((f) => f.journal.format), "split");
    }
    // Called for every tag of the stream: nothing is allocated unless a file ends or fails.
    let ended: RecordFormat[] | undefined;
    let anyFailed = false;
    for (const f of a.open) {
      // An error may have come from the write queue since the last tag.
      if (!f.writer.error && f.writer.push(tag) === "ended") {
        (ended ??= []).push(f.journal.format);
      }
      if (f.writer.error) anyFailed = true;
    }
    if (ended) {
      this.#rotate(a, ended, "codec change");
      for (const f of a.open) {
        if (ended.includes(f.journal.format)) f.writer.push(tag);
      }
      anyFailed = true; // the new files may have failed at once
    }
    if (!anyFailed) return;
    const failed = a.open.filter((f) => f.writer.error);
    for (const f of failed) {
      // Closed (and logged once, with its error) like any finished file.
      a.open = a.open.filter((x) => x !== f);
      this.#closeFile(a, f);
    }
    if (a.open.length === 0 && failed.length > 0) {
      this.#end(a, "every file failed").catch(() => {});
    }
  }

  #full(w: RecordWriter): boolean {
    return (this.#o.splitMs > 0 && w.durationMs >= this.#o.splitMs) ||
      (this.#o.splitBytes > 0 && w.bytes >= this.#o.splitBytes);
  }

  /** Ends the files of `formats` and opens new ones, which get the config tags first. */
  #rotate(a: Active, formats: readonly RecordFormat[], why: string): void {
    const old = a.open.filter((f) => formats.includes(f.journal.format));
    a.open = a.open.filter((f) => !formats.includes(f.journal.format));
    for (const f of old) this.#closeFile(a, f);
    for (const format of formats) {
      const f = this.#newFile(a, format);
      a.open.push(f);
      f.writer.opened().catch((err) =>
        this.#log.error("recording file not opened", {
          path: f.journal.relPath,
          error: describeError(err),
        })
      );
      for (const c of [a.metadata, a.videoConfig, a.audioConfig]) {
        if (c) f.writer.push(c);
      }
    }
    this.#log.info("recording split", {
      stream: `${a.hub.app}/${a.hub.name}`,
      reason: why,
      formats: formats.join(","),
    });
  }

  #closeFile(a: Active, f: OpenFile): void {
    const p = this.#finishFile(f, "done").then((info) => {
      a.finished.push(info);
    }).finally(() => a.closing.delete(p));
    a.closing.add(p);
  }

  /** Ends a file, lists it, tells the hook, forgets its journal. */
  async #finishFile(
    f: OpenFile,
    state: "done" | "recovered",
  ): Promise<RecordingFileInfo> {
    let written: WrittenFile;
    try {
      written = await f.writer.close();
    } catch (err) {
      written = {
        format: f.journal.format,
        path: f.journal.path,
        startedAtMs: f.journal.startedAtMs,
        durationMs: f.writer.durationMs,
        bytes: f.writer.bytes,
        error: err instanceof ArchiveError
          ? err
          : new ArchiveError(ArchiveErrorCode.Io, describeError(err)),
      };
    }
    return await this.#report(f.journal, written, state);
  }

  async #report(
    j: JournalEntry,
    w: WrittenFile,
    state: "done" | "recovered",
  ): Promise<RecordingFileInfo> {
    const startedAt = w.startedAtMs || j.startedAtMs;
    const empty = w.bytes === 0 || w.durationMs === 0;
    const info: RecordingFileInfo = {
      app: j.app,
      stream: j.stream,
      format: j.format,
      path: j.relPath,
      url: this.#urlOf(j.relPath),
      start: new Date(startedAt).toISOString(),
      startUnix: Math.floor(startedAt / 1000),
      duration: Math.round(w.durationMs) / 1000,
      bytes: w.bytes,
      state: w.error ? "failed" : state,
      ...(w.error ? { error: w.error.message } : {}),
    };
    if (empty && !w.error) {
      // Nothing reached the file (the publisher left before a keyframe): no file to keep.
      await removeIfPresent(j.path).catch(() => {});
      await this.#unjournal(j);
      return { ...info, state: "failed", error: "no media was recorded" };
    }
    this.stats.files[info.state === "failed" ? "failed" : state]++;
    this.stats.bytes += w.bytes;
    // A file reported again (a crash after it was listed, before its journal was removed)
    // replaces its first entry.
    const again = this.#done.findIndex((d) => d.path === info.path);
    if (again >= 0) this.#done.splice(again, 1);
    this.#done.push(info);
    if (this.#done.length > MAX_LISTED_RECORDINGS) this.#done.shift();
    await this.#persistDone(info);
    const fields = {
      stream: `${j.app}/${j.stream}`,
      path: j.relPath,
      state: info.state,
      seconds: info.duration,
      bytes: info.bytes,
    };
    if (w.error) {
      this.#log.error("recording file failed", {
        ...fields,
        error: describeError(w.error),
      });
    } else this.#log.info("recording file done", fields);
    const event: RecordDoneEvent = {
      app: j.app,
      stream: j.stream,
      path: j.relPath,
      url: info.url,
      format: j.format,
      start: info.start,
      duration: info.duration,
      bytes: info.bytes,
    };
    // In the hook's outbox before the journal forgets the file: a crash between the two
    // recovers the file again and tells the hook again (at least once, never lost).
    await this.#d.hook.notify(event);
    await this.#unjournal(j);
    return info;
  }

  #urlOf(rel: string): string | undefined {
    const prefix = this.#o.libraryPrefix;
    return prefix === undefined
      ? undefined
      : prefix + rel.split("/").map(encodeURIComponent).join("/");
  }

  async #end(a: Active, why: string): Promise<void> {
    if (a.stopped) {
      await Promise.all([...a.closing]);
      return;
    }
    a.stopped = true;
    a.unsubscribe();
    const key = `${a.hub.app}/${a.hub.name}`;
    for (const f of a.open) this.#closeFile(a, f);
    a.open = [];
    await Promise.all([...a.closing]);
    if (this.#active.get(key) === a) this.#active.delete(key);
    this.#log.info("recording ended", { stream: key, reason: why });
  }

  #info(a: Active): RecordingInfo {
    const open = a.open.map((f): RecordingFileInfo => {
      const start = f.writer.startedAtMs ?? f.journal.startedAtMs;
      return {
        app: a.hub.app,
        stream: a.hub.name,
        format: f.journal.format,
        path: f.journal.relPath,
        url: this.#urlOf(f.journal.relPath),
        start: new Date(start).toISOString(),
        startUnix: Math.floor(start / 1000),
        duration: Math.round(f.writer.durationMs) / 1000,
        bytes: f.writer.bytes,
        state: "recording",
      };
    });
    return {
      id: a.id,
      app: a.hub.app,
      stream: a.hub.name,
      formats: a.formats,
      by: a.by,
      start: new Date(a.startedAtMs).toISOString(),
      files: [...a.finished, ...open],
    };
  }

  async #journal(j: JournalEntry): Promise<void> {
    const dir = this.#stateDir;
    if (dir === undefined) return;
    await Deno.mkdir(`${dir}/active`, { recursive: true });
    await writeJsonAtomic(`${dir}/active/${j.id}.json`, j);
  }

  async #unjournal(j: JournalEntry): Promise<void> {
    const dir = this.#stateDir;
    if (dir === undefined) return;
    await removeIfPresent(`${dir}/active/${j.id}.json`).catch(() => {});
  }

  async #persistDone(info: RecordingFileInfo): Promise<void> {
    const dir = this.#stateDir;
    if (dir === undefined) return;
    const line = new TextEncoder().encode(JSON.stringify(info) + "\n");
    const p = this.#appendDone.then(async () => {
      try {
        await Deno.mkdir(dir, { recursive: true });
        const f = await Deno.open(`${dir}/done.jsonl`, {
          append: true,
          create: true,
        });
        try {
          await writeAll(f, line);
          await f.syncData();
        } finally {
          f.close();
        }
      } catch (err) {
        this.#log.warn("cannot persist the recordings list", {
          error: describeError(err),
        });
      }
    });
    this.#appendDone = p;
    await p;
  }

  async #loadDone(): Promise<void> {
    const dir = this.#stateDir;
    if (dir === undefined) return;
    let text: string;
    try {
      const info = await Deno.stat(`${dir}/done.jsonl`);
      if (info.size > MAX_DONE_FILE_BYTES) {
        this.#log.warn("recordings list too large, starting a new one", {
          bytes: info.size,
        });
        await Deno.rename(
          `${dir}/done.jsonl`,
          `${dir}/done.${Date.now()}.jsonl`,
        );
        return;
      }
      text = await Deno.readTextFile(`${dir}/done.jsonl`);
    } catch {
      return;
    }
    // By path, the last line of a file winning (one reported again after a crash).
    const byPath = new Map<string, RecordingFileInfo>();
    for (const line of text.split("\n")) {
      if (line === "") continue;
      try {
        const v = JSON.parse(line) as RecordingFileInfo;
        if (typeof v.path === "string" && typeof v.app === "string") {
          byPath.delete(v.path);
          byPath.set(v.path, v);
        }
      } catch {
        // a torn last line (a crash mid-append): skipped
      }
    }
    this.#done.push(...[...byPath.values()].slice(-MAX_LISTED_RECORDINGS));
  }

  /** The start-up pass: every file a crash left open is repaired, finalized and reported. */
  async #recover(): Promise<void> {
    const dir = this.#stateDir;
    if (dir === undefined) return;
    for (const e of await listDir(`${dir}/active`)) {
      if (!e.isFile || !e.name.endsWith(".json")) {
        if (e.name.endsWith(".tmp")) {
          await removeIfPresent(`${dir}/active/${e.name}`);
        }
        continue;
      }
      let j: JournalEntry;
      try {
        j = JSON.parse(await Deno.readTextFile(`${dir}/active/${e.name}`));
      } catch {
        await removeIfPresent(`${dir}/active/${e.name}`);
        continue;
      }
      await this.#recoverFile(j);
    }
  }

  async #recoverFile(j: JournalEntry): Promise<void> {
    let written: WrittenFile;
    try {
      if (j.format === "mp4") {
        const r = await repairMp4(j.path);
        const done = await finalizeMp4(j.path);
        written = {
          format: "mp4",
          path: j.path,
          startedAtMs: j.startedAtMs,
          durationMs: done.durationMs,
          bytes: done.bytes,
        };
        this.#log.info("recording repaired after a crash", {
          path: j.relPath,
          bytes: r.size,
          kept: r.kept,
        });
      } else {
        const r = await repairFlv(j.path);
        await patchFlvDuration(j.path, r.lastTimestampMs / 1000);
        written = {
          format: "flv",
          path: j.path,
          startedAtMs: j.startedAtMs,
          durationMs: r.lastTimestampMs,
          bytes: r.kept,
        };
        this.#log.info("recording repaired after a crash", {
          path: j.relPath,
          bytes: r.size,
          kept: r.kept,
        });
      }
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        await this.#unjournal(j);
        return;
      }
      written = {
        format: j.format,
        path: j.path,
        startedAtMs: j.startedAtMs,
        durationMs: 0,
        bytes: (await Deno.stat(j.path).catch(() => ({ size: 0 }))).size,
        error: err instanceof ArchiveError
          ? err
          : new ArchiveError(ArchiveErrorCode.Io, describeError(err)),
      };
    }
    await this.#report(j, written, "recovered");
  }

  /** Ends every recording (their files finalized), then stops listening. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe();
    await Promise.all(
      [...this.#active.values()].map((a) => this.#end(a, "shutdown")),
    );
    await this.#appendDone;
  }
}

/** Fields of a library path pattern. */
export interface PatternFields {
  readonly app: string;
  readonly stream: string;
  readonly startMs: number;
  readonly ext: string;
  readonly name: string;
}

/**
 * Expands `{app}`, `{stream}`, `{start}` (UTC, `2024-05-01T12-00-00Z`: no colons in file
 * names), `{date}`, `{unix}`, `{name}` and `{ext}`.
 *
 * @example
 * ```ts
 * import { expandPattern } from "./recorder.ts";
 * import assert from "node:assert/strict";
 * assert.equal(
 *   expandPattern("recordings/{app}/{stream}/{start}.{ext}", { app: "live", stream: "cam", startMs: Date.UTC(2024, 4, 1, 12), ext: "mp4", name: "" }),
 *   "recordings/live/cam/2024-05-01T12-00-00Z.mp4",
 * );
 * ```
 */
export function expandPattern(pattern: string, f: PatternFields): string {
  const iso = new Date(f.startMs).toISOString();
  const start = `${iso.slice(0, 10)}T${
    iso.slice(11, 19).replaceAll(":", "-")
  }Z`;
  return pattern.replace(
    /\{(app|stream|start|date|unix|name|ext)\}/g,
    (_m, k) => {
      switch (k) {
        case "app":
          return f.app;
        case "stream":
          return f.stream;
        case "start":
          return start;
        case "date":
          return iso.slice(0, 10);
        case "unix":
          return String(Math.floor(f.startMs / 1000));
        case "name":
          return f.name;
        default:
          return f.ext;
      }
    },
  );
}
