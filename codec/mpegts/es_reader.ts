/**
 * MPEG-TS PES packets to elementary frames on a millisecond clock, for ingest: H.264 and H.265
 * access units (Annex B split into NALUs), AAC from ADTS (each frame of a PES timed by its
 * sample count), MPEG audio passed whole; other stream types (Opus, AC-3, ID3, SCTE-35) are
 * named once as not carried.
 *
 * Timestamps: PTS/DTS are 33-bit 90 kHz counters (§2.4.3.7) that wrap every 26.5 hours; each is
 * unwrapped against the last one seen and counted from the stream's first timestamp, so the
 * hub's clock starts near 0 and never jumps back at a wrap.
 *
 * @module
 */

import { decodeAdtsHeader } from "../aac/adts.ts";
import { AAC_SAMPLES_PER_FRAME } from "../aac/audio_specific_config.ts";
import { SAMPLING_FREQUENCIES_HZ } from "../aac/audio_specific_config.ts";
import {
  ascFromAdts,
  type EsAudioFrame,
  type EsVideoFrame,
} from "../flv/es_muxer.ts";
import { StreamType, TS_CLOCK_HZ, TS_TIMESTAMP_MODULUS } from "./constants.ts";
import type { TsStreamPes } from "./stream_demuxer.ts";

/** What one PES gave. */
export type TsEsEvent =
  | { readonly kind: "video"; readonly frame: EsVideoFrame }
  | { readonly kind: "audio"; readonly frame: EsAudioFrame }
  | { readonly kind: "aac-config"; readonly asc: Uint8Array }
  | { readonly kind: "skipped"; readonly streamType: number };

/** stream_type of MPEG-1/2 audio (§2.4.4.9). */
const MPEG_AUDIO_TYPES: ReadonlySet<number> = new Set([
  StreamType.Mpeg1Audio,
  StreamType.Mpeg2Audio,
]);

/**
 * Unwraps a counter of `modulus` into a monotonic-ish extended value: a step within half the
 * range is taken as forward or backward from the last value, so a wrap continues it.
 *
 * @example
 * ```ts
 * import { Unwrapper } from "./es_reader.ts";
 * import assert from "node:assert/strict";
 * const u = new Unwrapper(2 ** 33);
 * assert.equal(u.unwrap(2 ** 33 - 10), 2 ** 33 - 10);
 * assert.equal(u.unwrap(5), 2 ** 33 + 5); // wrapped forward
 * ```
 */
export class Unwrapper {
  #last: number | undefined;
  constructor(readonly modulus: number) {}
  unwrap(value: number): number {
    if (this.#last === undefined) {
      this.#last = value;
      return value;
    }
    const m = this.modulus;
    const lastMod = ((this.#last % m) + m) % m;
    let delta = value - lastMod;
    if (delta > m / 2) delta -= m;
    else if (delta < -m / 2) delta += m;
    this.#last += delta;
    return this.#last;
  }
}

/** Splits an Annex B byte stream at its start codes (3 or 4 bytes) into NALUs. */
export function splitAnnexB(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = -1;
  let i = 0;
  const n = data.byteLength;
  while (i + 2 < n) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      if (start >= 0) {
        let end = i;
        if (end > start && data[end - 1] === 0) end--; // the zero_byte of a 4-byte code
        if (end > start) out.push(data.subarray(start, end));
      }
      i += 3;
      start = i;
    } else i++;
  }
  if (start >= 0 && start < n) out.push(data.subarray(start));
  else if (start < 0 && n > 0) out.push(data); // no start code: one NALU
  return out;
}

/**
 * @example
 * ```ts
 * import { TsElementaryReader } from "./es_reader.ts";
 * import assert from "node:assert/strict";
 * const r = new TsElementaryReader();
 * const [e] = r.read({ pid: 256, streamType: 0x1b, ptsTicks: 93600, dtsTicks: 90000, randomAccess: true,
 *   data: new Uint8Array([0, 0, 0, 1, 0x65, 0x88]) });
 * assert.ok(e?.kind === "video");
 * assert.deepEqual([e.frame.dtsMs, e.frame.ptsMs, e.frame.nalus.length], [0, 40, 1]);
 * ```
 */
export class TsElementaryReader {
  readonly #clock = new Unwrapper(TS_TIMESTAMP_MODULUS);
  #base: number | undefined;
  #asc: Uint8Array | undefined;
  readonly #skipped = new Set<number>();

  #ms(ticks: number): number {
    const ext = this.#clock.unwrap(ticks);
    this.#base ??= ext;
    return ((ext - this.#base) * 1000) / TS_CLOCK_HZ;
  }

  /** One PES packet. Damaged ADTS in an AAC PES ends that PES's frames (the rest is lost). */
  read(pes: TsStreamPes): TsEsEvent[] {
    switch (pes.streamType) {
      case StreamType.H264:
      case StreamType.H265: {
        const nalus = splitAnnexB(pes.data);
        if (nalus.length === 0) return [];
        // Order matters for the unwrapper: DTS first (decode order), PTS from it.
        const dtsMs = this.#ms(pes.dtsTicks);
        const ptsMs = dtsMs +
          (((pes.ptsTicks - pes.dtsTicks + TS_TIMESTAMP_MODULUS) %
              TS_TIMESTAMP_MODULUS) * 1000) / TS_CLOCK_HZ;
        return [{
          kind: "video",
          frame: {
            codec: pes.streamType === StreamType.H264 ? "avc" : "hevc",
            nalus,
            dtsMs,
            ptsMs,
          },
        }];
      }
      case StreamType.AacAdts:
        return this.#adts(pes);
      default:
        if (MPEG_AUDIO_TYPES.has(pes.streamType)) {
          return [{
            kind: "audio",
            frame: {
              codec: "mp3",
              data: pes.data,
              ptsMs: this.#ms(pes.ptsTicks),
            },
          }];
        }
        if (this.#skipped.has(pes.streamType)) return [];
        this.#skipped.add(pes.streamType);
        return [{ kind: "skipped", streamType: pes.streamType }];
    }
  }

  #adts(pes: TsStreamPes): TsEsEvent[] {
    const out: TsEsEvent[] = [];
    const startMs = this.#ms(pes.ptsTicks);
    let o = 0;
    let frames = 0;
    const d = pes.data;
    while (o < d.byteLength) {
      let h;
      try {
        h = decodeAdtsHeader(d.subarray(o));
      } catch {
        break;
      }
      if (!h || o + h.frameBytes > d.byteLength) break;
      const asc = ascFromAdts(h);
      if (!this.#asc || this.#asc[0] !== asc[0] || this.#asc[1] !== asc[1]) {
        this.#asc = asc;
        out.push({ kind: "aac-config", asc });
      }
      const rate = SAMPLING_FREQUENCIES_HZ[h.samplingFrequencyIndex] ?? 44100;
      out.push({
        kind: "audio",
        frame: {
          codec: "aac",
          data: d.subarray(o + h.headerBytes, o + h.frameBytes),
          ptsMs: startMs + (frames * AAC_SAMPLES_PER_FRAME * 1000) / rate,
        },
      });
      frames++;
      o += h.frameBytes;
    }
    return out;
  }
}
