/**
 * The two recording files a stream's tags are written to, off the fan-out path: each write is
 * queued (one after the other) and the tag handler never waits.
 *
 * - {@link Mp4Writer}: a fragmented MP4 ({@link FlvFragmenter}); each fragment (about
 *   `fragmentMs` of media) is fsync'ed before the next is written, so a crash or a power loss
 *   loses at most the last one. Finalized to a faststart MP4 when it ends.
 * - {@link FlvWriter}: the stream's own FLV tags, timestamps from 0, fsync'ed as often; its
 *   `onMetaData` gets the real duration when it ends.
 *
 * @module
 */

import { amf0Properties, decodeAll } from "../../codec/amf0/mod.ts";
import { encodeAmf0 } from "../../codec/amf0/encode.ts";
import { Amf0EcmaArray } from "../../codec/amf0/types.ts";
import {
  encodeFlvHeader,
  encodeFlvTag,
  type FlvTag,
  FlvTagType,
  isAudioSequenceHeader,
  isVideoKeyframe,
  isVideoSequenceHeader,
} from "../../codec/flv/mod.ts";
import { FlvFragmenter } from "../../codec/mp4/mod.ts";
import type { RecordFormat } from "../../config/mod.ts";
import { ArchiveError, ArchiveErrorCode, isDiskFull } from "./errors.ts";
import { writeAll } from "./files.ts";
import {
  finalizeMp4,
  patchFlvDuration,
  repairFlv,
  repairMp4,
} from "./finalize.ts";

/** Bytes queued for one file's disk writes; past it the recording fails (a disk too slow). */
export const MAX_QUEUED_RECORD_BYTES = 64 * 1024 * 1024;

/** A finished file. */
export interface WrittenFile {
  readonly format: RecordFormat;
  readonly path: string;
  readonly startedAtMs: number;
  readonly durationMs: number;
  readonly bytes: number;
  /** Why it ended badly (it still holds what was written). */
  readonly error?: ArchiveError | undefined;
}

/** One recording file being written. */
export interface RecordWriter {
  readonly format: RecordFormat;
  readonly path: string;
  /** Wall clock of its first frame (epoch ms), once it has one. */
  readonly startedAtMs: number | undefined;
  /** Bytes handed to the disk so far. */
  readonly bytes: number;
  /** Media written so far, ms. */
  readonly durationMs: number;
  /** Set once a write failed: the file takes nothing more. */
  readonly error: ArchiveError | undefined;
  /**
   * Takes a tag. `"ended"`: the codec changed and this file cannot take it; end it and give
   * the tag to a new file.
   */
  push(tag: FlvTag): "ok" | "ended";
  /** Ends the file (the last fragment, then finalization). */
  close(): Promise<WrittenFile>;
}

function ioError(path: string, err: unknown): ArchiveError {
  if (err instanceof ArchiveError) return err;
  return isDiskFull(err)
    ? new ArchiveError(
      ArchiveErrorCode.DiskFull,
      `Cannot record into '${path}': the disk is full`,
      { cause: err },
    )
    : new ArchiveError(
      ArchiveErrorCode.Io,
      `Cannot record into '${path}': ${
        err instanceof Error ? err.message : String(err)
      }`,
      { cause: err },
    );
}

/** What both writers share: the file, its write queue, its failure. */
abstract class QueuedFile {
  readonly path: string;
  readonly #now: () => number;
  #file: Promise<Deno.FsFile>;
  #queue: Promise<void>;
  #queued = 0;
  bytes = 0;
  error: ArchiveError | undefined;
  startedAtMs: number | undefined;

