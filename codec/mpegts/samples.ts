/**
 * Samples out of our own HLS segments: each MPEG-TS segment the live packager wrote (and the
 * DVR kept) back into H.264 access units (AVCC, as MP4 and FLV carry them) and raw AAC frames,
 * on the publisher's millisecond timeline. This is how clips and time-shift FLV are cut from
 * the DVR without re-encoding. Pure: bytes in, samples out.
 *
 * Timestamps: the packager writes `ms × 90 + PCR_DELAY_TICKS` (mod 2^33), and says which ms
 * the segment starts at; reading back anchors the 90 kHz clock there, so a 33-bit wrap (every
 * 26.5 hours of stream) is undone and the publisher's own timestamps come back exactly.
 *
 * @module
 */

import {
  decodeAdtsHeader,
  encodeAudioSpecificConfig,
  SAMPLING_FREQUENCIES_HZ,
} from "../aac/mod.ts";
import { encodeAvcDecoderConfig } from "../h264/avc_config.ts";
import { NaluType, naluType, splitAnnexB } from "../h264/nalu.ts";
import { parseSps } from "../h264/sps.ts";
import { TS_TIMESTAMP_MODULUS, TsPid } from "./constants.ts";
import { TsDemuxer } from "./demuxer.ts";
import { msToTicks, PCR_DELAY_TICKS } from "./muxer.ts";

/** One sample read back. */
export interface TsSample {
  readonly kind: "video" | "audio";
  /** Decoding time, the publisher's ms (fractional: 90 kHz precision). */
  readonly dtsMs: number;
  /** Presentation time, ms. */
  readonly ptsMs: number;
  readonly sync: boolean;
  /** AVCC with 4-byte lengths (no AUD, SPS or PPS: they are in the config), or raw AAC. */
  readonly data: Uint8Array;
}

/** The codec configurations found so far. */
export interface TsSampleConfig {
  readonly video?: {
    readonly codec: "h264";
    /** AVCDecoderConfigurationRecord. */
    readonly config: Uint8Array;
    readonly width: number | undefined;
    readonly height: number | undefined;
  } | undefined;
  readonly audio?: {
    readonly codec: "aac";
    /** AudioSpecificConfig. */
    readonly config: Uint8Array;
    readonly sampleRate: number;
    readonly channels: number;
  } | undefined;
}

/** AAC frames have 1024 samples (ISO/IEC 14496-3 §4.5.1, frameLengthFlag 0). */
const AAC_FRAME_SAMPLES = 1024;
const HALF_MODULUS = TS_TIMESTAMP_MODULUS / 2;

function avccOf(nalus: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const n of nalus) size += 4 + n.byteLength;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let o = 0;
  for (const n of nalus) {
    v.setUint32(o, n.byteLength);
    out.set(n, o + 4);
    o += 4 + n.byteLength;
  }
  return out;
}

/** Profiles whose AVCDecoderConfigurationRecord carries the chroma/bit-depth extension. */
const HIGH_PROFILES = new Set([100, 110, 122, 144]);

/**
 * Reads segments one after the other.
 *
 * @example
 * ```ts
 * import { TsSampleReader } from "./samples.ts";
 * import { StreamType, TsMuxer, msToTicks } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const mux = new TsMuxer({ audioStreamType: StreamType.AacAdts });
 * const adts = new Uint8Array([0xff, 0xf1, 0x50, 0x80, 0x01, 0x5f, 0xfc, 0x21, 0x10, 0x05]); // a 10-byte frame
 * const seg = new Uint8Array([...mux.writePsi(), ...mux.writeAudio({ ptsTicks: msToTicks(5000), data: adts })]);
 * const r = new TsSampleReader();
 * const samples = r.read(seg, 5000);
 * assert.equal(samples.length, 1);
 * assert.equal(samples[0]!.ptsMs, 5000);
 * assert.equal(r.config.audio?.sampleRate, 44100);
 * ```
 */
export class TsSampleReader {
  #config: TsSampleConfig = {};
  /** Streams found that are not read back (MP3 audio, other video). */
  readonly unsupported = new Set<string>();

  /** The configurations found so far (the first SPS/PPS and ADTS header). */
  get config(): TsSampleConfig {
    return this.#config;
  }

