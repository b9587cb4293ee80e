/**
 * The live HLS packager: FLV tags of one stream in, MPEG-TS segments and a live media
 * playlist out (RFC 8216).
 *
 * @module
 */

import {
  type AudioSpecificConfig,
  buildAdtsFrame,
  decodeAudioSpecificConfig,
} from "../../codec/aac/mod.ts";
import {
  amf0Properties,
  type Amf0Value,
  decodeAll,
} from "../../codec/amf0/mod.ts";
import {
  AudioCodec,
  AudioPacketType,
  decodeAudioTagHeader,
  decodeVideoTagHeader,
  type FlvTag,
  FlvTagType,
  SoundFormat,
  VideoCodec,
  VideoFrameType,
  VideoPacketType,
} from "../../codec/flv/mod.ts";
import {
  buildAnnexBAccessUnit,
  decodeAvcDecoderConfig,
  type ParameterSets,
  splitAvccNalus,
} from "../../codec/h264/mod.ts";
import { renderMediaPlaylist, targetDurationFor } from "../../codec/hls/mod.ts";
import {
  msToTicks,
  StreamType,
  TsMuxer,
  type TsTracks,
} from "../../codec/mpegts/mod.ts";
import { DEFAULTS } from "../../config/mod.ts";
import { HlsError, HlsErrorCode } from "./errors.ts";
import { type HlsSegment, SegmentWindow } from "./window.ts";

// The defaults are config's (`origin.hls.*` in config/origin_schema.ts), not a second copy: a stream
// made without options (tests, tools) segments as a default-configured origin does.

/** Default segment target, ms: Apple's HLS authoring guidance for low-latency-ish live. */
export const DEFAULT_TARGET_DURATION_MS =
  DEFAULTS.origin.hls.targetDurationSeconds * 1000;
/** Default number of segments listed in the playlist. */
export const DEFAULT_WINDOW_SEGMENTS = DEFAULTS.origin.hls.windowSegments;
/**
 * Default {@link HlsStreamOptions.keyframeTolerance}: a keyframe up to 10% of the target early
 * (200 ms at 2 s) still ends the segment.
 *
 * Why a tolerance: encoders place keyframes by frame count on a millisecond clock, so a "2 s"
 * GOP is often a few ms short (GStreamer at 30 fps: 1982 ms). Cutting only at or after exactly
 * the target then waits for the next keyframe, doubling every segment (3964 ms) and the
 * EXT-X-TARGETDURATION with it, which players answer with twice the latency. 10% covers several
 * frames of jitter at any common rate (6 frames at 30 fps) while keeping every segment within
 * 10% of the target; a GOP shorter than 90% of the target still makes segments of several GOPs.
 * Others allow the same: nginx-rtmp's `aligned` slicing cuts at a keyframe on the target's grid
 * of timestamps, and the ngx_rtmp_hls fork's `hls_fragment_wave` takes a keyframe a configured
 * percentage early; SRS waits for `hls_fragment` exactly but offers `hls_ts_floor` (up to 30% of
 * deviation) for encoders that drift.
 */
export const DEFAULT_KEYFRAME_TOLERANCE = DEFAULTS.origin.hls.keyframeTolerance;
/** Finished segments kept downloadable beyond the window for slow clients (RFC 8216 §6.2.2). */
export const RETAINED_EXTRA_SEGMENTS = 3;
/**
 * Largest segment we buffer, in bytes. A stream without keyframes would otherwise grow one
 * segment without bound; at this size the segment is closed and the next one waits for a
 * keyframe.
 */
export const MAX_SEGMENT_BYTES = 64 * 1024 * 1024;
/** AAC frames grouped into one audio PES (about 90 ms at 44.1 kHz): less TS stuffing. */
export const AUDIO_FRAMES_PER_PES = 4;
/**
 * A timestamp gap (forward) at a keyframe larger than this, in ms, is treated as a
 * discontinuity rather than as a very long segment.
 */
