/**
 * Elementary streams to FLV tags: what an ingest that does not speak FLV (SRT's MPEG-TS,
 * RTSP's RTP) hands the hub. H.264 becomes legacy AVC tags (FLV spec v10.1 §E.4.3.1), H.265
 * Enhanced RTMP `hvc1` tags, AAC the AAC tags of §E.4.2, MP3 and G.711 their SoundFormats;
 * sequence headers come from the parameter sets in the stream (or given out of band, as SDP's
 * `sprop-*` do) and are sent again only when they change; frames before a decoder
 * configuration are dropped (no one could decode them).
 *
 * Pure: frames in, tags out, no clock.
 *
 * @module
 */

import { encodeAmf0 } from "../amf0/encode.ts";
import { Amf0EcmaArray } from "../amf0/types.ts";
import { concatBytes } from "../bytes/concat.ts";
import {
  decodeAudioSpecificConfig,
  SAMPLING_FREQUENCIES_HZ,
} from "../aac/audio_specific_config.ts";
import { encodeAvcDecoderConfig } from "../h264/avc_config.ts";
import { NaluType, naluType } from "../h264/nalu.ts";
import { parseSps } from "../h264/sps.ts";
import { buildHevcDecoderConfig } from "../h265/hvcc.ts";
import { HevcNaluType, hevcNaluType, isHevcIrap } from "../h265/nalu.ts";
import { parseHevcSps } from "../h265/sps.ts";
import { type FlvTag, FlvTagType } from "./types.ts";

/** Video codecs an ingest can hand over. */
export type EsVideoCodec = "avc" | "hevc";
/** Audio codecs an ingest can hand over. */
export type EsAudioCodec = "aac" | "mp3" | "g711a" | "g711u";

/** One video access unit, NALUs without start codes or lengths, times on the hub's clock. */
export interface EsVideoFrame {
  readonly codec: EsVideoCodec;
  readonly nalus: readonly Uint8Array[];
  readonly dtsMs: number;
  readonly ptsMs: number;
}

/** One audio frame: raw AAC (no ADTS), an MP3 frame, or G.711 samples. */
export interface EsAudioFrame {
  readonly codec: EsAudioCodec;
  readonly data: Uint8Array;
  readonly ptsMs: number;
}

/** Parameter sets given out of band (SDP `sprop-parameter-sets`, `sprop-vps/sps/pps`). */
export interface EsParameterSets {
  readonly vps?: readonly Uint8Array[];
  readonly sps: readonly Uint8Array[];
  readonly pps: readonly Uint8Array[];
}

/** `hvc1` FourCC of Enhanced RTMP. */
const HVC1 = [0x68, 0x76, 0x63, 0x31] as const;
/** FLV SoundFormat bytes: format << 4 | rate << 2 | 16-bit << 1 | stereo (§E.4.2.1). */
const SOUND_AAC = 0xaf;
const SOUND_G711A = 0x72;
const SOUND_G711U = 0x82;
/** onMetaData codec ids (§E.5): AVC 7, HEVC's de-facto 12; AAC 10, MP3 2, G.711 7/8. */
const META_VIDEO_ID: Record<EsVideoCodec, number> = { avc: 7, hevc: 12 };
const META_AUDIO_ID: Record<EsAudioCodec, number> = {
  aac: 10,
  mp3: 2,
  g711a: 7,
  g711u: 8,
};

function writeSi24(out: Uint8Array, o: number, v: number): void {
  const u = v < 0 ? v + 0x1000000 : v;
  out[o] = (u >> 16) & 0xff;
  out[o + 1] = (u >> 8) & 0xff;
  out[o + 2] = u & 0xff;
}

/** NALUs as AVCC with 4-byte lengths, after a codec header of `headBytes`. */
function avcc(head: Uint8Array, nalus: readonly Uint8Array[]): Uint8Array {
  let size = head.byteLength;
  for (const n of nalus) size += 4 + n.byteLength;
  const out = new Uint8Array(size);
  out.set(head, 0);
  let o = head.byteLength;
  for (const n of nalus) {
    new DataView(out.buffer).setUint32(o, n.byteLength);
    out.set(n, o + 4);
    o += 4 + n.byteLength;
  }
  return out;
}