  constructor(path: string, now: () => number) {
    this.path = path;
    this.#now = now;
    // The folder first: a pattern with {date} names a new one at midnight.
    this.#file = Deno.mkdir(path.slice(0, path.lastIndexOf("/")) || "/", {
      recursive: true,
    }).then(() => Deno.open(path, { write: true, createNew: true }));
    this.#queue = this.#file.then(() => {}, (err) => {
      this.error = ioError(path, err);
    });
  }

  /** The file was opened (or why not). */
  async opened(): Promise<void> {
    await this.#queue;
    if (this.error) throw this.error;
  }

  protected markStart(): void {
    this.startedAtMs ??= this.#now();
  }

  /** Queues `chunks` (then an fsync when `sync`). */
  protected write(chunks: readonly Uint8Array[], sync: boolean): void {
    if (this.error) return;
    let n = 0;
    for (const c of chunks) n += c.byteLength;
    if (this.#queued + n > MAX_QUEUED_RECORD_BYTES) {
      this.error = new ArchiveError(
        ArchiveErrorCode.Io,
        `Cannot record into '${this.path}': the disk is slower than the stream (${this.#queued} bytes queued)`,
      );
      return;
    }
    this.#queued += n;
    this.bytes += n;
    this.#queue = this.#queue.then(async () => {
      if (this.error) return;
      try {
        const f = await this.#file;
        for (const c of chunks) await writeAll(f, c);
        if (sync) await f.syncData();
      } catch (err) {
        this.error ??= ioError(this.path, err);
      } finally {
        this.#queued -= n;
      }
    });
  }

  /** Waits for every queued write, fsyncs and closes the file. */
  protected async finish(): Promise<void> {
    await this.#queue;
    let f: Deno.FsFile | undefined;
    try {
      f = await this.#file;
      if (!this.error) await f.syncData();
    } catch (err) {
      this.error ??= ioError(this.path, err);
    } finally {
      try {
        f?.close();
      } catch {
        // already closed
      }
    }
  }
}

/** A recording into a fragmented MP4, finalized to faststart. */
export class Mp4Writer extends QueuedFile implements RecordWriter {
  readonly format = "mp4" as const;
  readonly #fragmenter: FlvFragmenter;
  #durationMs = 0;

  constructor(path: string, fragmentMs: number, now: () => number) {
    super(path, now);
    this.#fragmenter = new FlvFragmenter({ fragmentMs });
  }

  get durationMs(): number {
    return this.#fragmenter.durationMs;
  }

  push(tag: FlvTag): "ok" | "ended" {
    if (this.error) return "ok";
    const r = this.#fragmenter.push(tag);
    if (this.#fragmenter.started) this.markStart();
    // Each chunk after the init segment is one fragment: synced before the next is written.
    if (r.bytes.length > 0) this.write(r.bytes, true);
    return r.ended ? "ended" : "ok";
  }

  async close(): Promise<WrittenFile> {
    const rest = this.#fragmenter.flush();
    if (rest.length > 0) this.write(rest, true);
    await this.finish();
    this.#durationMs = this.#fragmenter.durationMs;
    let bytes = this.bytes;
    if (this.error && this.#fragmenter.started) {
      // A failed write may have left half a fragment: keep the whole ones, so it plays.
      bytes = (await repairMp4(this.path).catch(() => ({ kept: 0 }))).kept;
    }
    if (!this.error && this.#fragmenter.started) {
      try {
        const done = await finalizeMp4(this.path);
        bytes = done.bytes;
        this.#durationMs = done.durationMs;
      } catch (err) {
        // The fragmented file stays: it plays as it is (the library serves fragmented MP4).
        this.error = ioError(this.path, err);
      }
    }
    return {
      format: "mp4",
      path: this.path,
      startedAtMs: this.startedAtMs ?? 0,
      durationMs: this.#durationMs,
      bytes,
      error: this.error,
    };
  }
}

/** A recording into an FLV. */
export class FlvWriter extends QueuedFile implements RecordWriter {
  readonly format = "flv" as const;
  readonly #syncEveryMs: number;
  #metadata: FlvTag | undefined;
  #videoConfig: FlvTag | undefined;
  #audioConfig: FlvTag | undefined;
  #t0: number | undefined;
  #lastTs = 0;
  #lastSyncTs = 0;

  constructor(path: string, syncEveryMs: number, now: () => number) {
    super(path, now);
    this.#syncEveryMs = syncEveryMs;
  }

  get durationMs(): number {
    return this.#t0 === undefined ? 0 : this.#lastTs;
  }

