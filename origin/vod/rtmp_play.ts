/**
 * RTMP play of a library file (Flash-era VOD: `rtmp://host/vod` + `file.mp4`): the file's frames
 * as FLV tags, paced at playback speed after a start-up burst, with seek, pause and unpause, and
 * the end told the way Flash players expect (`NetStream.Play.Stop`, then `onPlayStatus`
 * `NetStream.Play.Complete`).
 *
 * Frames are read from the file a block at a time as they come due: a film is never held in
 * memory. Timestamps are the file's (as the FLV output), so after a seek the player's clock
 * reads the new position.
 *
 * @module
 */

import { concatBytes } from "../../codec/bytes/concat.ts";
import {
  flvFrameHead,
  flvPrelude,
  FlvReader,
  type FlvTag,
} from "../../codec/flv/mod.ts";
import { FLV_TAG_HEADER_BYTES } from "../../codec/flv/tag.ts";
import { syncSampleFor, type TrackIndex } from "../../codec/samples/mod.ts";
import { VodError, VodErrorCode } from "./errors.ts";
import type { MediaFile } from "./media_file.ts";
import { frameRateOf } from "./outputs.ts";

/** What the player sends through (the RTMP session of the connection). */
export interface VodPlaySink {
  /** One tag (audio, video, or script data) on the play stream. */
  tag(tag: FlvTag): void;
  /** An onStatus (`NetStream.Play.Start`, `…Seek.Notify`, `…Pause.Notify`, `…Play.Stop`). */
  status(code: string, description: string): void;
  /** `onPlayStatus` (`NetStream.Play.Complete`) with the duration played, ms. */
  playStatus(code: string, durationMs: number): void;
  /**
   * True while the socket keeps up; false makes the player wait (it asks again on the next
   * tick) instead of queueing more.
   */
  ready(): boolean;
}

/** Options of {@link VodRtmpPlayer}. */
export interface VodPlayOptions {
  /** Where to start, ms of the file (play's `start` argument; 0 from the beginning). */
  readonly startMs: number;
  /** How much to play, ms (play's `duration` argument; undefined = to the end). */
  readonly durationMs: number | undefined;
  /** Media sent ahead of the clock at start and after a seek, ms (fills the player's buffer). */
  readonly burstMs: number;
  /** Milliseconds, monotonic. @default performance.now */
  readonly now?: () => number;
}

/** Longest wait between pacing ticks, ms. */
const MAX_TICK_MS = 50;
/** Bytes read from the file at a time. */
const BLOCK_BYTES = 256 * 1024;

/** One connection's playback of one file. */
export class VodRtmpPlayer {
  readonly #media: MediaFile;
  readonly #sink: VodPlaySink;
  readonly #o: VodPlayOptions;
  readonly #now: () => number;
  readonly #tracks: readonly TrackIndex[];
  #file: Deno.FsFile | undefined;
  #block: Uint8Array = new Uint8Array(0);
  #blockAt = 0;
  #cursors: number[] = [];
  #endMs = Infinity;
  /** The file time shown at `#clockAt` (playback position anchor). */
  #clockMs = 0;
  #clockAt = 0;
  #paused = false;
  #pausedAt = 0;
  #stopped = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #busy = false;
  #generation = 0;
  #startedMs = 0;

  constructor(media: MediaFile, sink: VodPlaySink, options: VodPlayOptions) {
    this.#media = media;
    this.#sink = sink;
    this.#o = options;
    this.#now = options.now ?? (() => performance.now());
    this.#tracks = media.index.tracks;
  }

  /** Where playback is now, ms of the file. */
  get positionMs(): number {
    return this.#paused
      ? this.#pausedAt
      : this.#clockMs + (this.#now() - this.#clockAt);
  }

