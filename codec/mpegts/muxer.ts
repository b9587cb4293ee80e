/**
 * MPEG-TS muxer for one program with one H.264 video PID and one audio PID, as HLS needs
 * (ISO/IEC 13818-1 §2.4; RFC 8216 §3.2).
 *
 * @module
 */

import {
  PesStreamId,
  TS_CLOCK_HZ,
  TS_HEADER_BYTES,
  TS_PACKET_BYTES,
  TS_PAYLOAD_BYTES,
  TS_SYNC_BYTE,
  TS_TIMESTAMP_MODULUS,
  TsPid,
} from "./constants.ts";
import { encodePesHeader } from "./pes.ts";
import {
  encodePatSection,
  encodePmtSection,
  type PmtStream,
  PSI_VERSION_MODULUS,
  psiPacket,
} from "./psi.ts";

/**
 * How far PTS/DTS run ahead of the PCR, in 90 kHz ticks (700 ms, as nginx-rtmp and ffmpeg
 * use). The PCR is the frame's DTS; adding this delay to PTS/DTS gives the decoder model
 * (T-STD, §2.4.2) time to buffer each access unit before it is due.
 */
export const PCR_DELAY_TICKS = 63_000;
/** transport_stream_id and program_number we write (ffmpeg's defaults). */
const TRANSPORT_STREAM_ID = 1;
const PROGRAM_NUMBER = 1;
/** Adaptation field flag bits (§2.4.3.4). */
const AF_RANDOM_ACCESS = 0x40;
const AF_PCR = 0x10;
/** adaptation_field_length byte + flags byte. */
const AF_MIN_BYTES = 2;
const PCR_BYTES = 6;

/** The elementary streams of the program; each stream_type is a {@link StreamType} value. */
export interface TsTracks {
  /** Video stream type (0x1B H.264), or `undefined` for audio-only. */
  readonly videoStreamType?: number | undefined;
  /** Audio stream type (0x0F ADTS AAC, 0x03/0x04 MPEG audio), or `undefined`. */
  readonly audioStreamType?: number | undefined;
}

/** One video access unit. */
export interface TsVideoFrame {
  /** Decoding time in 90 kHz ticks (before {@link PCR_DELAY_TICKS} is added). */
  readonly dtsTicks: number;
  /** Presentation time in 90 kHz ticks. */
  readonly ptsTicks: number;
  /** An IDR access unit: sets random_access_indicator. */
  readonly keyframe: boolean;
  /** The Annex B access unit (AUD first). */
  readonly data: Uint8Array;
}

/** One audio PES payload (one or more ADTS or MPEG audio frames). */
export interface TsAudioFrame {
  /** Presentation time of the first frame, 90 kHz ticks. */
  readonly ptsTicks: number;
  readonly data: Uint8Array;
}

/**
 * Converts milliseconds to 90 kHz ticks.
 *
 * @param ms Milliseconds (may be fractional).
 * @returns Whole ticks.
 *
 * @example
 * ```ts
 * import { msToTicks } from "./muxer.ts";
 * import assert from "node:assert/strict";
 * assert.equal(msToTicks(40), 3600);
 * ```
 */
export function msToTicks(ms: number): number {
  return Math.round(ms * (TS_CLOCK_HZ / 1000));
}

/**
 * Writes transport packets. One instance lives as long as the stream, across segments, so
 * that continuity counters continue from one segment to the next (§2.4.3.3); call
 * {@link TsMuxer.writePsi} at every segment start so each segment decodes on its own.
 *
 * Each `write*` returns whole 188-byte packets in one new buffer. The PCR is carried in the
 * first packet of every PES on the PCR PID: the video PID, or the audio PID when there is no
 * video.
 *
 * @example
 * ```ts
 * import { StreamType, TsMuxer } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const mux = new TsMuxer({ videoStreamType: StreamType.H264, audioStreamType: StreamType.AacAdts });
 * const psi = mux.writePsi();
 * const video = mux.writeVideo({ dtsTicks: 0, ptsTicks: 0, keyframe: true, data: new Uint8Array(300) });
 * assert.equal(psi.byteLength, 2 * 188);
 * assert.equal(video.byteLength % 188, 0);
 * ```
 */