  push(tag: FlvTag): "ok" | "ended" {
    if (this.error) return "ok";
    const d = tag.data;
    if (tag.type === FlvTagType.Script) {
      this.#metadata ??= tag;
      return "ok";
    }
    if (d.byteLength === 0) return "ok";
    const video = tag.type === FlvTagType.Video;
    if (video && isVideoSequenceHeader(d)) {
      this.#videoConfig = tag;
      if (this.#t0 !== undefined) this.#tag(tag);
      return "ok";
    }
    if (!video && isAudioSequenceHeader(d)) {
      this.#audioConfig = tag;
      if (this.#t0 !== undefined) this.#tag(tag);
      return "ok";
    }
    if (this.#t0 === undefined) {
      // Start on a keyframe (or on audio when there is no video).
      const ok = video ? isVideoKeyframe(d) : this.#videoConfig === undefined;
      if (!ok) return "ok";
      this.#t0 = tag.timestampMs;
      this.markStart();
      this.#writeHead();
    }
    this.#tag(tag);
    return "ok";
  }

  #writeHead(): void {
    const meta: Record<string, number | boolean | string> = {
      // First, so its offset is found again to patch the real value in (finalize.ts).
      duration: 0,
    };
    const props = this.#metadata ? metadataProps(this.#metadata) : {};
    for (const [k, v] of Object.entries(props)) {
      if (k !== "duration" && k !== "filesize") meta[k] = v;
    }
    meta.encoder ??= "Meridian";
    const chunks = [
      encodeFlvHeader({
        hasAudio: this.#audioConfig !== undefined ||
          props.audiocodecid !== undefined,
        hasVideo: this.#videoConfig !== undefined,
      }),
      encodeFlvTag({
        type: FlvTagType.Script,
        timestampMs: 0,
        data: encodeAmf0("onMetaData", new Amf0EcmaArray(meta)),
      }),
    ];
    for (const c of [this.#videoConfig, this.#audioConfig]) {
      if (c) chunks.push(encodeFlvTag({ ...c, timestampMs: 0 }));
    }
    this.write(chunks, true);
  }

  #tag(tag: FlvTag): void {
    const ts = Math.max(0, tag.timestampMs - this.#t0!);
    this.#lastTs = Math.max(this.#lastTs, ts);
    const sync = ts - this.#lastSyncTs >= this.#syncEveryMs;
    if (sync) this.#lastSyncTs = ts;
    this.write([encodeFlvTag({ ...tag, timestampMs: ts })], sync);
  }

  async close(): Promise<WrittenFile> {
    await this.finish();
    let bytes = this.bytes;
    if (this.error && this.#t0 !== undefined) {
      // Half a tag may be at the end: keep the whole ones.
      bytes = (await repairFlv(this.path).catch(() => ({ kept: 0 }))).kept;
    }
    if (!this.error && this.#t0 !== undefined) {
      try {
        await patchFlvDuration(this.path, this.#lastTs / 1000);
      } catch (err) {
        this.error = ioError(this.path, err);
      }
    }
    return {
      format: "flv",
      path: this.path,
      startedAtMs: this.startedAtMs ?? 0,
      durationMs: this.durationMs,
      bytes,
      error: this.error,
    };
  }
}

/** The publisher's onMetaData fields that are plain numbers, booleans or strings. */
function metadataProps(tag: FlvTag): Record<string, number | boolean | string> {
  const out: Record<string, number | boolean | string> = {};
  let values;
  try {
    values = decodeMetadata(tag.data);
  } catch {
    return out;
  }
  for (const [k, v] of Object.entries(values)) {
    if (
      typeof v === "number" || typeof v === "boolean" || typeof v === "string"
    ) out[k] = v;
  }
  return out;
}

function decodeMetadata(data: Uint8Array): Record<string, unknown> {
  const values = decodeAll(data);
  // `@setDataFrame` first when the publisher used it (ffmpeg, OBS).
  const i = values[0] === "@setDataFrame" ? 1 : 0;
  if (values[i] !== "onMetaData") return {};
  return amf0Properties(values[i + 1]!) ?? {};
}

/** A writer of `format` at `path`. */
export function createWriter(
  format: RecordFormat,
  path: string,
  fragmentMs: number,
  now: () => number,
): RecordWriter & { opened(): Promise<void> } {
  return format === "mp4"
    ? new Mp4Writer(path, fragmentMs, now)
    : new FlvWriter(path, fragmentMs, now);
}
