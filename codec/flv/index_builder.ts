/**
 * Builds a container-neutral sample index ({@link MediaIndex}) from an FLV file's tags: each
 * audio or video frame's payload (the bytes after its codec header) becomes one sample, the
 * sequence headers become the tracks' configuration records, and `onMetaData` gives the
 * picture size when no SPS says it.
 *
 * Pure: the caller reads the file (in blocks, skipping frame payloads) and hands over each
 * tag's header and its first {@link FLV_INDEX_PEEK_BYTES} body bytes; sequence headers and
 * script tags are handed over whole (see {@link needsWholeBody}).
 *
 * @module
 */

import { decodeAll } from "../amf0/decode.ts";
import { Amf0EcmaArray, type Amf0Value } from "../amf0/types.ts";
import { decodeAvcDecoderConfig } from "../h264/avc_config.ts";
import { parseSps } from "../h264/sps.ts";
import { SampleTableBuilder } from "../samples/table.ts";
import type { MediaIndex, SampleCodec, TrackIndex } from "../samples/types.ts";
import { decodeAudioSpecificConfig } from "../aac/audio_specific_config.ts";
import {
  AudioCodec,
  AudioPacketType,
  decodeAudioTagHeader,
  decodeVideoTagHeader,
  VideoCodec,
  VideoFrameType,
  VideoPacketType,
} from "./media_info.ts";
import { FlvTagType } from "./types.ts";

/** Body bytes enough for any codec header (enhanced video: 8; audio: 5). */
export const FLV_INDEX_PEEK_BYTES = 16;
/** Largest sequence header or script tag read whole (bytes); larger ones are skipped. */
export const MAX_FLV_CONFIG_BYTES = 1024 * 1024;

/** True when the indexer needs the whole body of this tag, not just its first bytes. */
export function needsWholeBody(type: number, peek: Uint8Array): boolean {
  if (type === FlvTagType.Script) return true;
  try {
    if (type === FlvTagType.Video) {
      const h = decodeVideoTagHeader(peek);
      return h.packetType === VideoPacketType.SequenceStart;
    }
    if (type === FlvTagType.Audio) {
      const h = decodeAudioTagHeader(peek);
      return h.codec === AudioCodec.Aac &&
        h.packetType === AudioPacketType.SequenceStart;
    }
  } catch {
    return false;
  }
  return false;
}

interface TrackState {
  readonly builder: SampleTableBuilder;
  codec: SampleCodec | undefined;
  config: Uint8Array | undefined;
  lastDts: number;
  /** The last gap between two samples (the last sample's duration is taken to be it). */
  lastDelta: number | undefined;
  width?: number;
  height?: number;
  sampleRate?: number;
  channels?: number;
}

/** `onMetaData` fields the index uses. */
export interface FlvMetadata {
  readonly width?: number;
  readonly height?: number;
  readonly frameRate?: number;
  readonly durationSeconds?: number;
}

/**
 * Collects tags into an index.
 *
 * @example
 * ```ts
 * import { FlvIndexBuilder } from "./index_builder.ts";
 * import assert from "node:assert/strict";
 * const b = new FlvIndexBuilder(1000);
 * // MP3 audio (SoundFormat 2): one frame at 0 ms, 417 bytes at offset 24.
 * b.addTag(8, 0, 24, 418, new Uint8Array([0x2f, 0xff, 0xfb]));
 * const index = b.finish();
 * assert.equal(index.tracks[0]!.codec, "mp3");
 * assert.equal(index.tracks[0]!.samples.offset[0], 25);
 * ```
 */
export class FlvIndexBuilder {
  readonly #fileSize: number;
  readonly #video: TrackState = newTrack();
  readonly #audio: TrackState = newTrack();
  #base: number | undefined;
  #metadata: FlvMetadata = {};
  /** Frames dropped: unknown codec, or coded before any sequence header. */
  skipped = 0;

  constructor(fileSize: number) {
    this.#fileSize = fileSize;
  }

  /** `onMetaData` as read from the file (empty when it had none). */
  get metadata(): FlvMetadata {
    return this.#metadata;
  }