export const MAX_TIMESTAMP_GAP_MS = 10_000;
/** Bounds of the options, checked at construction. */
const TARGET_DURATION_RANGE_MS = [100, 600_000] as const;
const WINDOW_SEGMENTS_RANGE = [1, 10_000] as const;
const KEYFRAME_TOLERANCE_RANGE = [0, 0.5] as const;
/** MP3 frames carry 1152 samples (MPEG-1 Layer III). Used only to estimate durations. */
const MP3_FRAME_MS = 26;
/** AAC re-anchors its sample clock when FLV time and sample time differ by more than this many frames. */
const AUDIO_RESYNC_FRAMES = 1;
const AAC_SAMPLES_PER_FRAME = 1024;
/** Lowest MPEG-1 Layer III sample rate; lower rates are MPEG-2 (stream type 0x04). */
const MPEG1_MIN_SAMPLE_RATE_HZ = 32_000;
/** Video frame duration assumed until two frames have been seen (25 fps). */
const DEFAULT_VIDEO_FRAME_MS = 40;

function isCount(n: unknown): boolean {
  return Number.isSafeInteger(n) && (n as number) >= 0;
}

/** Options of {@link HlsStream}. */
export interface HlsStreamOptions {
  /** The stream's name; playlist URIs are `${streamName}/${segmentName}`. */
  readonly streamName: string;
  /**
   * Segments are cut at the first keyframe at or after this duration (less the
   * {@link HlsStreamOptions.keyframeTolerance}), in ms.
   * @default {2000}
   */
  readonly targetDurationMs?: number;
  /**
   * Fraction of the target by which a keyframe may come early and still end the segment:
   * segments are cut at the first keyframe at least `targetDurationMs * (1 - keyframeTolerance)`
   * after the segment start (see {@link DEFAULT_KEYFRAME_TOLERANCE}).
   * @default {0.1}
   */
  readonly keyframeTolerance?: number;
  /**
   * Segments listed in the playlist.
   * @default {6}
   */
  readonly windowSegments?: number;
  /**
   * Start of every segment name, unique per process start so that names are never reused
   * after a restart (caches would serve old bytes).
   * @default now().toString(36)
   */
  readonly segmentNamePrefix?: string;
  /** Wall clock, epoch ms; injected so tests control EXT-X-PROGRAM-DATE-TIME. */
  readonly now: () => number;
  /**
   * Where an earlier packager of this stream (an earlier process) stopped: numbering goes on
   * from there and the first segment is marked EXT-X-DISCONTINUITY, so EXT-X-MEDIA-SEQUENCE
   * never goes back (RFC 8216 §6.2.1) and EXT-X-DISCONTINUITY-SEQUENCE stays consistent.
   */
  readonly resume?: HlsSequenceState | undefined;
  /**
   * Told the new state each time a segment opens, before the segment can be listed: persist it
   * to resume after a restart. It may be called often (every segment); keep it cheap.
   */
  readonly onSegmentOpened?: ((state: HlsSequenceState) => void) | undefined;
  /** Told each time a segment is finished (the playlist changed), with the segment. */
  readonly onSegmentClosed?: ((segment: HlsSegment) => void) | undefined;
}

/** What numbering a stream's packager has reached (persisted across restarts). */
export interface HlsSequenceState {
  /** Media sequence number of the next segment to open. */
  readonly nextSequence: number;
  /**
   * Discontinuity-flagged segments opened so far, counting those an earlier packager counted:
   * the EXT-X-DISCONTINUITY-SEQUENCE of a playlist from which all of them have left.
   */
  readonly discontinuities: number;
}

interface OpenSegment {
  readonly sequence: number;
  /**
   * The program the segment's PMT lists. Written at close (the segment is not served before),
   * so an audio track learned after the segment opened still joins it (see `#onAudio`).
   */
  tracks: TsTracks;
  /** An audio frame has been written (from then on the audio type is fixed). */
  audioWritten: boolean;
  /** Media time (ms) of the first frame: the keyframe DTS, or the first audio PTS. */
  readonly startMs: number;
  readonly programDateTimeMs: number;
  readonly discontinuity: boolean;
  /** The media packets; the PAT/PMT go in front at close. */
  readonly chunks: Uint8Array[];
  bytes: number;
  /** End of the latest frame written, media ms (frame time + estimated duration). */
  endMs: number;
  /** DTS of the latest video frame, ms. */
  lastVideoDtsMs: number | undefined;
}