function sameSets(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  return a.length === b.length &&
    a.every((x, i) =>
      x.byteLength === b[i]!.byteLength && x.every((v, j) => v === b[i]![j])
    );
}

/** A whole-millisecond FLV timestamp: FLV cannot say negative or fractional times. */
function flvMs(ms: number): number {
  return Math.max(0, Math.round(ms));
}

/** Options of {@link ElementaryToFlv}. */
export interface ElementaryToFlvOptions {
  /** `encoder` of the `onMetaData` the stream gets (listings show it). */
  readonly encoder: string;
  /**
   * True when the stream has (or will have) video: `onMetaData` then waits for the video's
   * configuration so it can name its size. @default true
   */
  readonly expectVideo?: boolean;
}

/**
 * Turns elementary frames into FLV tags for the hub.
 *
 * @example
 * ```ts
 * import { ElementaryToFlv } from "./es_muxer.ts";
 * import assert from "node:assert/strict";
 * const mux = new ElementaryToFlv({ encoder: "test", expectVideo: false });
 * mux.setAacConfig(new Uint8Array([0x12, 0x10])); // AAC LC, 44.1 kHz, stereo
 * const tags = mux.pushAudio({ codec: "aac", data: new Uint8Array([0x21, 0x00]), ptsMs: 23 });
 * // onMetaData, the AAC sequence header, then the frame.
 * assert.deepEqual(tags.map((t) => [t.type, t.timestampMs]), [[18, 0], [8, 23], [8, 23]]);
 * assert.deepEqual([...tags[2]!.data], [0xaf, 1, 0x21, 0x00]);
 * ```
 */
export class ElementaryToFlv {
  readonly #o: ElementaryToFlvOptions;
  #vps: Uint8Array[] = [];
  #sps: Uint8Array[] = [];
  #pps: Uint8Array[] = [];
  /** The parameter sets of the sequence header sent last. */
  #sent:
    | { vps: Uint8Array[]; sps: Uint8Array[]; pps: Uint8Array[] }
    | undefined;
  #videoCodec: EsVideoCodec | undefined;
  #picture: { width: number; height: number } | undefined;
  #asc: Uint8Array | undefined;
  #ascSent: Uint8Array | undefined;
  #audioCodec: EsAudioCodec | undefined;
  #audio: { rateHz: number; channels: number } | undefined;
  #metaSent = false;

  constructor(options: ElementaryToFlvOptions) {
    this.#o = options;
  }

  /** The video codec seen, if any. */
  get videoCodec(): EsVideoCodec | undefined {
    return this.#videoCodec;
  }

  /** The picture size read from the SPS, once known. */
  get picture():
    | { readonly width: number; readonly height: number }
    | undefined {
    return this.#picture;
  }

  /** Parameter sets known before any frame (SDP); in-band ones replace them. */
  setParameterSets(codec: EsVideoCodec, sets: EsParameterSets): void {
    this.#videoCodec ??= codec;
    if (sets.vps?.length) this.#vps = [...sets.vps];
    if (sets.sps.length) this.#sps = [...sets.sps];
    if (sets.pps.length) this.#pps = [...sets.pps];
  }

  /** The AudioSpecificConfig of the AAC track (SDP `config=`, or built from ADTS). */
  setAacConfig(asc: Uint8Array): void {
    this.#asc = asc;
  }

