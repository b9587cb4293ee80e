/**
 * Classifies FLV audio and video tag bodies (equal to RTMP audio/video message payloads):
 * codec, keyframe, sequence header, composition time and where the codec payload starts.
 *
 * Covers the legacy headers (FLV spec v10.1 §E.4.2.1 AUDIODATA, §E.4.3.1 VIDEODATA), the
 * de-facto HEVC codec id 12, and Enhanced RTMP v1 (veovera, "Enhancing RTMP, FLV", the
 * ExVideoTagHeader with IsExHeader, FourCC and VideoPacketType), plus the ExAudioTagHeader
 * (SoundFormat 9) of Enhanced RTMP v2 where it is cheap to recognise.
 *
 * @module
 */

import { FlvErrorCode, FlvFormatError } from "./errors.ts";

/** Video FrameType (§E.4.3.1; in the enhanced header only three bits wide). */
export const VideoFrameType = {
  Key: 1,
  Inter: 2,
  DisposableInter: 3,
  GeneratedKey: 4,
  Command: 5,
} as const;

/** Legacy video CodecID (§E.4.3.1), plus the widely used non-standard HEVC id 12. */
export const VideoCodecId = {
  SorensonH263: 2,
  ScreenVideo: 3,
  Vp6: 4,
  Vp6Alpha: 5,
  ScreenVideo2: 6,
  Avc: 7,
  HevcLegacy: 12,
} as const;

/**
 * Enhanced RTMP VideoPacketType. Legacy AVC/HEVC AVCPacketType values 0/1/2 map onto
 * SequenceStart/CodedFrames/SequenceEnd, so callers see one vocabulary.
 */
export const VideoPacketType = {
  SequenceStart: 0,
  CodedFrames: 1,
  SequenceEnd: 2,
  /** CodedFrames with an implied composition time offset of 0 (no SI24 on the wire). */
  CodedFramesX: 3,
  Metadata: 4,
  Mpeg2TsSequenceStart: 5,
} as const;
/** One of the {@link VideoPacketType} values. */
export type VideoPacketTypeValue =
  (typeof VideoPacketType)[keyof typeof VideoPacketType];

/** Bit 7 of the first video byte: IsExHeader (Enhanced RTMP v1). */
export const VIDEO_EX_HEADER_BIT = 0x80;

/** Video codecs we can name. */
export const VideoCodec = {
  H263: "h263",
  ScreenVideo: "screen",
  Vp6: "vp6",
  Avc: "avc",
  Hevc: "hevc",
  Av1: "av1",
  Vp9: "vp9",
} as const;
/** One of the {@link VideoCodec} values. */
export type VideoCodecValue = (typeof VideoCodec)[keyof typeof VideoCodec];

/** Enhanced RTMP video FourCCs and the codec each names. */
export const VIDEO_FOURCCS: Readonly<Record<string, VideoCodecValue>> = {
  avc1: VideoCodec.Avc,
  hvc1: VideoCodec.Hevc,
  av01: VideoCodec.Av1,
  vp09: VideoCodec.Vp9,
};

/** Audio SoundFormat (§E.4.2.1); 9 is the Enhanced RTMP v2 ExHeader marker. */
export const SoundFormat = {
  LinearPcmPlatformEndian: 0,
  Adpcm: 1,
  Mp3: 2,
  LinearPcmLittleEndian: 3,
  Nellymoser16kMono: 4,
  Nellymoser8kMono: 5,
  Nellymoser: 6,
  G711ALaw: 7,
  G711MuLaw: 8,
  ExHeader: 9,
  Aac: 10,
  Speex: 11,
  Mp3At8k: 14,
  DeviceSpecific: 15,
} as const;

/** AACPacketType (§E.4.2.2) and, for enhanced audio, AudioPacketType 0/1. */
export const AudioPacketType = { SequenceStart: 0, CodedFrames: 1 } as const;
/** One of the {@link AudioPacketType} values. */
export type AudioPacketTypeValue =
  (typeof AudioPacketType)[keyof typeof AudioPacketType];

/** Audio codecs we can name. */
export const AudioCodec = {
  Pcm: "pcm",
  Adpcm: "adpcm",
  Mp3: "mp3",
  Nellymoser: "nellymoser",
  G711A: "g711a",
  G711U: "g711u",
  Aac: "aac",
  Speex: "speex",
  Opus: "opus",
  Flac: "flac",
  Ac3: "ac3",
  Eac3: "eac3",
} as const;
/** One of the {@link AudioCodec} values. */
export type AudioCodecValue = (typeof AudioCodec)[keyof typeof AudioCodec];