interface PendingAudio {
  ptsTicks: number;
  frames: Uint8Array[];
  bytes: number;
}

interface AudioClock {
  anchorMs: number;
  samples: number;
}

/**
 * Packages one live stream into HLS. One instance lives per app/stream for as long as the
 * process does, across republishes, so that media sequence numbers, segment names and TS
 * continuity counters never go backwards.
 *
 * What it does with each input:
 * - H.264 (legacy AVC or Enhanced RTMP `avc1`): AVCC to Annex B, an AUD per access unit and
 *   SPS/PPS before every IDR, PTS = DTS + composition time. Segments start at keyframes and
 *   are cut at the first keyframe once the target duration is reached, less a tolerance for
 *   keyframes that come a few ms early (whole GOPs; see {@link DEFAULT_KEYFRAME_TOLERANCE}).
 * - AAC: ADTS framing; PTS counted from the number of samples (1024 per frame at the
 *   configured rate), re-anchored to the FLV timestamp only when the two drift apart by more
 *   than a frame. This removes the jitter of millisecond FLV timestamps.
 * - MP3: carried as MPEG audio (stream type 0x03, or 0x04 for the MPEG-2 half rates) with
 *   FLV timestamps. MP3 has no sequence header, so the track is declared from onMetaData's
 *   `audiocodecid` when the publisher sends it, else from the first MP3 tag.
 * - An audio track learned while a segment is open (the first MP3 tag after the first
 *   keyframe, a late AAC sequence header) joins that segment: its PAT/PMT are written when it
 *   closes, so no audio is dropped and the next segment needs no EXT-X-DISCONTINUITY.
 * - HEVC, AV1, VP9 and other video codecs are not packaged (HEVC in TS is optional in HLS
 *   and these streams are for RTMP/HTTP-FLV players): such a stream's HLS is audio-only.
 *   Other audio codecs are dropped the same way.
 * - Audio-only streams (no AVC sequence header) are cut on audio time.
 * - Script data: only onMetaData's `audiocodecid`/`audiosamplerate` are read (the MP3 hint
 *   above); a malformed one is ignored, as metadata is optional.
 *
 * A republish ({@link HlsStream.onEnd}, then more tags) starts a new segment marked
 * EXT-X-DISCONTINUITY; so does a change of tracks or a timestamp jump at a keyframe.
 *
 * `onTag` never throws: it is called from the stream hub's fan-out loop, and a malformed tag
 * must not stop delivery to other viewers. A tag that cannot be packaged is dropped and
 * recorded in {@link HlsStream.lastError} and {@link HlsStream.droppedTags}.
 *
 * @example
 * ```ts
 * import { HlsStream } from "./segmenter.ts";
 * import assert from "node:assert/strict";
 * let clock = 1_700_000_000_000;
 * const hls = new HlsStream({ streamName: "t", segmentNamePrefix: "p", now: () => clock });
 * hls.onTag({ type: 8, timestampMs: 0, data: new Uint8Array([0xaf, 0, 0x12, 0x10]) }); // AAC LC 44.1k
 * for (let i = 0; i < 200; i++) {
 *   hls.onTag({ type: 8, timestampMs: Math.round(i * 1024000 / 44100), data: new Uint8Array([0xaf, 1, 0x21, 0x10]) });
 *   clock += 23;
 * }
 * hls.onEnd();
 * assert.equal(hls.segmentCount, 3);
 * assert.match(hls.playlist()!, /#EXTINF:2\.02\d,\nt\/p-0\.ts/);
 * assert.ok(hls.segment("p-0"));
 * ```
 */