  /**
   * Takes one tag.
   *
   * @param bodyOffset File offset of the tag's body (just after its 11-byte header).
   * @param dataSize The body's length.
   * @param body The body, whole when {@link needsWholeBody}, else at least its first
   *   {@link FLV_INDEX_PEEK_BYTES} bytes (or all of it when shorter).
   */
  addTag(
    type: number,
    timestampMs: number,
    bodyOffset: number,
    dataSize: number,
    body: Uint8Array,
  ): void {
    if (type === FlvTagType.Script) {
      this.#script(body);
      return;
    }
    if (type !== FlvTagType.Video && type !== FlvTagType.Audio) return;
    if (dataSize === 0 || body.length === 0) return;
    let h;
    try {
      h = type === FlvTagType.Video
        ? decodeVideoTagHeader(body)
        : decodeAudioTagHeader(body);
    } catch {
      this.skipped++;
      return;
    }
    const track = type === FlvTagType.Video ? this.#video : this.#audio;
    const payloadOffset = bodyOffset + h.payloadOffset;
    const payloadSize = dataSize - h.payloadOffset;
    if (payloadSize <= 0) return;
    if (type === FlvTagType.Video) {
      const v = h as ReturnType<typeof decodeVideoTagHeader>;
      const codec = v.codec === VideoCodec.Avc
        ? "h264"
        : v.codec === VideoCodec.Hevc
        ? "hevc"
        : undefined;
      if (!codec) {
        this.skipped++;
        return;
      }
      if (v.packetType === VideoPacketType.SequenceStart) {
        if (body.length >= dataSize) {
          track.codec = codec;
          track.config = body.slice(v.payloadOffset, dataSize);
          if (codec === "h264") this.#avcSize(track.config);
        }
        return;
      }
      if (
        v.packetType !== VideoPacketType.CodedFrames &&
        v.packetType !== VideoPacketType.CodedFramesX
      ) return;
      if (!track.config || track.codec !== codec) {
        this.skipped++;
        return;
      }
      this.#push(
        track,
        payloadOffset,
        payloadSize,
        timestampMs,
        v.compositionTimeMs,
        v.frameType === VideoFrameType.Key,
      );
      return;
    }
    const a = h as ReturnType<typeof decodeAudioTagHeader>;
    if (a.codec === AudioCodec.Aac) {
      if (a.packetType === AudioPacketType.SequenceStart) {
        if (body.length >= dataSize) {
          track.codec = "aac";
          track.config = body.slice(a.payloadOffset, dataSize);
          try {
            const asc = decodeAudioSpecificConfig(track.config);
            track.sampleRate = asc.sampleRateHz;
            track.channels = asc.channelConfiguration || 2;
          } catch {
            track.config = undefined;
          }
        }
        return;
      }
      if (a.packetType !== AudioPacketType.CodedFrames) return;
      if (!track.config || track.codec !== "aac") {
        this.skipped++;
        return;
      }
    } else if (a.codec === AudioCodec.Mp3) {
      if (track.codec === undefined) {
        track.codec = "mp3";
        // SoundRate bits (FLV spec E.4.2.1) say 5.5/11/22/44 kHz; the frame header is exact,
        // but the peek holds it only when the tag is long enough: 44.1 kHz by default.
        track.sampleRate = mp3Rate(body.subarray(a.payloadOffset));
        track.channels = (body[0]! & 0x01) ? 2 : 1;
      }
      if (track.codec !== "mp3") return;
    } else {
      this.skipped++;
      return;
    }
    this.#push(track, payloadOffset, payloadSize, timestampMs, 0, true);
  }

  #push(
    track: TrackState,
    offset: number,
    size: number,
    timestampMs: number,
    ctsMs: number,
    sync: boolean,
  ): void {
    if (offset + size > this.#fileSize) return; // cut off by the end of the file
    this.#base ??= timestampMs;
    // Timestamps never go back in the index: a jump back (a bad muxer, a wrap) is held.
    const dts = Math.max(timestampMs - this.#base, track.lastDts, 0);
    const b = track.builder;
    if (b.count > 0) {
      track.lastDelta = dts - track.lastDts;
      b.setLastDuration(track.lastDelta);
    }
    b.push(offset, size, dts, 0, ctsMs, sync);
    track.lastDts = dts;
  }

  #avcSize(config: Uint8Array): void {
    try {
      const sps = decodeAvcDecoderConfig(config).sps[0];
      if (!sps) return;
      const info = parseSps(sps);
      this.#video.width = info.width;
      this.#video.height = info.height;
    } catch {
      // width/height then come from onMetaData
    }
  }

  #script(body: Uint8Array): void {
    let values: Amf0Value[];
    try {
      values = decodeAll(body);
    } catch {
      return;
    }
    if (values[0] !== "onMetaData") return;
    const m = values[1];
    const props = m instanceof Amf0EcmaArray
      ? m.properties
      : (m && typeof m === "object" && !Array.isArray(m))
      ? m as Record<string, Amf0Value>
      : undefined;
    if (!props) return;
    const num = (k: string) =>
      typeof props[k] === "number" && Number.isFinite(props[k])
        ? props[k] as number
        : undefined;
    this.#metadata = {
      width: num("width"),
      height: num("height"),
      frameRate: num("framerate"),
      durationSeconds: num("duration"),
    };
  }

  /** The index of every tag taken. */
  finish(): MediaIndex {
    const tracks: TrackIndex[] = [];
    let durationMs = 0;
    for (
      const [t, kind] of [[this.#video, "video"], [
        this.#audio,
        "audio",
      ]] as const
    ) {
      if (!t.codec || t.builder.count === 0) continue;
      t.builder.setLastDuration(t.lastDelta ?? (kind === "video" ? 40 : 23));
      const samples = t.builder.finish();
      const end = samples.dts[samples.count - 1]! +
        samples.duration[samples.count - 1]!;
      durationMs = Math.max(durationMs, end);
      tracks.push({
        kind,
        codec: t.codec,
        timescale: 1000,
        config: t.config,
        sampleEntry: undefined,
        width: kind === "video" ? t.width ?? this.#metadata.width : undefined,
        height: kind === "video"
          ? t.height ?? this.#metadata.height
          : undefined,
        sampleRate: t.sampleRate,
        channels: t.channels,
        mediaTime: 0,
        samples,
      });
    }
    return { container: "flv", fileSize: this.#fileSize, durationMs, tracks };
  }
}

function newTrack(): TrackState {
  return {
    builder: new SampleTableBuilder(4096),
    codec: undefined,
    config: undefined,
    lastDts: 0,
    lastDelta: undefined,
  };
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