const LEGACY_AUDIO_CODECS: Readonly<Record<number, AudioCodecValue>> = {
  [SoundFormat.LinearPcmPlatformEndian]: AudioCodec.Pcm,
  [SoundFormat.Adpcm]: AudioCodec.Adpcm,
  [SoundFormat.Mp3]: AudioCodec.Mp3,
  [SoundFormat.LinearPcmLittleEndian]: AudioCodec.Pcm,
  [SoundFormat.Nellymoser16kMono]: AudioCodec.Nellymoser,
  [SoundFormat.Nellymoser8kMono]: AudioCodec.Nellymoser,
  [SoundFormat.Nellymoser]: AudioCodec.Nellymoser,
  [SoundFormat.G711ALaw]: AudioCodec.G711A,
  [SoundFormat.G711MuLaw]: AudioCodec.G711U,
  [SoundFormat.Aac]: AudioCodec.Aac,
  [SoundFormat.Speex]: AudioCodec.Speex,
  [SoundFormat.Mp3At8k]: AudioCodec.Mp3,
};

/** Enhanced RTMP v2 audio FourCCs. */
export const AUDIO_FOURCCS: Readonly<Record<string, AudioCodecValue>> = {
  Opus: AudioCodec.Opus,
  fLaC: AudioCodec.Flac,
  "ac-3": AudioCodec.Ac3,
  "ec-3": AudioCodec.Eac3,
  ".mp3": AudioCodec.Mp3,
  mp4a: AudioCodec.Aac,
};

/** A decoded video tag header. */
export interface VideoTagHeader {
  /** The codec, or `undefined` for an unknown CodecID or FourCC. */
  readonly codec: VideoCodecValue | undefined;
  /** True for the Enhanced RTMP ExVideoTagHeader. */
  readonly enhanced: boolean;
  /** FrameType; see {@link VideoFrameType}. */
  readonly frameType: number;
  /**
   * Normalised packet type for AVC, HEVC and enhanced codecs; `undefined` for legacy codecs
   * without one (H.263, VP6, ...) and for command frames.
   */
  readonly packetType: VideoPacketTypeValue | number | undefined;
  /** Composition time offset (PTS - DTS) in milliseconds; 0 where the header has none. */
  readonly compositionTimeMs: number;
  /** Offset of the codec payload (AVCDecoderConfigurationRecord, NALUs, OBUs, ...). */
  readonly payloadOffset: number;
}

/** A decoded audio tag header. */
export interface AudioTagHeader {
  /** The codec, or `undefined` for an unknown SoundFormat or FourCC. */
  readonly codec: AudioCodecValue | undefined;
  /** SoundFormat (upper four bits of the first byte). */
  readonly soundFormat: number;
  /** For AAC and enhanced audio: SequenceStart (0) or CodedFrames (1) or another type. */
  readonly packetType: number | undefined;
  /** Offset of the codec payload (AudioSpecificConfig, raw AAC, MP3 frames, ...). */
  readonly payloadOffset: number;
}

function shortBody(kind: string, need: number, got: number): FlvFormatError {
  return new FlvFormatError(
    FlvErrorCode.BadTagBody,
    `Cannot decode ${kind} tag header: need ${need} bytes, got ${got}`,
  );
}

function fourCcAt(data: Uint8Array, offset: number): string {
  return String.fromCharCode(
    data[offset]!,
    data[offset + 1]!,
    data[offset + 2]!,
    data[offset + 3]!,
  );
}

function si24At(data: Uint8Array, offset: number): number {
  const v = (data[offset]! << 16) | (data[offset + 1]! << 8) |
    data[offset + 2]!;
  return v & 0x800000 ? v - 0x1000000 : v;
}

/**
 * Decodes the video tag header, legacy or enhanced.
 *
 * @param data A video tag body.
 * @returns The header fields and the payload offset.
 * @throws {FlvFormatError} `FLV_BAD_TAG_BODY` if `data` is shorter than its header.
 *
 * @example
 * ```ts
 * import { decodeVideoTagHeader } from "./media_info.ts";
 * import assert from "node:assert/strict";
 * // Legacy AVC keyframe, AVCPacketType 1 (NALU), composition time 80 ms.
 * const h = decodeVideoTagHeader(new Uint8Array([0x17, 1, 0, 0, 80, 0, 0, 0, 2, 9, 0xf0]));
 * assert.deepEqual(h, {
 *   codec: "avc", enhanced: false, frameType: 1, packetType: 1, compositionTimeMs: 80,
 *   payloadOffset: 5,
 * });
 * ```
 */