  /**
   * The samples of one segment, in the order the segment holds them (per track, decode order).
   *
   * @param mediaStartMs The publisher's ms the segment starts at (the DVR index says).
   * @throws {TsFormatError} When the bytes are not valid MPEG-TS.
   */
  read(segment: Uint8Array, mediaStartMs: number): TsSample[] {
    const demuxed = new TsDemuxer().demux(segment, { packets: false });
    const types = new Map(
      (demuxed.pmt?.streams ?? []).map((s) => [s.pid, s.streamType]),
    );
    const anchor = (msToTicks(mediaStartMs) + PCR_DELAY_TICKS) %
      TS_TIMESTAMP_MODULUS;
    const toMs = (ticks: number) => {
      let d = (ticks - anchor) % TS_TIMESTAMP_MODULUS;
      if (d >= HALF_MODULUS) d -= TS_TIMESTAMP_MODULUS;
      if (d < -HALF_MODULUS) d += TS_TIMESTAMP_MODULUS;
      return mediaStartMs + d / 90;
    };
    const out: TsSample[] = [];
    for (const pes of demuxed.pes) {
      const type = types.get(pes.pid);
      if (pes.pid === TsPid.Video) {
        if (type !== 0x1b) {
          this.unsupported.add(
            `video stream type 0x${(type ?? 0).toString(16)}`,
          );
          continue;
        }
        const sample = this.#video(
          pes.data,
          toMs(pes.dtsTicks),
          toMs(pes.ptsTicks),
        );
        if (sample) out.push(sample);
      } else if (pes.pid === TsPid.Audio) {
        if (type !== 0x0f) {
          this.unsupported.add(
            `audio stream type 0x${(type ?? 0).toString(16)}`,
          );
          continue;
        }
        out.push(...this.#audio(pes.data, toMs(pes.ptsTicks)));
      }
    }
    return out;
  }

  #video(au: Uint8Array, dtsMs: number, ptsMs: number): TsSample | undefined {
    const nalus = splitAnnexB(au);
    const keep: Uint8Array[] = [];
    let sps: Uint8Array | undefined;
    let pps: Uint8Array | undefined;
    let idr = false;
    for (const n of nalus) {
      const t = naluType(n);
      if (t === NaluType.Sps) sps ??= n;
      else if (t === NaluType.Pps) pps ??= n;
      else if (t === NaluType.Aud) continue;
      else {
        if (t === NaluType.Idr) idr = true;
        keep.push(n);
      }
    }
    if (!this.#config.video && sps && pps && sps.byteLength >= 4) {
      let width: number | undefined;
      let height: number | undefined;
      try {
        ({ width, height } = parseSps(sps));
      } catch {
        // the record still describes it; players read the SPS themselves
      }
      const profile = sps[1]!;
      this.#config = {
        ...this.#config,
        video: {
          codec: "h264",
          config: encodeAvcDecoderConfig({
            profileIndication: profile,
            profileCompatibility: sps[2]!,
            levelIndication: sps[3]!,
            naluLengthSize: 4,
            sps: [sps.slice()],
            pps: [pps.slice()],
            // ISO/IEC 14496-15 §5.3.3.1: High profiles add chroma format and bit depths
            // (4:2:0, 8 bits: what live H.264 is), and no SPS extensions.
            extension: HIGH_PROFILES.has(profile)
              ? new Uint8Array([0xfd, 0xf8, 0xf8, 0])
              : new Uint8Array(0),
          }),
          width,
          height,
        },
      };
    }
    if (keep.length === 0) return undefined;
    return {
      kind: "video",
      dtsMs,
      ptsMs,
      sync: idr,
      data: avccOf(keep),
    };
  }

  #audio(data: Uint8Array, ptsMs: number): TsSample[] {
    const out: TsSample[] = [];
    let o = 0;
    let n = 0;
    while (o + 7 <= data.byteLength) {
      const h = decodeAdtsHeader(data.subarray(o));
      if (!h || o + h.frameBytes > data.byteLength) break;
      const rate = SAMPLING_FREQUENCIES_HZ[h.samplingFrequencyIndex] ?? 44100;
      if (!this.#config.audio) {
        this.#config = {
          ...this.#config,
          audio: {
            codec: "aac",
            config: encodeAudioSpecificConfig(h),
            sampleRate: rate,
            channels: h.channelConfiguration || 2,
          },
        };
      }
      const t = ptsMs + (n * AAC_FRAME_SAMPLES * 1000) / rate;
      out.push({
        kind: "audio",
        dtsMs: t,
        ptsMs: t,
        sync: true,
        data: data.slice(o + h.headerBytes, o + h.frameBytes),
      });
      o += h.frameBytes;
      n++;
    }
    return out;
  }
}
