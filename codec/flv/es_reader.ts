/**
 * FLV tags to elementary streams: what an output that does not speak FLV (RTSP's RTP, SRT's
 * MPEG-TS) reads from the hub. The inverse of {@link ElementaryToFlv}: AVC and HEVC (legacy
 * or Enhanced RTMP) frames become NALU lists with their decoder configuration parsed once,
 * AAC frames raw AAC with their AudioSpecificConfig, MP3 and G.711 their bytes.
 *
 * Pure: tags in, frames out. Tags of other codecs (VP9, AV1, Opus, ...) are reported as
 * unsupported once per track so the output can say so.
 *
 * @module
 */

import {
  type AudioSpecificConfig,
  decodeAudioSpecificConfig,
} from "../aac/audio_specific_config.ts";
import { decodeAvcDecoderConfig } from "../h264/avc_config.ts";
import { splitAvccNalus } from "../h264/nalu.ts";
import { parseSps } from "../h264/sps.ts";
import { decodeHevcDecoderConfig } from "../h265/hvcc.ts";
import { parseHevcSps } from "../h265/sps.ts";
import type { EsAudioCodec, EsVideoCodec } from "./es_muxer.ts";
import {
  AudioCodec,
  AudioPacketType,
  decodeAudioTagHeader,
  decodeVideoTagHeader,
  VideoCodec,
  VideoFrameType,
  VideoPacketType,
} from "./media_info.ts";
import { type FlvTag, FlvTagType } from "./types.ts";

/** The video track as its sequence header describes it. */
export interface EsVideoTrack {
  readonly codec: EsVideoCodec;
  readonly naluLengthSize: number;
  readonly vps: readonly Uint8Array[];
  readonly sps: readonly Uint8Array[];
  readonly pps: readonly Uint8Array[];
  readonly width: number | undefined;
  readonly height: number | undefined;
  /** H.264 profile_idc, constraint flags and level_idc (for `profile-level-id`). */
  readonly profileLevelId: readonly [number, number, number];
}

/** The audio track. */
export interface EsAudioTrack {
  readonly codec: EsAudioCodec;
  readonly sampleRateHz: number;
  readonly channels: number;
  /** AAC only: the AudioSpecificConfig bytes and what they say. */
  readonly asc?: Uint8Array;
  readonly aac?: AudioSpecificConfig;
}

/** What one tag gave. */
export type EsEvent =
  | { readonly kind: "video-config"; readonly track: EsVideoTrack }
  | { readonly kind: "audio-config"; readonly track: EsAudioTrack }
  | {
    readonly kind: "video";
    readonly nalus: readonly Uint8Array[];
    readonly keyframe: boolean;
    readonly dtsMs: number;
    readonly ptsMs: number;
  }
  | {
    readonly kind: "audio";
    readonly data: Uint8Array;
    readonly ptsMs: number;
  }
  | {
    readonly kind: "unsupported";
    readonly track: "audio" | "video";
    readonly codec: string;
  };

const MP3_RATES = [5512, 11025, 22050, 44100] as const;

/**
 * Reads a hub's tags as elementary frames.
 *
 * @example
 * ```ts
 * import { FlvToElementary } from "./es_reader.ts";
 * import assert from "node:assert/strict";
 * const r = new FlvToElementary();
 * const [cfg] = r.push({ type: 8, timestampMs: 0, data: new Uint8Array([0xaf, 0, 0x12, 0x10]) });
 * assert.equal(cfg?.kind === "audio-config" && cfg.track.sampleRateHz, 44100);
 * const [frame] = r.push({ type: 8, timestampMs: 23, data: new Uint8Array([0xaf, 1, 0x21]) });
 * assert.deepEqual(frame, { kind: "audio", data: new Uint8Array([0x21]), ptsMs: 23 });
 * ```
 */
export class FlvToElementary {
  #video: EsVideoTrack | undefined;
  #audio: EsAudioTrack | undefined;
  readonly #told = new Set<string>();

  get video(): EsVideoTrack | undefined {
    return this.#video;
  }

  get audio(): EsAudioTrack | undefined {
    return this.#audio;
  }

  /**
   * One tag from the hub. Malformed bodies are skipped (the hub took them from a publisher;
   * an output must not fail for them).
   */
  push(tag: FlvTag): EsEvent[] {
    try {
      if (tag.type === FlvTagType.Video) return this.#videoTag(tag);
      if (tag.type === FlvTagType.Audio) return this.#audioTag(tag);
    } catch {
      // A damaged frame or configuration: skipped.
    }
    return [];
  }