export class HlsStream {
  readonly #streamName: string;
  readonly #targetDurationMs: number;
  /** A keyframe this long (ms) after the segment start ends the segment. */
  readonly #cutAfterMs: number;
  readonly #prefix: string;
  readonly #now: () => number;
  readonly #window: SegmentWindow;
  readonly #muxer = new TsMuxer({});
  readonly #onSegmentOpened: ((state: HlsSequenceState) => void) | undefined;
  readonly #onSegmentClosed: ((segment: HlsSegment) => void) | undefined;

  #avc: { lengthSize: number; parameterSets: ParameterSets } | undefined;
  #aac: AudioSpecificConfig | undefined;
  /**
   * Stream type of the audio track: from the AAC sequence header, the latest MP3 tag, or
   * (until either arrives) onMetaData.
   */
  #audioStreamType: number | undefined;
  #audioClock: AudioClock | undefined;
  #videoFrameMs = DEFAULT_VIDEO_FRAME_MS;

  #current: OpenSegment | undefined;
  #pendingAudio: PendingAudio | undefined;
  #lastTracks: TsTracks | undefined;
  #discontinuityNext = false;
  #nextSequence = 0;
  #discontinuities = 0;
  #completed = 0;
  #ended = false;
  #longestSegmentMs = 0;
  #playlist: string | undefined;
  #droppedTags = 0;
  #lastError: HlsError | undefined;