export class TsMuxer {
  #tracks: TsTracks;
  #pmtVersion = 0;
  readonly #cc = new Map<number, number>();

  /** @param tracks The initial program layout. */
  constructor(tracks: TsTracks) {
    this.#tracks = { ...tracks };
  }

  /** The current program layout. */
  get tracks(): TsTracks {
    return this.#tracks;
  }

  /** The PID that carries the PCR. */
  get pcrPid(): number {
    return this.#tracks.videoStreamType !== undefined
      ? TsPid.Video
      : TsPid.Audio;
  }

  /**
   * Changes the program layout; the next PMT gets a new version_number if it differs.
   *
   * @param tracks The new layout.
   */
  setTracks(tracks: TsTracks): void {
    if (
      tracks.videoStreamType === this.#tracks.videoStreamType &&
      tracks.audioStreamType === this.#tracks.audioStreamType
    ) return;
    this.#tracks = { ...tracks };
    this.#pmtVersion = (this.#pmtVersion + 1) % PSI_VERSION_MODULUS;
  }

  /**
   * Writes a PAT and a PMT packet: call at the start of every segment.
   *
   * @returns Two packets.
   */
  writePsi(): Uint8Array {
    const streams: PmtStream[] = [];
    if (this.#tracks.videoStreamType !== undefined) {
      streams.push({
        streamType: this.#tracks.videoStreamType,
        pid: TsPid.Video,
      });
    }
    if (this.#tracks.audioStreamType !== undefined) {
      streams.push({
        streamType: this.#tracks.audioStreamType,
        pid: TsPid.Audio,
      });
    }
    const pat = encodePatSection({
      transportStreamId: TRANSPORT_STREAM_ID,
      version: 0,
      programs: [{ programNumber: PROGRAM_NUMBER, pmtPid: TsPid.Pmt }],
    });
    const pmt = encodePmtSection({
      programNumber: PROGRAM_NUMBER,
      version: this.#pmtVersion,
      pcrPid: this.pcrPid,
      streams,
    });
    const out = new Uint8Array(2 * TS_PACKET_BYTES);
    out.set(psiPacket(TsPid.Pat, pat, this.#nextCc(TsPid.Pat)), 0);
    out.set(
      psiPacket(TsPid.Pmt, pmt, this.#nextCc(TsPid.Pmt)),
      TS_PACKET_BYTES,
    );
    return out;
  }

  /**
   * Writes one video access unit as a PES on PID 0x100.
   *
   * @param frame DTS/PTS in 90 kHz ticks, keyframe flag, Annex B data.
   * @returns Whole packets.
   */
  writeVideo(frame: TsVideoFrame): Uint8Array {
    const header = encodePesHeader(
      {
        streamId: PesStreamId.Video,
        ptsTicks: frame.ptsTicks + PCR_DELAY_TICKS,
        dtsTicks: frame.dtsTicks + PCR_DELAY_TICKS,
      },
      frame.data.byteLength,
    );
    return this.#packetize(
      TsPid.Video,
      header,
      frame.data,
      this.pcrPid === TsPid.Video ? frame.dtsTicks : undefined,
      frame.keyframe,
    );
  }

  /**
   * Writes one audio PES on PID 0x101.
   *
   * @param frame PTS in 90 kHz ticks and the ADTS/MPEG audio frames.
   * @returns Whole packets.
   * @throws {TsFormatError} `TS_BAD_VALUE` if the PES exceeds 65535 bytes.
   */
  writeAudio(frame: TsAudioFrame): Uint8Array {
    const header = encodePesHeader(
      {
        streamId: PesStreamId.Audio,
        ptsTicks: frame.ptsTicks + PCR_DELAY_TICKS,
      },
      frame.data.byteLength,
    );
    const carriesPcr = this.pcrPid === TsPid.Audio;
    return this.#packetize(
      TsPid.Audio,
      header,
      frame.data,
      carriesPcr ? frame.ptsTicks : undefined,
      // Every AAC/MP3 frame is a random access point; flag it where the PCR is.
      carriesPcr,
    );
  }

  #nextCc(pid: number): number {
    const cc = this.#cc.get(pid) ?? 0;
    this.#cc.set(pid, (cc + 1) & 0x0f);
    return cc;
  }