export function decodeVideoTagHeader(data: Uint8Array): VideoTagHeader {
  if (data.byteLength < 1) throw shortBody("video", 1, 0);
  const b0 = data[0]!;
  if (b0 & VIDEO_EX_HEADER_BIT) {
    // Enhanced RTMP v1 ExVideoTagHeader: IsExHeader UB[1], FrameType UB[3],
    // PacketType UB[4], then FourCC UI32.
    const frameType = (b0 >> 4) & 0x07;
    const packetType = b0 & 0x0f;
    if (data.byteLength < 5) throw shortBody("video", 5, data.byteLength);
    const fourCc = fourCcAt(data, 1);
    const codec = VIDEO_FOURCCS[fourCc];
    // CompositionTime SI24 is present only for CodedFrames of codecs with B-frames
    // (hvc1; avc1 in v2). CodedFramesX implies 0.
    if (
      packetType === VideoPacketType.CodedFrames &&
      (codec === VideoCodec.Hevc || codec === VideoCodec.Avc)
    ) {
      if (data.byteLength < 8) throw shortBody("video", 8, data.byteLength);
      return {
        codec,
        enhanced: true,
        frameType,
        packetType,
        compositionTimeMs: si24At(data, 5),
        payloadOffset: 8,
      };
    }
    return {
      codec,
      enhanced: true,
      frameType,
      packetType,
      compositionTimeMs: 0,
      payloadOffset: 5,
    };
  }
  const frameType = b0 >> 4;
  const codecId = b0 & 0x0f;
  const codec = legacyVideoCodec(codecId);
  if (
    (codecId === VideoCodecId.Avc || codecId === VideoCodecId.HevcLegacy) &&
    frameType !== VideoFrameType.Command
  ) {
    // §E.4.3.1: AVCPacketType UI8, CompositionTime SI24 (0 unless AVCPacketType == 1).
    if (data.byteLength < 5) throw shortBody("video", 5, data.byteLength);
    const packetType = data[1]!;
    return {
      codec,
      enhanced: false,
      frameType,
      packetType,
      compositionTimeMs: packetType === VideoPacketType.CodedFrames
        ? si24At(data, 2)
        : 0,
      payloadOffset: 5,
    };
  }
  return {
    codec,
    enhanced: false,
    frameType,
    packetType: undefined,
    compositionTimeMs: 0,
    payloadOffset: 1,
  };
}

function legacyVideoCodec(codecId: number): VideoCodecValue | undefined {
  switch (codecId) {
    case VideoCodecId.SorensonH263:
      return VideoCodec.H263;
    case VideoCodecId.ScreenVideo:
    case VideoCodecId.ScreenVideo2:
      return VideoCodec.ScreenVideo;
    case VideoCodecId.Vp6:
    case VideoCodecId.Vp6Alpha:
      return VideoCodec.Vp6;
    case VideoCodecId.Avc:
      return VideoCodec.Avc;
    case VideoCodecId.HevcLegacy:
      return VideoCodec.Hevc;
    default:
      return undefined;
  }
}

/**
 * Decodes the audio tag header, legacy or Enhanced RTMP v2 (SoundFormat 9).
 *
 * @param data An audio tag body.
 * @returns The header fields and the payload offset.
 * @throws {FlvFormatError} `FLV_BAD_TAG_BODY` if `data` is shorter than its header.
 *
 * @example
 * ```ts
 * import { decodeAudioTagHeader } from "./media_info.ts";
 * import assert from "node:assert/strict";
 * const h = decodeAudioTagHeader(new Uint8Array([0xaf, 0, 0x12, 0x10]));
 * assert.deepEqual(h, { codec: "aac", soundFormat: 10, packetType: 0, payloadOffset: 2 });
 * ```
 */
export function decodeAudioTagHeader(data: Uint8Array): AudioTagHeader {
  if (data.byteLength < 1) throw shortBody("audio", 1, 0);
  const b0 = data[0]!;
  const soundFormat = b0 >> 4;
  if (soundFormat === SoundFormat.ExHeader) {
    // Enhanced RTMP v2 ExAudioTagHeader: SoundFormat UB[4] = 9, AudioPacketType UB[4],
    // then FourCC UI32.
    if (data.byteLength < 5) throw shortBody("audio", 5, data.byteLength);
    return {
      codec: AUDIO_FOURCCS[fourCcAt(data, 1)],
      soundFormat,
      packetType: b0 & 0x0f,
      payloadOffset: 5,
    };
  }
  if (soundFormat === SoundFormat.Aac) {
    // §E.4.2.1: AACPacketType UI8 follows the one-byte header.
    if (data.byteLength < 2) throw shortBody("audio", 2, data.byteLength);
    return {
      codec: AudioCodec.Aac,
      soundFormat,
      packetType: data[1]!,
      payloadOffset: 2,
    };
  }
  return {
    codec: LEGACY_AUDIO_CODECS[soundFormat],
    soundFormat,
    packetType: undefined,
    payloadOffset: 1,
  };
}

function tryVideo(data: Uint8Array): VideoTagHeader | undefined {
  try {
    return decodeVideoTagHeader(data);
  } catch {
    return undefined;
  }
}

