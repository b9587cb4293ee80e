/**
 * FLV tags made from a sample index (the VOD FLV output of any source): the file prelude
 * (header, `onMetaData`, sequence headers) and each frame's tag header and codec header, so
 * the frame's own bytes can follow straight from the source file.
 *
 * @module
 */

import { encodeAmf0 } from "../amf0/encode.ts";
import { concatBytes } from "../bytes/concat.ts";
import { Amf0EcmaArray } from "../amf0/types.ts";
import type { TrackIndex } from "../samples/types.ts";
import { encodeFlvHeader } from "./header.ts";
import { encodeFlvTag, FLV_TAG_HEADER_BYTES } from "./tag.ts";
import { FlvTagType } from "./types.ts";

/** FrameType 5 payloads (FLV spec E.4.3.1, "video info/command frame"). */
export const VideoCommand = {
  /** Frames after this are decoded but not shown, up to the end command (accurate seek). */
  StartSeek: 0,
  EndSeek: 1,
} as const;

/** Bytes of the codec header before a frame's payload, per track (FLV spec E.4.2, E.4.3). */
export function flvCodecHeaderBytes(track: TrackIndex): number {
  if (track.kind === "audio") return track.codec === "aac" ? 2 : 1;
  return track.codec === "hevc" ? 8 : 5; // enhanced RTMP hvc1 CodedFrames; AVC legacy
}

/** Options of {@link flvPrelude}. */
export interface FlvPreludeOptions {
  /** Timestamp of the sequence headers (the first frame's). */
  readonly timestampMs: number;
  readonly durationSeconds: number;
  readonly frameRate?: number | undefined;
  /** Extra `onMetaData` fields (e.g. where an accurate start lands). */
  readonly extra?: Readonly<Record<string, number | boolean | string>>;
}

/**
 * The FLV header, `onMetaData` and the tracks' sequence headers.
 *
 * @example
 * ```ts ignore
 * const head = flvPrelude([video, audio], { timestampMs: 0, durationSeconds: 10 });
 * ```
 */
export function flvPrelude(
  tracks: readonly TrackIndex[],
  options: FlvPreludeOptions,
): Uint8Array {
  const video = tracks.find((t) => t.kind === "video");
  const audio = tracks.find((t) => t.kind === "audio");
  const meta: Record<string, number | boolean | string> = {
    duration: options.durationSeconds,
  };
  if (video) {
    meta.width = video.width ?? 0;
    meta.height = video.height ?? 0;
    if (options.frameRate) meta.framerate = options.frameRate;
    meta.videocodecid = video.codec === "hevc" ? 12 : 7;
  }
  if (audio) {
    meta.audiocodecid = audio.codec === "aac" ? 10 : 2;
    meta.audiosamplerate = audio.sampleRate ?? 44100;
    meta.stereo = (audio.channels ?? 2) > 1;
  }
  Object.assign(meta, options.extra ?? {});
  const parts: Uint8Array[] = [
    encodeFlvHeader({ hasAudio: !!audio, hasVideo: !!video }),
    encodeFlvTag({
      type: FlvTagType.Script,
      timestampMs: 0,
      data: encodeAmf0("onMetaData", new Amf0EcmaArray(meta)),
    }),
  ];
  const ts = options.timestampMs;
  if (video?.config) {
    const head = video.codec === "hevc"
      ? new Uint8Array([0x90, 0x68, 0x76, 0x63, 0x31]) // ex header: key, SequenceStart, 'hvc1'
      : new Uint8Array([0x17, 0x00, 0, 0, 0]);
    parts.push(encodeFlvTag({
      type: FlvTagType.Video,
      timestampMs: ts,
      data: concatBytes([head, video.config]),
    }));
  }
  if (audio?.codec === "aac" && audio.config) {
    parts.push(encodeFlvTag({
      type: FlvTagType.Audio,
      timestampMs: ts,
      data: concatBytes([new Uint8Array([0xaf, 0x00]), audio.config]),
    }));
  }
  return concatBytes(parts);
}

/**
 * The 11-byte tag header and the codec header of sample `i` of `track`, at `timestampMs`:
 * its payload (`size` bytes from the file) and {@link flvTagTrailer} follow.
 */
export function flvFrameHead(
  track: TrackIndex,
  i: number,
  timestampMs: number,
): Uint8Array {
  const s = track.samples;
  const codecBytes = flvCodecHeaderBytes(track);
  const size = s.size[i]! + codecBytes;
  const out = new Uint8Array(FLV_TAG_HEADER_BYTES + codecBytes);
  writeTagHeader(
    out,
    track.kind === "video" ? FlvTagType.Video : FlvTagType.Audio,
    size,
    timestampMs,
  );
  const o = FLV_TAG_HEADER_BYTES;
  if (track.kind === "audio") {
    if (track.codec === "aac") {
      out[o] = 0xaf;
      out[o + 1] = 0x01;
    } else {
      // MP3, 44 kHz rate bits, 16-bit, stereo flag from the track (FLV spec E.4.2.1).
      out[o] = 0x2e | ((track.channels ?? 2) > 1 ? 1 : 0);
    }
    return out;
  }
  const key = s.sync === undefined || s.sync[i] === 1;
  const ctsMs = Math.round((s.cts[i]! * 1000) / track.timescale);
  if (track.codec === "hevc") {
    out[o] = 0x80 | ((key ? 1 : 2) << 4) | 0x01; // ex header, CodedFrames
    out.set([0x68, 0x76, 0x63, 0x31], o + 1); // 'hvc1'
    writeSi24(out, o + 5, ctsMs);
  } else {
    out[o] = ((key ? 1 : 2) << 4) | 7;
    out[o + 1] = 0x01; // AVC NALU
    writeSi24(out, o + 2, ctsMs);
  }
  return out;
}

/** A video command frame (FrameType 5) at `timestampMs`, PreviousTagSize included. */
export function flvVideoCommand(
  command: (typeof VideoCommand)[keyof typeof VideoCommand],
  timestampMs: number,
): Uint8Array {
  return encodeFlvTag({
    type: FlvTagType.Video,
    timestampMs,
    data: new Uint8Array([0x57, command]), // FrameType 5, CodecID 7 (AVC)
  });
}

/** The PreviousTagSize after a tag of `dataSize` body bytes. */
export function flvTagTrailer(dataSize: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, dataSize + FLV_TAG_HEADER_BYTES);
  return out;
}

function writeTagHeader(
  out: Uint8Array,
  type: number,
  size: number,
  timestampMs: number,
): void {
  const ts = Math.max(0, Math.round(timestampMs)) % 0x1_0000_0000;
  out[0] = type;
  out[1] = (size >>> 16) & 0xff;
  out[2] = (size >>> 8) & 0xff;
  out[3] = size & 0xff;
  out[4] = (ts >>> 16) & 0xff;
  out[5] = (ts >>> 8) & 0xff;
  out[6] = ts & 0xff;
  out[7] = (ts >>> 24) & 0xff;
}

function writeSi24(out: Uint8Array, o: number, v: number): void {
  const u = v < 0 ? v + 0x1000000 : v;
  out[o] = (u >> 16) & 0xff;
  out[o + 1] = (u >> 8) & 0xff;
  out[o + 2] = u & 0xff;
}