  /** Splits header + payload into packets; the first gets PCR/random access if asked. */
  #packetize(
    pid: number,
    header: Uint8Array,
    payload: Uint8Array,
    pcrTicks: number | undefined,
    randomAccess: boolean,
  ): Uint8Array {
    const total = header.byteLength + payload.byteLength;
    const flags = (randomAccess ? AF_RANDOM_ACCESS : 0) |
      (pcrTicks !== undefined ? AF_PCR : 0);
    const firstAf = flags
      ? AF_MIN_BYTES + (pcrTicks !== undefined ? PCR_BYTES : 0)
      : 0;
    const firstCap = TS_PAYLOAD_BYTES - firstAf;
    const count = total <= firstCap
      ? 1
      : 1 + Math.ceil((total - firstCap) / TS_PAYLOAD_BYTES);
    const out = new Uint8Array(count * TS_PACKET_BYTES);
    let consumed = 0; // bytes of header + payload written so far
    for (let k = 0; k < count; k++) {
      const p = k * TS_PACKET_BYTES;
      const afRequired = k === 0 ? firstAf : 0;
      const chunk = Math.min(total - consumed, TS_PAYLOAD_BYTES - afRequired);
      const afBytes = TS_PAYLOAD_BYTES - chunk; // adaptation field incl. its length byte
      out[p] = TS_SYNC_BYTE;
      out[p + 1] = (k === 0 ? 0x40 : 0) | (pid >> 8); // payload_unit_start_indicator
      out[p + 2] = pid & 0xff;
      // adaptation_field_control: '11' with adaptation field, '01' payload only.
      out[p + 3] = (afBytes > 0 ? 0x30 : 0x10) | this.#nextCc(pid);
      let o = p + TS_HEADER_BYTES;
      if (afBytes > 0) {
        out[o] = afBytes - 1; // adaptation_field_length
        if (afBytes >= AF_MIN_BYTES) {
          const f = k === 0 ? flags : 0;
          out[o + 1] = f;
          let s = o + 2;
          if (k === 0 && pcrTicks !== undefined) {
            writePcr(out, s, pcrTicks);
            s += PCR_BYTES;
          }
          out.fill(0xff, s, o + afBytes); // stuffing_byte (§2.4.3.5)
        }
        o += afBytes;
      }
      // Copy `chunk` bytes from the virtual concatenation header + payload.
      const end = consumed + chunk;
      if (consumed < header.byteLength) {
        const n = Math.min(header.byteLength, end) - consumed;
        out.set(header.subarray(consumed, consumed + n), o);
        o += n;
        consumed += n;
      }
      if (consumed < end) {
        const from = consumed - header.byteLength;
        out.set(payload.subarray(from, from + (end - consumed)), o);
        consumed = end;
      }
    }
    return out;
  }
}

/** program_clock_reference: 33-bit base (90 kHz), 6 reserved bits, 9-bit extension (§2.4.3.5). */
function writePcr(out: Uint8Array, o: number, ticks: number): void {
  const base = ((ticks % TS_TIMESTAMP_MODULUS) + TS_TIMESTAMP_MODULUS) %
    TS_TIMESTAMP_MODULUS;
  const high = Math.floor(base / 2); // bits 32..1
  out[o] = (high >>> 24) & 0xff;
  out[o + 1] = (high >>> 16) & 0xff;
  out[o + 2] = (high >>> 8) & 0xff;
  out[o + 3] = high & 0xff;
  out[o + 4] = ((base % 2) << 7) | 0x7e; // base bit 0, reserved '111111', extension bit 8 = 0
  out[o + 5] = 0; // extension bits 7..0
}