function tryAudio(data: Uint8Array): AudioTagHeader | undefined {
  try {
    return decodeAudioTagHeader(data);
  } catch {
    return undefined;
  }
}

/**
 * Whether a video tag body is a coded keyframe (a random access point for GOP caches and
 * segment cuts). Sequence headers also carry FrameType 1 but hold no picture, so they are
 * not keyframes here.
 *
 * @param data A video tag body.
 * @returns `false` for anything else, including bodies too short to classify.
 *
 * @example
 * ```ts
 * import { isVideoKeyframe } from "./media_info.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isVideoKeyframe(new Uint8Array([0x17, 1, 0, 0, 0])), true);
 * assert.equal(isVideoKeyframe(new Uint8Array([0x17, 0, 0, 0, 0])), false); // sequence header
 * assert.equal(isVideoKeyframe(new Uint8Array([0x27, 1, 0, 0, 0])), false); // inter frame
 * ```
 */
export function isVideoKeyframe(data: Uint8Array): boolean {
  const h = tryVideo(data);
  if (!h || h.frameType !== VideoFrameType.Key) return false;
  if (h.packetType === undefined) return h.codec !== undefined; // legacy H.263/VP6
  return h.packetType === VideoPacketType.CodedFrames ||
    h.packetType === VideoPacketType.CodedFramesX;
}

/**
 * Whether a video tag body is a decoder configuration (AVC/HEVC sequence header, Enhanced
 * RTMP SequenceStart or MPEG2TSSequenceStart).
 *
 * @param data A video tag body.
 * @returns `false` for anything else, including bodies too short to classify.
 *
 * @example
 * ```ts
 * import { isVideoSequenceHeader } from "./media_info.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isVideoSequenceHeader(new Uint8Array([0x17, 0, 0, 0, 0, 1])), true);
 * // Enhanced RTMP: IsExHeader | keyframe | SequenceStart, FourCC "hvc1".
 * assert.equal(isVideoSequenceHeader(new Uint8Array([0x90, 0x68, 0x76, 0x63, 0x31])), true);
 * ```
 */
export function isVideoSequenceHeader(data: Uint8Array): boolean {
  const h = tryVideo(data);
  return h !== undefined && h.codec !== undefined &&
    (h.packetType === VideoPacketType.SequenceStart ||
      (h.enhanced && h.packetType === VideoPacketType.Mpeg2TsSequenceStart));
}

/**
 * Whether an audio tag body is a decoder configuration (AAC AudioSpecificConfig or an
 * enhanced audio SequenceStart).
 *
 * @param data An audio tag body.
 * @returns `false` for anything else, including bodies too short to classify.
 *
 * @example
 * ```ts
 * import { isAudioSequenceHeader } from "./media_info.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isAudioSequenceHeader(new Uint8Array([0xaf, 0, 0x12, 0x10])), true);
 * assert.equal(isAudioSequenceHeader(new Uint8Array([0xaf, 1, 0x21])), false);
 * ```
 */
export function isAudioSequenceHeader(data: Uint8Array): boolean {
  const h = tryAudio(data);
  return h !== undefined && h.packetType === AudioPacketType.SequenceStart &&
    (h.soundFormat === SoundFormat.Aac ||
      h.soundFormat === SoundFormat.ExHeader);
}

/**
 * Names the video codec of a tag body.
 *
 * @param data A video tag body.
 * @returns The codec, or `undefined` if unknown or too short.
 *
 * @example
 * ```ts
 * import { videoCodecOf } from "./media_info.ts";
 * import assert from "node:assert/strict";
 * assert.equal(videoCodecOf(new Uint8Array([0x27, 1, 0, 0, 0])), "avc");
 * assert.equal(videoCodecOf(new Uint8Array([0x1c, 1, 0, 0, 0])), "hevc"); // legacy id 12
 * assert.equal(videoCodecOf(new Uint8Array([0x93, 0x61, 0x76, 0x30, 0x31])), "av1");
 * ```
 */
export function videoCodecOf(data: Uint8Array): VideoCodecValue | undefined {
  return tryVideo(data)?.codec;
}

/**
 * Names the audio codec of a tag body.
 *
 * @param data An audio tag body.
 * @returns The codec, or `undefined` if unknown or empty.
 *
 * @example
 * ```ts
 * import { audioCodecOf } from "./media_info.ts";
 * import assert from "node:assert/strict";
 * assert.equal(audioCodecOf(new Uint8Array([0xaf, 1])), "aac");
 * assert.equal(audioCodecOf(new Uint8Array([0x2f])), "mp3");
 * ```
 */
export function audioCodecOf(data: Uint8Array): AudioCodecValue | undefined {
  return tryAudio(data)?.codec;
}
