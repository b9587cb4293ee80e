/**
 * Live FLV tags in, a fragmented MP4 out: the recording path of a stream (录播). Pure: each
 * {@link FlvFragmenter.push} returns the bytes to append to the file, nothing is written here.
 *
 * - The file starts at the first video keyframe (a stream with video) or the first audio frame
 *   (audio only), once the sequence headers are known: the init segment, then fragments.
 * - A fragment is cut once it holds `fragmentMs` of media; a sample waits for the next one of
 *   its track to learn its duration (a gap in the timestamps lengthens the sample before it,
 *   so the file's timeline keeps it), so a fragment holds all but the last of each track.
 * - Video: H.264 (`avc1`) and HEVC (`hvc1`), timescale 1000 (FLV's own milliseconds: nothing
 *   is rounded), composition offsets from the tag header. Audio: AAC at its sample rate with
 *   1024-sample frames counted from an anchor (re-anchored when the FLV clock drifts more than a
 *   frame, as the HLS packager does), MP3 likewise with 1152 (576) samples.
 * - A new sequence header that differs from the file's ends the file ({@link PushResult}): an
 *   MP4 track has one sample entry, so the recorder starts a new file with the new codec.
 * - A frame's bytes are kept as given (not copied) until its fragment is cut, then copied once
 *   into it: the caller must not change a pushed tag's data (the hub's tags never change; the
 *   GOP cache and every viewer share them).
 *
 * @module
 */

import { decodeAudioSpecificConfig } from "../aac/audio_specific_config.ts";
import {
  AudioCodec,
  AudioPacketType,
  decodeAudioTagHeader,
  decodeVideoTagHeader,
  VideoCodec,
  VideoFrameType,
  VideoPacketType,
} from "../flv/media_info.ts";
import { type FlvTag, FlvTagType } from "../flv/types.ts";
import { decodeAvcDecoderConfig } from "../h264/avc_config.ts";
import { parseSps } from "../h264/sps.ts";
import type { SampleCodec } from "../samples/types.ts";
import {
  encodeFragment,
  encodeInitSegment,
  type FragmentRun,
  type FragmentSample,
  type FragmentTrack,
} from "./fragment_write.ts";

/** Default fragment length (ms): a crash loses at most about this much. */
export const DEFAULT_FRAGMENT_MS = 1000;
/** A video sample whose duration cannot be known (the last one) lasts this long (ms). */
const DEFAULT_VIDEO_FRAME_MS = 40;
/** Fragments cut this large (bytes) even if shorter than `fragmentMs`: bounded memory. */
export const MAX_FRAGMENT_BYTES = 32 * 1024 * 1024;

/** Options of {@link FlvFragmenter}. */
export interface FlvFragmenterOptions {
  /** Media per fragment, ms. @default 1000 */
  readonly fragmentMs?: number;
}

/** What one {@link FlvFragmenter.push} produced. */
export interface PushResult {
  /** Bytes to append to the file, in order (the init segment first, once). */
  readonly bytes: readonly Uint8Array[];
  /**
   * The tag's codec differs from the file's: the file is complete (its last fragment is in
   * `bytes`) and the tag was not taken. Start a new file and push the tag there.
   */
  readonly ended: boolean;
}

/** What {@link FlvFragmenter.cutNow} cut: one `moof`+`mdat` fragment. */
export interface FragmentCut {
  readonly bytes: Uint8Array;
  /** Media the fragment holds, ms: its video track's (its audio's when there is no video). */
  readonly durationMs: number;
  /** Its first video sample is a keyframe (true for a stream without video). */
  readonly independent: boolean;
}

interface TrackState {
  track: FragmentTrack | undefined;
  /** Samples ready for the next fragment. */
  ready: FragmentSample[];
  /** Decode time of `ready[0]` (or of the pending sample when `ready` is empty). */
  readyDts: number;
  /** The last sample, until the next gives its duration. */
  pending:
    | { dts: number; cts: number; sync: boolean; data: Uint8Array }
    | undefined;
  /** Decode time after the last sample taken. */
  nextDts: number;
  lastDuration: number;
  /** Audio: sample clock anchored to FLV time. */
  anchorMs: number | undefined;
  samples: number;
  samplesPerFrame: number;
}