  /**
   * One access unit. In-band VPS/SPS/PPS update the configuration; a sequence header goes out
   * before the first frame and whenever the sets change.
   *
   * @returns The tags to push, in order (none before the first configuration).
   * @throws {H264FormatError | H265FormatError} When an SPS cannot be parsed.
   */
  pushVideo(frame: EsVideoFrame): FlvTag[] {
    const hevc = frame.codec === "hevc";
    this.#videoCodec = frame.codec;
    const kept: Uint8Array[] = [];
    let keyframe = false;
    const vps: Uint8Array[] = [];
    const sps: Uint8Array[] = [];
    const pps: Uint8Array[] = [];
    for (const n of frame.nalus) {
      if (n.byteLength === 0) continue;
      const t = hevc ? hevcNaluType(n) : naluType(n);
      if (hevc) {
        if (t === HevcNaluType.Aud) continue;
        if (t === HevcNaluType.Vps) vps.push(n);
        else if (t === HevcNaluType.Sps) sps.push(n);
        else if (t === HevcNaluType.Pps) pps.push(n);
        else if (isHevcIrap(n)) keyframe = true;
      } else {
        if (t === NaluType.Aud) continue;
        if (t === NaluType.Sps) sps.push(n);
        else if (t === NaluType.Pps) pps.push(n);
        else if (t === NaluType.Idr) keyframe = true;
      }
      kept.push(n);
    }
    if (vps.length) this.#vps = vps;
    if (sps.length) this.#sps = sps;
    if (pps.length) this.#pps = pps;
    const out: FlvTag[] = [];
    const dts = flvMs(frame.dtsMs);
    const haveSets = this.#sps.length > 0 && this.#pps.length > 0 &&
      (!hevc || this.#vps.length > 0);
    if (haveSets && (!this.#sent || !this.#sameAsSent())) {
      const header = this.#sequenceHeader(hevc);
      this.#sent = { vps: this.#vps, sps: this.#sps, pps: this.#pps };
      this.#metadata(out, dts);
      out.push({ type: FlvTagType.Video, timestampMs: dts, data: header });
    }
    if (!this.#sent || kept.length === 0) return out;
    const cts = flvMs(frame.ptsMs) - dts;
    let head: Uint8Array;
    if (hevc) {
      head = new Uint8Array(8);
      head[0] = 0x80 | ((keyframe ? 1 : 2) << 4) | 1; // ExHeader, CodedFrames (SI24 follows)
      head.set(HVC1, 1);
      writeSi24(head, 5, cts);
    } else {
      head = new Uint8Array(5);
      head[0] = ((keyframe ? 1 : 2) << 4) | 7;
      head[1] = 1; // AVC NALU
      writeSi24(head, 2, cts);
    }
    out.push({
      type: FlvTagType.Video,
      timestampMs: dts,
      data: avcc(head, kept),
    });
    return out;
  }

  #sameAsSent(): boolean {
    const s = this.#sent!;
    return sameSets(s.sps, this.#sps) && sameSets(s.pps, this.#pps) &&
      sameSets(s.vps, this.#vps);
  }

  #sequenceHeader(hevc: boolean): Uint8Array {
    if (hevc) {
      const info = parseHevcSps(this.#sps[0]!);
      this.#picture = { width: info.width, height: info.height };
      const record = buildHevcDecoderConfig({
        vps: this.#vps,
        sps: this.#sps,
        pps: this.#pps,
      });
      return concatBytes([new Uint8Array([0x90, ...HVC1]), record]);
    }
    const sps = this.#sps[0]!;
    const info = parseSps(sps);
    this.#picture = { width: info.width, height: info.height };
    const record = encodeAvcDecoderConfig({
      profileIndication: sps[1]!,
      profileCompatibility: sps[2]!,
      levelIndication: sps[3]!,
      naluLengthSize: 4,
      sps: this.#sps,
      pps: this.#pps,
      extension: new Uint8Array(0),
    });
    return concatBytes([new Uint8Array([0x17, 0, 0, 0, 0]), record]);
  }

  /**
   * One audio frame. AAC needs its AudioSpecificConfig first ({@link setAacConfig}); its
   * sequence header goes out before the first frame and when the config changes.
   *
   * @returns The tags to push (none for AAC without a config).
   */
  pushAudio(frame: EsAudioFrame): FlvTag[] {
    const out: FlvTag[] = [];
    const ts = flvMs(frame.ptsMs);
    this.#audioCodec = frame.codec;
    switch (frame.codec) {
      case "aac": {
        const asc = this.#asc;
        if (!asc) return out;
        if (!this.#ascSent || !sameSets([this.#ascSent], [asc])) {
          const c = decodeAudioSpecificConfig(asc);
          this.#audio = {
            rateHz: c.sampleRateHz,
            channels: c.channelConfiguration,
          };
          this.#ascSent = asc;
          if (!this.#o.expectVideo && this.#o.expectVideo !== undefined) {
            this.#metadata(out, 0);
          }
          out.push({
            type: FlvTagType.Audio,
            timestampMs: ts,
            data: concatBytes([new Uint8Array([SOUND_AAC, 0]), asc]),
          });
        }
        out.push({
          type: FlvTagType.Audio,
          timestampMs: ts,
          data: concatBytes([new Uint8Array([SOUND_AAC, 1]), frame.data]),
        });
        return out;
      }
      case "mp3": {
        const info = mp3FrameInfo(frame.data);
        if (info) this.#audio = info;
        if (this.#o.expectVideo === false) this.#metadata(out, 0);
        // MP3 (2), 44 kHz rate bits, 16-bit, stereo flag (§E.4.2.1; decoders read the frame).
        const stereo = (this.#audio?.channels ?? 2) > 1 ? 1 : 0;
        out.push({
          type: FlvTagType.Audio,
          timestampMs: ts,
          data: concatBytes([new Uint8Array([0x2e | stereo]), frame.data]),
        });
        return out;
      }
      case "g711a":
      case "g711u":
        this.#audio = { rateHz: 8000, channels: 1 };
        if (this.#o.expectVideo === false) this.#metadata(out, 0);
        out.push({
          type: FlvTagType.Audio,
          timestampMs: ts,
          data: concatBytes([
            new Uint8Array([
              frame.codec === "g711a" ? SOUND_G711A : SOUND_G711U,
            ]),
            frame.data,
          ]),
        });
        return out;
    }
  }

  /** `onMetaData` once, at timestamp 0, before the first sequence header. */
  #metadata(out: FlvTag[], _ts: number): void {
    if (this.#metaSent) return;
    this.#metaSent = true;
    const meta: Record<string, number | boolean | string> = {};
    if (this.#videoCodec) {
      meta.videocodecid = META_VIDEO_ID[this.#videoCodec];
      if (this.#picture) {
        meta.width = this.#picture.width;
        meta.height = this.#picture.height;
      }
    }
    if (this.#audioCodec) {
      meta.audiocodecid = META_AUDIO_ID[this.#audioCodec];
      if (this.#audio) {
        meta.audiosamplerate = this.#audio.rateHz;
        meta.stereo = this.#audio.channels > 1;
      }
    }
    meta.encoder = this.#o.encoder;
    out.push({
      type: FlvTagType.Script,
      timestampMs: 0,
      data: encodeAmf0("onMetaData", new Amf0EcmaArray(meta)),
    });
  }
}

/** MPEG-1/2 Layer III bit rates are not needed: the sample rate and channels of a frame header. */
function mp3FrameInfo(
  b: Uint8Array,
): { rateHz: number; channels: number } | undefined {
  if (b.byteLength < 4 || b[0] !== 0xff || (b[1]! & 0xe0) !== 0xe0) {
    return undefined;
  }
  const version = (b[1]! >> 3) & 3; // 3 MPEG-1, 2 MPEG-2, 0 MPEG-2.5
  const rates = version === 3
    ? [44100, 48000, 32000]
    : version === 2
    ? [22050, 24000, 16000]
    : [11025, 12000, 8000];
  const rateHz = rates[(b[2]! >> 2) & 3];
  if (rateHz === undefined) return undefined;
  return { rateHz, channels: (b[3]! >> 6) === 3 ? 1 : 2 };
}

/**
 * The AudioSpecificConfig an ADTS header implies (ISO/IEC 14496-3 §1.6.2.1; ADTS profile is
 * object type - 1), for AAC over MPEG-TS where no config travels out of band.
 *
 * @example
 * ```ts
 * import { ascFromAdts } from "./es_muxer.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(ascFromAdts({ objectType: 2, samplingFrequencyIndex: 4, channelConfiguration: 2 }), new Uint8Array([0x12, 0x10]));
 * ```
 */
export function ascFromAdts(h: {
  readonly objectType: number;
  readonly samplingFrequencyIndex: number;
  readonly channelConfiguration: number;
}): Uint8Array {
  const sfi = Math.min(
    h.samplingFrequencyIndex,
    SAMPLING_FREQUENCIES_HZ.length - 1,
  );
  return new Uint8Array([
    (h.objectType << 3) | (sfi >> 1),
    ((sfi & 1) << 7) | ((h.channelConfiguration & 0x0f) << 3),
  ]);
}