  #unsupported(track: "audio" | "video", codec: string): EsEvent[] {
    const k = `${track}:${codec}`;
    if (this.#told.has(k)) return [];
    this.#told.add(k);
    return [{ kind: "unsupported", track, codec }];
  }

  #videoTag(tag: FlvTag): EsEvent[] {
    const d = tag.data;
    const h = decodeVideoTagHeader(d);
    if (h.codec !== VideoCodec.Avc && h.codec !== VideoCodec.Hevc) {
      if (h.frameType === VideoFrameType.Command) return [];
      return this.#unsupported("video", h.codec ?? "unknown");
    }
    const body = d.subarray(h.payloadOffset);
    if (h.packetType === VideoPacketType.SequenceStart) {
      this.#video = h.codec === VideoCodec.Avc
        ? avcTrack(body)
        : hevcTrack(body);
      return [{ kind: "video-config", track: this.#video }];
    }
    if (
      h.packetType !== VideoPacketType.CodedFrames &&
      h.packetType !== VideoPacketType.CodedFramesX
    ) return [];
    const v = this.#video;
    if (!v || v.codec !== h.codec) return [];
    const nalus = splitAvccNalus(body, v.naluLengthSize);
    if (nalus.length === 0) return [];
    return [{
      kind: "video",
      nalus,
      keyframe: h.frameType === VideoFrameType.Key,
      dtsMs: tag.timestampMs,
      ptsMs: tag.timestampMs + h.compositionTimeMs,
    }];
  }

  #audioTag(tag: FlvTag): EsEvent[] {
    const d = tag.data;
    const h = decodeAudioTagHeader(d);
    const body = d.subarray(h.payloadOffset);
    if (h.codec === AudioCodec.Aac && h.soundFormat === 10) {
      if (h.packetType === AudioPacketType.SequenceStart) {
        const aac = decodeAudioSpecificConfig(body);
        this.#audio = {
          codec: "aac",
          sampleRateHz: aac.sampleRateHz,
          channels: aac.channelConfiguration || 2,
          asc: body.slice(),
          aac,
        };
        return [{ kind: "audio-config", track: this.#audio }];
      }
      if (this.#audio?.codec !== "aac") return [];
      return [{ kind: "audio", data: body, ptsMs: tag.timestampMs }];
    }
    const codec: EsAudioCodec | undefined = h.codec === AudioCodec.Mp3
      ? "mp3"
      : h.codec === AudioCodec.G711A
      ? "g711a"
      : h.codec === AudioCodec.G711U
      ? "g711u"
      : undefined;
    if (!codec || h.soundFormat === 9) {
      return this.#unsupported("audio", h.codec ?? "unknown");
    }
    const out: EsEvent[] = [];
    if (this.#audio?.codec !== codec) {
      const b0 = d[0]!;
      this.#audio = codec === "mp3"
        ? {
          codec,
          sampleRateHz: MP3_RATES[(b0 >> 2) & 3]!,
          channels: (b0 & 1) ? 2 : 1,
        }
        : { codec, sampleRateHz: 8000, channels: 1 };
      out.push({ kind: "audio-config", track: this.#audio });
    }
    out.push({ kind: "audio", data: body, ptsMs: tag.timestampMs });
    return out;
  }
}

function avcTrack(record: Uint8Array): EsVideoTrack {
  const c = decodeAvcDecoderConfig(record);
  let size: { width: number; height: number } | undefined;
  try {
    if (c.sps[0]) size = parseSps(c.sps[0]);
  } catch {
    size = undefined;
  }
  return {
    codec: "avc",
    naluLengthSize: c.naluLengthSize,
    vps: [],
    sps: c.sps.map((s) => s.slice()),
    pps: c.pps.map((s) => s.slice()),
    width: size?.width,
    height: size?.height,
    profileLevelId: [
      c.profileIndication,
      c.profileCompatibility,
      c.levelIndication,
    ],
  };
}

function hevcTrack(record: Uint8Array): EsVideoTrack {
  const c = decodeHevcDecoderConfig(record);
  let size: { width: number; height: number } | undefined;
  try {
    if (c.sps[0]) size = parseHevcSps(c.sps[0]);
  } catch {
    size = undefined;
  }
  return {
    codec: "hevc",
    naluLengthSize: c.naluLengthSize,
    vps: c.vps.map((s) => s.slice()),
    sps: c.sps.map((s) => s.slice()),
    pps: c.pps.map((s) => s.slice()),
    width: size?.width,
    height: size?.height,
    profileLevelId: [
      c.generalProfileTierLevel[0]! & 0x1f,
      0,
      c.generalProfileTierLevel[11]!,
    ],
  };
}