function newState(): TrackState {
  return {
    track: undefined,
    ready: [],
    readyDts: 0,
    pending: undefined,
    nextDts: 0,
    lastDuration: DEFAULT_VIDEO_FRAME_MS,
    anchorMs: undefined,
    samples: 0,
    samplesPerFrame: 1024,
  };
}

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array | undefined) =>
  a !== undefined && b !== undefined && a.byteLength === b.byteLength &&
  a.every((x, i) => x === b[i]);

/**
 * Turns one stream's FLV tags into a fragmented MP4.
 *
 * @example
 * ```ts
 * import { FlvFragmenter } from "./flv_fragmenter.ts";
 * import assert from "node:assert/strict";
 * const f = new FlvFragmenter({ fragmentMs: 500 });
 * f.push({ type: 8, timestampMs: 0, data: new Uint8Array([0xaf, 0, 0x12, 0x10]) }); // AAC LC 44.1 kHz
 * let bytes = 0;
 * for (let i = 0; i < 100; i++) {
 *   for (const b of f.push({ type: 8, timestampMs: Math.round(i * 23.22), data: new Uint8Array([0xaf, 1, 0x21, i]) }).bytes) bytes += b.byteLength;
 * }
 * for (const b of f.flush()) bytes += b.byteLength;
 * assert.equal(f.fragments, 5);
 * assert.ok(Math.abs(f.durationMs - 2322) < 5);
 * ```
 */
export class FlvFragmenter {
  readonly #fragmentMs: number;
  readonly #video = newState();
  readonly #audio = newState();
  #videoConfig: { codec: SampleCodec; config: Uint8Array } | undefined;
  #audioConfig:
    | {
      codec: SampleCodec;
      config: Uint8Array | undefined;
      rate: number;
      channels: number;
    }
    | undefined;
  #started = false;
  #ended = false;
  #hasVideo = false;
  #t0 = 0;
  #sequence = 0;
  #fragmentStartMs = 0;
  #bufferedBytes = 0;
  #bytesOut = 0;
  /** Coded frames not written: before the start, unknown codecs, malformed headers. */
  skipped = 0;

  constructor(options: FlvFragmenterOptions = {}) {
    this.#fragmentMs = options.fragmentMs ?? DEFAULT_FRAGMENT_MS;
  }

  /** The init segment has been produced. */
  get started(): boolean {
    return this.#started;
  }

  /** FLV timestamp of the file's first sample (its time 0). */
  get firstTimestampMs(): number | undefined {
    return this.#started ? this.#t0 : undefined;
  }

  /** Fragments produced so far. */
  get fragments(): number {
    return this.#sequence;
  }

  /** Bytes produced so far. */
  get bytes(): number {
    return this.#bytesOut;
  }