  /**
   * @param options See {@link HlsStreamOptions}.
   * @throws {HlsError} `HLS_BAD_OPTIONS` for an out-of-range duration or window, or a
   * stream name or prefix that is not URL-safe.
   */
  constructor(options: HlsStreamOptions) {
    const target = options.targetDurationMs ?? DEFAULT_TARGET_DURATION_MS;
    const windowSegments = options.windowSegments ?? DEFAULT_WINDOW_SEGMENTS;
    const tolerance = options.keyframeTolerance ?? DEFAULT_KEYFRAME_TOLERANCE;
    const prefix = options.segmentNamePrefix ?? options.now().toString(36);
    const bad = (key: string, value: unknown, expected: string): HlsError =>
      new HlsError(
        HlsErrorCode.BadOptions,
        `Invalid HLS option '${key}': got ${
          JSON.stringify(value)
        }, expected ${expected}`,
      );
    if (
      !Number.isFinite(target) || target < TARGET_DURATION_RANGE_MS[0] ||
      target > TARGET_DURATION_RANGE_MS[1]
    ) {
      throw bad(
        "targetDurationMs",
        target,
        `a number ${TARGET_DURATION_RANGE_MS.join("..")}`,
      );
    }
    if (
      !Number.isInteger(windowSegments) ||
      windowSegments < WINDOW_SEGMENTS_RANGE[0] ||
      windowSegments > WINDOW_SEGMENTS_RANGE[1]
    ) {
      throw bad(
        "windowSegments",
        windowSegments,
        `an integer ${WINDOW_SEGMENTS_RANGE.join("..")}`,
      );
    }
    if (
      !Number.isFinite(tolerance) || tolerance < KEYFRAME_TOLERANCE_RANGE[0] ||
      tolerance > KEYFRAME_TOLERANCE_RANGE[1]
    ) {
      throw bad(
        "keyframeTolerance",
        tolerance,
        `a number ${KEYFRAME_TOLERANCE_RANGE.join("..")}`,
      );
    }
    if (!/^[A-Za-z0-9_-]+$/.test(prefix)) {
      throw bad("segmentNamePrefix", prefix, "letters, digits, '_' or '-'");
    }
    const resume = options.resume;
    if (
      resume !== undefined &&
      !(isCount(resume.nextSequence) && isCount(resume.discontinuities))
    ) {
      throw bad("resume", resume, "non-negative safe integers");
    }
    if (!/^[A-Za-z0-9_.-]+$/.test(options.streamName)) {
      throw bad(
        "streamName",
        options.streamName,
        "letters, digits, '_', '.' or '-'",
      );
    }
    this.#streamName = options.streamName;
    this.#targetDurationMs = target;
    this.#cutAfterMs = target * (1 - tolerance);
    this.#prefix = prefix;
    this.#now = options.now;
    this.#window = new SegmentWindow(
      windowSegments,
      RETAINED_EXTRA_SEGMENTS,
      resume?.discontinuities ?? 0,
    );
    this.#onSegmentOpened = options.onSegmentOpened;
    this.#onSegmentClosed = options.onSegmentClosed;
    if (resume && resume.nextSequence > 0) {
      this.#nextSequence = resume.nextSequence;
      this.#discontinuities = resume.discontinuities;
      // The earlier process's segments are gone: this is a join (RFC 8216 §4.3.2.3).
      this.#discontinuityNext = true;
    }
  }

  /** Segments completed since this instance was created. */
  get segmentCount(): number {
    return this.#completed;
  }

  /** The numbering reached so far (what {@link HlsStreamOptions.onSegmentOpened} is told). */
  get sequenceState(): HlsSequenceState {
    return {
      nextSequence: this.#nextSequence,
      discontinuities: this.#discontinuities,
    };
  }

  /** The playlist carries EXT-X-ENDLIST (see {@link HlsStream.markEnded}). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Tags dropped because they could not be packaged. */
  get droppedTags(): number {
    return this.#droppedTags;
  }

  /** Why the most recent tag was dropped, if any was. */
  get lastError(): HlsError | undefined {
    return this.#lastError;
  }

  /** Bytes held by finished segments (bounded by the window plus the retained extra). */
  get retainedBytes(): number {
    return this.#window.retainedBytes;
  }

  /** The finished segments the playlist lists, oldest first. */
  get segments(): readonly HlsSegment[] {
    return this.#window.listed;
  }

  /**
   * Takes the stream's next tag. Never throws; see the class notes.
   *
   * @param tag An audio, video or script tag, in arrival order.
   */
  onTag(tag: FlvTag): void {
    if (this.#ended) this.#startOver();
    try {
      if (tag.data.byteLength === 0) return;
      if (tag.type === FlvTagType.Video) this.#onVideo(tag);
      else if (tag.type === FlvTagType.Audio) this.#onAudio(tag);
      else if (tag.type === FlvTagType.Script) this.#onScript(tag);
    } catch (cause) {
      this.#droppedTags++;
      this.#lastError = new HlsError(
        HlsErrorCode.BadTag,
        `Cannot package ${
          tag.type === FlvTagType.Video ? "video" : "audio"
        } tag at ${tag.timestampMs} ms of stream ${this.#streamName}: ${
          cause instanceof Error ? cause.message : String(cause)
        }`,
        { cause },
      );
    }
  }

  /**
   * The publisher left: closes the current segment. The next tag starts a new segment
   * marked EXT-X-DISCONTINUITY. The playlist stays live (no EXT-X-ENDLIST), since the same
   * stream may be republished; {@link HlsStream.markEnded} ends it.
   */
  onEnd(): void {
    if (this.#current) {
      this.#closeSegment(this.#current.endMs);
    }
    if (this.#nextSequence > 0) this.#discontinuityNext = true;
    // A new publisher sends its own sequence headers, possibly for other codecs.
    this.#avc = undefined;
    this.#aac = undefined;
    this.#audioStreamType = undefined;
    this.#audioClock = undefined;
    this.#videoFrameMs = DEFAULT_VIDEO_FRAME_MS;
  }

  /**
   * Ends the playlist: EXT-X-ENDLIST follows the last segment (RFC 8216 §4.3.3.4), so players
   * play out what is listed and stop instead of reloading for ever. Call after
   * {@link HlsStream.onEnd}, once a republish is no longer expected.
   *
   * A tag after this starts a new presentation: the ended segments leave the playlist (they
   * stay downloadable a while) and numbering goes on, marked EXT-X-DISCONTINUITY.
   */
  markEnded(): void {
    if (this.#ended) return;
    if (this.#current) this.onEnd();
    this.#ended = true;
    this.#playlist = undefined;
  }

  #startOver(): void {
    this.#ended = false;
    this.#window.retireAll();
    this.#playlist = undefined;
  }

  /**
   * The live media playlist.
   *
   * @returns The m3u8 text, or `undefined` until the first segment is complete.
   */
  playlist(): string | undefined {
    if (this.#window.listedCount === 0) return undefined;
    if (this.#playlist !== undefined) return this.#playlist;
    this.#playlist = renderMediaPlaylist({
      targetDurationSeconds: targetDurationFor(this.#longestSegmentMs / 1000),
      mediaSequence: this.#window.mediaSequence,
      discontinuitySequence: this.#window.discontinuitySequence,
      ended: this.#ended,
      segments: this.#window.listed.map((s) => ({
        uri: `${this.#streamName}/${s.name}`,
        durationSeconds: s.durationMs / 1000,
        programDateTimeMs: s.programDateTimeMs,
        discontinuity: s.discontinuity,
      })),
    });
    return this.#playlist;
  }

  /**
   * A finished segment's bytes, while it is listed or retained.
   *
   * @param name The segment name, with or without ".ts".
   * @returns The MPEG-TS bytes, or `undefined`.
   */
  segment(name: string): Uint8Array | undefined {
    return this.#window.find(name)?.bytes;
  }

  #onVideo(tag: FlvTag): void {
    const h = decodeVideoTagHeader(tag.data);
    if (h.codec !== VideoCodec.Avc) return; // not packaged; see the class notes
    const payload = tag.data.subarray(h.payloadOffset);
    if (h.packetType === VideoPacketType.SequenceStart) {
      const config = decodeAvcDecoderConfig(payload);
      this.#avc = {
        lengthSize: config.naluLengthSize,
        parameterSets: { sps: config.sps, pps: config.pps },
      };
      // An audio-only segment cannot take video: start over with both tracks.
      if (this.#current && this.#current.tracks.videoStreamType === undefined) {
        this.#closeSegment(this.#current.endMs);
      }
      return;
    }
    if (
      h.packetType !== VideoPacketType.CodedFrames &&
      h.packetType !== VideoPacketType.CodedFramesX
    ) return;
    if (!this.#avc) return; // frames before any sequence header cannot be decoded
    const nalus = splitAvccNalus(payload, this.#avc.lengthSize);
    if (nalus.length === 0) return;
    const keyframe = h.frameType === VideoFrameType.Key;
    const dtsMs = tag.timestampMs;
    const current = this.#current;
    if (current && keyframe) {
      const last = current.lastVideoDtsMs ?? current.startMs;
      if (dtsMs < last || dtsMs > current.endMs + MAX_TIMESTAMP_GAP_MS) {
        // Timestamps jumped: close at what we have, restart with a discontinuity.
        this.#closeSegment(current.endMs);
        this.#discontinuityNext = true;
      } else if (dtsMs - current.startMs >= this.#cutAfterMs) {
        this.#closeSegment(dtsMs);
      }
    }
    if (this.#current === undefined) {
      if (!keyframe) return; // segments start at a keyframe
      this.#openSegment(dtsMs, true);
    }
    const seg = this.#current!;
    if (seg.tracks.videoStreamType === undefined) return;
    if (seg.lastVideoDtsMs !== undefined && dtsMs > seg.lastVideoDtsMs) {
      this.#videoFrameMs = dtsMs - seg.lastVideoDtsMs;
    }
    seg.lastVideoDtsMs = dtsMs;
    const au = buildAnnexBAccessUnit(
      nalus,
      keyframe ? this.#avc.parameterSets : undefined,
    );
    this.#append(
      this.#muxer.writeVideo({
        dtsTicks: msToTicks(dtsMs),
        ptsTicks: msToTicks(dtsMs + h.compositionTimeMs),
        keyframe,
        data: au,
      }),
      dtsMs + this.#videoFrameMs,
    );
  }

  #onAudio(tag: FlvTag): void {
    const h = decodeAudioTagHeader(tag.data);
    const payload = tag.data.subarray(h.payloadOffset);
    let frame: Uint8Array;
    let ptsMs: number;
    let frameMs: number;
    if (h.codec === AudioCodec.Aac && h.soundFormat !== SoundFormat.ExHeader) {
      if (h.packetType === AudioPacketType.SequenceStart) {
        this.#aac = decodeAudioSpecificConfig(payload);
        this.#audioStreamType = StreamType.AacAdts;
        this.#audioClock = undefined;
        return;
      }
      if (!this.#aac || h.packetType !== AudioPacketType.CodedFrames) return;
      frame = buildAdtsFrame(this.#aac, payload);
      this.#audioStreamType = StreamType.AacAdts;
      frameMs = (AAC_SAMPLES_PER_FRAME * 1000) / this.#aac.sampleRateHz;
      ptsMs = this.#aacPtsMs(tag.timestampMs, frameMs);
    } else if (
      h.codec === AudioCodec.Mp3 && h.soundFormat !== SoundFormat.ExHeader
    ) {
      if (payload.byteLength < 4) return;
      // MPEG audio header: version bits 20-19; '11' is MPEG-1, anything else MPEG-2/2.5.
      this.#audioStreamType = ((payload[1]! >> 3) & 0x03) === 0x03
        ? StreamType.Mpeg1Audio
        : StreamType.Mpeg2Audio;
      frame = payload;
      frameMs = MP3_FRAME_MS;
      ptsMs = tag.timestampMs;
    } else {
      return; // not packaged; see the class notes
    }
    if (this.#current === undefined) {
      if (this.#avc) return; // a video stream: wait for its keyframe
      this.#openSegment(ptsMs, false);
    } else if (
      this.#current.tracks.videoStreamType === undefined &&
      ptsMs - this.#current.startMs >= this.#targetDurationMs
    ) {
      this.#closeSegment(ptsMs);
      this.#openSegment(ptsMs, false);
    }
    const seg = this.#current!;
    const type = this.#audioStreamType!;
    if (seg.tracks.audioStreamType !== type) {
      // The segment's PMT is written at close: until the segment has audio it can still list
      // this track. A codec change after audio was written waits for the next segment (which
      // the track change marks EXT-X-DISCONTINUITY).
      if (seg.audioWritten) return;
      seg.tracks = { ...seg.tracks, audioStreamType: type };
      this.#muxer.setTracks(seg.tracks);
      this.#lastTracks = seg.tracks;
    }
    seg.audioWritten = true;
    const pending = this.#pendingAudio ??= {
      ptsTicks: msToTicks(ptsMs),
      frames: [],
      bytes: 0,
    };
    pending.frames.push(frame);
    pending.bytes += frame.byteLength;
    seg.endMs = Math.max(seg.endMs, ptsMs + frameMs);
    if (pending.frames.length >= AUDIO_FRAMES_PER_PES) this.#flushAudio();
  }

  /**
   * onMetaData: declares an MP3 track before its first tag (MP3 has no sequence header), so a
   * segment opened by a keyframe that comes first already lists it.
   */
  #onScript(tag: FlvTag): void {
    if (this.#audioStreamType !== undefined) return; // headers know better
    let values: Amf0Value[];
    try {
      values = decodeAll(tag.data);
    } catch {
      return; // metadata is optional: a malformed one only loses the hint
    }
    if (values[0] !== "onMetaData" || values[1] === undefined) return;
    const props = amf0Properties(values[1]);
    if (!props) return;
    const codecId = props["audiocodecid"];
    if (codecId !== SoundFormat.Mp3 && codecId !== SoundFormat.Mp3At8k) return;
    const rate = props["audiosamplerate"];
    // MPEG-1 Layer III has 32, 44.1 and 48 kHz; the lower rates are MPEG-2/2.5 (ISO/IEC 13818-3).
    this.#audioStreamType = codecId === SoundFormat.Mp3 &&
        (typeof rate !== "number" || rate >= MPEG1_MIN_SAMPLE_RATE_HZ)
      ? StreamType.Mpeg1Audio
      : StreamType.Mpeg2Audio;
  }

  /** PTS from the AAC sample count, re-anchored when FLV time drifts more than a frame. */
  #aacPtsMs(tagMs: number, frameMs: number): number {
    const rate = this.#aac!.sampleRateHz;
    let clock = this.#audioClock;
    let expected = clock
      ? clock.anchorMs + (clock.samples * 1000) / rate
      : tagMs;
    if (!clock || Math.abs(tagMs - expected) > AUDIO_RESYNC_FRAMES * frameMs) {
      clock = this.#audioClock = { anchorMs: tagMs, samples: 0 };
      expected = tagMs;
    }
    clock.samples += AAC_SAMPLES_PER_FRAME;
    return expected;
  }

  #flushAudio(): void {
    const pending = this.#pendingAudio;
    if (!pending || !this.#current) return;
    this.#pendingAudio = undefined;
    let data = pending.frames[0]!;
    if (pending.frames.length > 1) {
      data = new Uint8Array(pending.bytes);
      let o = 0;
      for (const f of pending.frames) {
        data.set(f, o);
        o += f.byteLength;
      }
    }
    this.#append(
      this.#muxer.writeAudio({ ptsTicks: pending.ptsTicks, data }),
      undefined,
    );
  }

  #tracks(withVideo: boolean): TsTracks {
    return {
      videoStreamType: withVideo && this.#avc ? StreamType.H264 : undefined,
      audioStreamType: this.#audioStreamType,
    };
  }

  #openSegment(startMs: number, withVideo: boolean): void {
    const tracks = this.#tracks(withVideo);
    const last = this.#lastTracks;
    const changed = last !== undefined &&
      (last.videoStreamType !== tracks.videoStreamType ||
        last.audioStreamType !== tracks.audioStreamType);
    this.#muxer.setTracks(tracks);
    const discontinuity = this.#discontinuityNext || changed;
    if (discontinuity) this.#discontinuities++;
    this.#current = {
      sequence: this.#nextSequence++,
      tracks,
      audioWritten: false,
      startMs,
      programDateTimeMs: this.#now(),
      discontinuity,
      chunks: [],
      bytes: 0,
      endMs: startMs,
      lastVideoDtsMs: undefined,
    };
    this.#lastTracks = tracks;
    this.#discontinuityNext = false;
    this.#onSegmentOpened?.(this.sequenceState);
  }

  #append(packets: Uint8Array, endMs: number | undefined): void {
    const seg = this.#current!;
    seg.chunks.push(packets);
    seg.bytes += packets.byteLength;
    if (endMs !== undefined) seg.endMs = Math.max(seg.endMs, endMs);
    if (seg.bytes > MAX_SEGMENT_BYTES) {
      // Bounded memory: close here; the next segment starts at the next keyframe.
      this.#closeSegment(seg.endMs);
    }
  }

  #closeSegment(endMs: number): void {
    this.#flushAudio();
    const seg = this.#current;
    if (!seg) return;
    this.#current = undefined;
    // PAT and PMT first (each segment decodes on its own, RFC 8216 §3.2), with the tracks the
    // segment ended up with. Written now, once per segment, so their continuity counters run on.
    this.#muxer.setTracks(seg.tracks);
    const psi = this.#muxer.writePsi();
    const bytes = new Uint8Array(psi.byteLength + seg.bytes);
    bytes.set(psi, 0);
    let o = psi.byteLength;
    for (const c of seg.chunks) {
      bytes.set(c, o);
      o += c.byteLength;
    }
    const durationMs = Math.max(0, endMs - seg.startMs);
    this.#longestSegmentMs = Math.max(this.#longestSegmentMs, durationMs);
    const segment: HlsSegment = {
      name: `${this.#prefix}-${seg.sequence}.ts`,
      sequence: seg.sequence,
      durationMs,
      programDateTimeMs: seg.programDateTimeMs,
      discontinuity: seg.discontinuity,
      bytes,
      mediaStartMs: seg.startMs,
    };
    this.#window.push(segment);
    this.#completed++;
    this.#playlist = undefined;
    this.#onSegmentClosed?.(segment);
  }
}