  /** Starts: metadata and sequence headers, then frames from the start position. */
  start(): void {
    this.#sink.status(
      "NetStream.Play.Start",
      `Started playing ${this.#media.file.relPath}`,
    );
    this.#seekTo(this.#o.startMs, false);
    const d = this.#o.durationMs;
    this.#endMs = d !== undefined && d >= 0 ? this.#o.startMs + d : Infinity;
  }

  /** `seek(ms)`: NetStream.Seek.Notify, then frames from the keyframe at or before `ms`. */
  seek(ms: number): void {
    if (this.#stopped) return;
    this.#seekTo(Math.max(0, ms), true);
  }

  /** `pause(true|false, ms)`: stops or resumes the clock (unpause resumes where it paused). */
  pause(paused: boolean): void {
    if (this.#stopped || paused === this.#paused) return;
    if (paused) {
      this.#pausedAt = this.positionMs;
      this.#paused = true;
      this.#sink.status(
        "NetStream.Pause.Notify",
        `Paused ${this.#media.file.relPath}`,
      );
      return;
    }
    this.#paused = false;
    this.#clockMs = this.#pausedAt;
    this.#clockAt = this.#now();
    this.#sink.status(
      "NetStream.Unpause.Notify",
      `Unpaused ${this.#media.file.relPath}`,
    );
    this.#schedule(0);
  }

  /** Ends playback (the viewer left or closed the stream). Idempotent. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    try {
      this.#file?.close();
    } catch {
      // already closed
    }
    this.#file = undefined;
  }

  #seekTo(ms: number, notify: boolean): void {
    this.#generation++;
    const video = this.#tracks.find((t) => t.kind === "video");
    let fromMs = ms;
    const cursors = this.#tracks.map(() => 0);
    if (video) {
      const k = syncSampleFor(video, Math.round((ms * video.timescale) / 1000));
      cursors[this.#tracks.indexOf(video)] = k;
      fromMs = (video.samples.dts[k]! * 1000) / video.timescale;
    }
    this.#tracks.forEach((t, i) => {
      if (t === video) return;
      const s = t.samples;
      let j = 0;
      while (j < s.count && (s.dts[j]! * 1000) / t.timescale < fromMs) j++;
      cursors[i] = j;
    });
    this.#cursors = cursors;
    this.#clockMs = fromMs;
    this.#clockAt = this.#now();
    this.#startedMs = fromMs;
    if (this.#paused) this.#pausedAt = fromMs;
    if (notify) {
      this.#sink.status(
        "NetStream.Seek.Notify",
        `Seeking ${Math.round(ms)} (stream ID: 1).`,
      );
    }
    // Metadata and sequence headers again: a seek may land after a codec change, and Flash
    // players expect them at the start of each play/seek.
    const prelude = flvPrelude(this.#tracks, {
      timestampMs: Math.max(0, Math.round(fromMs)),
      durationSeconds: this.#media.index.durationMs / 1000,
      frameRate: frameRateOf(video),
    });
    const r = new FlvReader();
    r.push(prelude);
    for (const t of r.pullAll()) this.#sink.tag(t);
    this.#schedule(0);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#tick();
    }, ms);
  }

  async #tick(): Promise<void> {
    if (this.#stopped || this.#busy) return;
    this.#busy = true;
    const generation = this.#generation;
    try {
      const due = this.#paused ? -Infinity : this.positionMs + this.#o.burstMs;
      for (;;) {
        if (this.#stopped || generation !== this.#generation) return;
        if (!this.#sink.ready()) break;
        const k = this.#nextTrack();
        if (k < 0) return this.#complete();
        const t = this.#tracks[k]!;
        const i = this.#cursors[k]!;
        const ms = (t.samples.dts[i]! * 1000) / t.timescale;
        if (ms >= this.#endMs) return this.#complete();
        if (ms > due) break;
        const payload = await this.#read(
          t.samples.offset[i]!,
          t.samples.size[i]!,
        );
        if (this.#stopped || generation !== this.#generation) return;
        const head = flvFrameHead(t, i, Math.round(ms));
        this.#sink.tag({
          type: t.kind === "video" ? 9 : 8,
          timestampMs: Math.round(ms),
          data: concatBytes([head.subarray(FLV_TAG_HEADER_BYTES), payload]),
        });
        this.#cursors[k] = i + 1;
      }
      this.#schedule(this.#paused ? MAX_TICK_MS * 4 : MAX_TICK_MS);
    } catch (e) {
      this.#sink.status(
        "NetStream.Play.Failed",
        e instanceof VodError
          ? e.message
          : `Cannot read the file: ${e instanceof Error ? e.message : e}`,
      );
      this.stop();
    } finally {
      this.#busy = false;
    }
  }

  /** The track whose next frame decodes first, or -1 at the end of every track. */
  #nextTrack(): number {
    let best = -1;
    let bestMs = Infinity;
    this.#tracks.forEach((t, k) => {
      const i = this.#cursors[k]!;
      if (i >= t.samples.count) return;
      const ms = (t.samples.dts[i]! * 1000) / t.timescale;
      if (ms < bestMs) {
        bestMs = ms;
        best = k;
      }
    });
    return best;
  }

  async #read(offset: number, length: number): Promise<Uint8Array> {
    const b = this.#block;
    if (
      offset >= this.#blockAt && offset + length <= this.#blockAt + b.length
    ) {
      return b.subarray(
        offset - this.#blockAt,
        offset - this.#blockAt + length,
      );
    }
    this.#file ??= await Deno.open(this.#media.file.realPath, { read: true });
    const want = Math.max(length, BLOCK_BYTES);
    const buf = new Uint8Array(want);
    await this.#file.seek(offset, Deno.SeekMode.Start);
    let got = 0;
    while (got < want) {
      const n = await this.#file.read(buf.subarray(got));
      if (n === null) break;
      got += n;
    }
    if (got < length) {
      throw new VodError(
        VodErrorCode.Io,
        `Cannot read the file: it ends before ${offset + length}`,
      );
    }
    this.#block = buf.subarray(0, got);
    this.#blockAt = offset;
    return this.#block.subarray(0, length);
  }

  #complete(): void {
    const played = Math.max(0, Math.round(this.positionMs - this.#startedMs));
    this.#sink.status(
      "NetStream.Play.Stop",
      `Stopped playing ${this.#media.file.relPath}`,
    );
    this.#sink.playStatus("NetStream.Play.Complete", played);
    this.stop();
  }
}