  /** Media taken so far, ms from the file's start (the longest track). */
  get durationMs(): number {
    let ms = 0;
    for (const s of [this.#video, this.#audio]) {
      if (!s.track) continue;
      const end = s.pending ? s.pending.dts + s.lastDuration : s.nextDts;
      ms = Math.max(ms, (end * 1000) / s.track.timescale);
    }
    return ms;
  }

  /** The file's tracks (after the start). */
  get tracks(): FragmentTrack[] {
    return [this.#video.track, this.#audio.track].filter((t) =>
      t !== undefined
    ) as FragmentTrack[];
  }

  /**
   * Media ready for the next fragment, ms, on the track that times the stream (video, else
   * audio): what {@link FlvFragmenter.cutNow} would cut now. The newest sample of each track
   * is not in it (it waits for the next to learn its duration).
   */
  get readyMs(): number {
    const s = this.#mainTrack();
    if (!s?.track) return 0;
    let units = 0;
    for (const x of s.ready) units += x.duration;
    return (units * 1000) / s.track.timescale;
  }

  /** Duration of the last sample of the timing track, ms: about what the next one adds. */
  get sampleMs(): number {
    const s = this.#mainTrack();
    if (!s?.track) return 0;
    return (s.lastDuration * 1000) / s.track.timescale;
  }

  /**
   * Cuts a fragment of what is ready now, whatever its length: a packager that cuts on its own
   * clock (LL-HLS parts, segments ending before a keyframe) sets `fragmentMs` to `Infinity` and
   * calls this. Pushing a keyframe moves the frame before it into the ready samples, so a cut
   * right after that push ends just before the keyframe.
   *
   * @returns The fragment, or `undefined` when nothing is ready (before the start, or twice in
   * a row).
   */
  cutNow(): FragmentCut | undefined {
    if (!this.#started || this.#ended) return undefined;
    const durationMs = this.readyMs;
    const v = this.#video;
    const independent = !v.track || (v.ready[0]?.sync ?? false);
    const bytes = this.#cut();
    if (!bytes) return undefined;
    return { bytes, durationMs, independent };
  }

  /**
   * Ends the file like {@link FlvFragmenter.flush} (the newest samples get guessed
   * durations) and says what the last fragment holds, as {@link FlvFragmenter.cutNow} does.
   */
  finish(): FragmentCut | undefined {
    if (this.#ended) return undefined;
    if (!this.#started) {
      this.#ended = true;
      return undefined;
    }
    for (const s of [this.#video, this.#audio]) this.#release(s, undefined);
    const cut = this.cutNow();
    this.#ended = true;
    return cut;
  }

  #mainTrack(): TrackState | undefined {
    if (this.#video.track) return this.#video;
    if (this.#audio.track) return this.#audio;
    return undefined;
  }

  /**
   * Takes one tag in arrival order. Malformed or unsupported tags are skipped (counted), never
   * thrown: a recording must not stop on one bad frame.
   */
  push(tag: FlvTag): PushResult {
    if (this.#ended || tag.data.byteLength === 0) {
      return { bytes: [], ended: this.#ended };
    }
    if (tag.type === FlvTagType.Video) return this.#onVideo(tag);
    if (tag.type === FlvTagType.Audio) return this.#onAudio(tag);
    return { bytes: [], ended: false };
  }

  /** Ends the file: the last fragment, with the pending samples (last durations guessed). */
  flush(): Uint8Array[] {
    if (this.#ended) return [];
    this.#ended = true;
    if (!this.#started) return [];
    for (const s of [this.#video, this.#audio]) this.#release(s, undefined);
    const f = this.#cut();
    return f ? [f] : [];
  }

  #onVideo(tag: FlvTag): PushResult {
    let h;
    try {
      h = decodeVideoTagHeader(tag.data);
    } catch {
      this.skipped++;
      return { bytes: [], ended: false };
    }
    const codec = h.codec === VideoCodec.Avc
      ? "h264"
      : h.codec === VideoCodec.Hevc
      ? "hevc"
      : undefined;
    if (!codec) {
      this.skipped++;
      return { bytes: [], ended: false };
    }
    const payload = tag.data.subarray(h.payloadOffset);
    if (h.packetType === VideoPacketType.SequenceStart) {
      const config = payload.slice();
      if (this.#started && this.#video.track) {
        if (sameBytes(this.#video.track.config, config)) {
          return { bytes: [], ended: false };
        }
        return { bytes: this.flush(), ended: true };
      }
      this.#videoConfig = { codec, config };
      this.#hasVideo = true;
      return { bytes: [], ended: false };
    }
    if (
      h.packetType !== VideoPacketType.CodedFrames &&
      h.packetType !== VideoPacketType.CodedFramesX
    ) return { bytes: [], ended: false };
    const key = h.frameType === VideoFrameType.Key;
    const out: Uint8Array[] = [];
    if (!this.#started) {
      if (!this.#videoConfig || this.#videoConfig.codec !== codec || !key) {
        this.skipped++;
        return { bytes: [], ended: false };
      }
      out.push(this.#start(tag.timestampMs));
    }
    const s = this.#video;
    if (!s.track || s.track.codec !== codec) {
      this.skipped++;
      return { bytes: out, ended: false };
    }
    const dts = Math.max(tag.timestampMs - this.#t0, s.pending?.dts ?? 0);
    this.#release(s, dts);
    s.pending = {
      dts,
      cts: h.compositionTimeMs,
      sync: key,
      data: payload,
    };
    this.#bufferedBytes += payload.byteLength;
    const f = this.#maybeCut(tag.timestampMs);
    if (f) out.push(f);
    return { bytes: out, ended: false };
  }

  #onAudio(tag: FlvTag): PushResult {
    let h;
    try {
      h = decodeAudioTagHeader(tag.data);
    } catch {
      this.skipped++;
      return { bytes: [], ended: false };
    }
    const payload = tag.data.subarray(h.payloadOffset);
    let codec: SampleCodec;
    if (h.codec === AudioCodec.Aac) {
      if (h.packetType === AudioPacketType.SequenceStart) {
        let asc;
        try {
          asc = decodeAudioSpecificConfig(payload);
        } catch {
          this.skipped++;
          return { bytes: [], ended: false };
        }
        const config = payload.slice();
        if (this.#started && this.#audio.track) {
          if (sameBytes(this.#audio.track.config, config)) {
            return { bytes: [], ended: false };
          }
          return { bytes: this.flush(), ended: true };
        }
        this.#audioConfig = {
          codec: "aac",
          config,
          rate: asc.sampleRateHz,
          channels: asc.channelConfiguration || 2,
        };
        return { bytes: [], ended: false };
      }
      if (h.packetType !== AudioPacketType.CodedFrames) {
        return { bytes: [], ended: false };
      }
      codec = "aac";
    } else if (h.codec === AudioCodec.Mp3) {
      codec = "mp3";
      if (!this.#audioConfig && payload.byteLength >= 4) {
        const rate = mp3Rate(payload);
        this.#audioConfig = {
          codec,
          config: undefined,
          rate,
          channels: (tag.data[0]! & 0x01) ? 2 : 1,
        };
      }
    } else {
      this.skipped++;
      return { bytes: [], ended: false };
    }
    const out: Uint8Array[] = [];
    if (!this.#started) {
      // A stream with video starts on its keyframe; audio before it is not recorded.
      if (this.#hasVideo || !this.#audioConfig) {
        this.skipped++;
        return { bytes: [], ended: false };
      }
      out.push(this.#start(tag.timestampMs));
    }
    const s = this.#audio;
    if (!s.track || s.track.codec !== codec) {
      this.skipped++;
      return { bytes: out, ended: false };
    }
    // Sample clock: frames of `samplesPerFrame`, anchored to FLV time, re-anchored on drift.
    const rate = s.track.timescale;
    const frameMs = (s.samplesPerFrame * 1000) / rate;
    const tagMs = Math.max(0, tag.timestampMs - this.#t0);
    let expected = s.anchorMs === undefined
      ? tagMs
      : s.anchorMs + (s.samples * 1000) / rate;
    if (s.anchorMs === undefined || Math.abs(tagMs - expected) > frameMs) {
      s.anchorMs = tagMs;
      s.samples = 0;
      expected = tagMs;
    }
    const dts = Math.max(
      Math.round((s.anchorMs * rate) / 1000) + s.samples,
      s.nextDts,
    );
    s.samples += s.samplesPerFrame;
    // The previous frame lasts until this one: a gap in the clock stretches it, so the file's
    // timeline keeps the gap wherever the fragments are cut.
    this.#release(s, dts);
    s.pending = { dts, cts: 0, sync: true, data: payload };
    this.#bufferedBytes += payload.byteLength;
    const f = this.#maybeCut(tag.timestampMs);
    if (f) out.push(f);
    return { bytes: out, ended: false };
  }

  #start(timestampMs: number): Uint8Array {
    this.#started = true;
    this.#t0 = timestampMs;
    this.#fragmentStartMs = timestampMs;
    let id = 1;
    const v = this.#videoConfig;
    if (v) {
      let width: number | undefined;
      let height: number | undefined;
      if (v.codec === "h264") {
        try {
          const sps = decodeAvcDecoderConfig(v.config).sps[0];
          if (sps) ({ width, height } = parseSps(sps));
        } catch {
          // a config we cannot read: players read the avcC themselves
        }
      }
      this.#video.track = {
        id: id++,
        kind: "video",
        codec: v.codec,
        timescale: 1000,
        config: v.config,
        sampleEntry: undefined,
        width,
        height,
      };
    }
    const a = this.#audioConfig;
    if (a) {
      this.#audio.track = {
        id: id++,
        kind: "audio",
        codec: a.codec,
        timescale: a.rate,
        config: a.config,
        sampleEntry: undefined,
        sampleRate: a.rate,
        channels: a.channels,
      };
      this.#audio.samplesPerFrame = a.codec === "aac"
        ? 1024
        : a.rate >= 32000
        ? 1152
        : 576;
      this.#audio.lastDuration = this.#audio.samplesPerFrame;
    }
    const init = encodeInitSegment(this.tracks);
    this.#bytesOut += init.byteLength;
    return init;
  }

  /** Moves the pending video sample to `ready`, its duration ending at `nextDts`. */
  #release(s: TrackState, nextDts: number | undefined): void {
    const p = s.pending;
    if (!p) return;
    s.pending = undefined;
    let duration = nextDts === undefined ? s.lastDuration : nextDts - p.dts;
    if (duration <= 0) duration = 1;
    // Audio frames have a fixed length: a stretched one (a gap) does not set the next's.
    if (s.track?.kind === "video" || nextDts === undefined) {
      s.lastDuration = duration;
    }
    if (s.ready.length === 0) s.readyDts = p.dts;
    s.ready.push({ duration, cts: p.cts, sync: p.sync, data: p.data });
    s.nextDts = p.dts + duration;
  }

  #maybeCut(timestampMs: number): Uint8Array | undefined {
    if (
      timestampMs - this.#fragmentStartMs < this.#fragmentMs &&
      this.#bufferedBytes < MAX_FRAGMENT_BYTES
    ) return undefined;
    const f = this.#cut();
    if (f) this.#fragmentStartMs = timestampMs;
    return f;
  }

  #cut(): Uint8Array | undefined {
    const runs: FragmentRun[] = [];
    for (const s of [this.#video, this.#audio]) {
      if (!s.track || s.ready.length === 0) continue;
      runs.push({ track: s.track, baseDts: s.readyDts, samples: s.ready });
    }
    if (runs.length === 0) return undefined;
    const bytes = encodeFragment(++this.#sequence, runs);
    for (const s of [this.#video, this.#audio]) {
      for (const x of s.ready) this.#bufferedBytes -= x.data.byteLength;
      s.ready = [];
    }
    this.#bytesOut += bytes.byteLength;
    return bytes;
  }
}

/** MPEG-1/2 audio sample rates by version bits and index (ISO/IEC 11172-3 §2.4.2.3). */
const MP3_RATES: Readonly<Record<number, readonly number[]>> = {
  3: [44100, 48000, 32000],
  2: [22050, 24000, 16000],
  0: [11025, 12000, 8000],
};

function mp3Rate(frame: Uint8Array): number {
  if (frame.length < 3 || frame[0] !== 0xff || (frame[1]! & 0xe0) !== 0xe0) {
    return 44100;
  }
  const version = (frame[1]! >> 3) & 0x03;
  const index = (frame[2]! >> 2) & 0x03;
  return MP3_RATES[version]?.[index] ?? 44100;
}
