/**
 * Cutting MPEG-TS segments at keyframes without remuxing: where each video keyframe's PES
 * starts (a packet index and its presentation time), and a slice of whole packets from one
 * keyframe to another, headed by the segment's PAT and PMT so it decodes on its own. This is
 * how an HLS clip of the DVR reuses the kept segments: the middle ones as they are, the two
 * ends sliced. Pure: bytes in, bytes out.
 *
 * A cut lands on a packet where a video PES begins. Our muxer writes each PES's packets
 * together, so no other PES is split there; audio is batched (a few frames a PES), so an end
 * may gain or lose a few tens of milliseconds of audio, never video.
 *
 * @module
 */

import {
  TS_HEADER_BYTES,
  TS_PACKET_BYTES,
  TS_SYNC_BYTE,
  TsPid,
} from "./constants.ts";
import { TsErrorCode, TsFormatError } from "./errors.ts";
import { decodePesHeader } from "./pes.ts";
import { decodePat, decodePmt, decodePsiSection } from "./psi.ts";

/** A video keyframe's PES start. */
export interface TsKeyframe {
  /** Index of the packet its PES starts in. */
  readonly packet: number;
  /** Its presentation time, 90 kHz ticks (mod 2^33). */
  readonly ptsTicks: number;
  /** Its decoding time, 90 kHz ticks (mod 2^33; the PTS when the PES has none). */
  readonly dtsTicks: number;
}

/** What {@link scanTsKeyframes} learned of a segment. */
export interface TsCutMap {
  /** Packets in the segment. */
  readonly packets: number;
  /** Indexes of the PAT and PMT packets before the first media packet. */
  readonly psiPackets: readonly number[];
  /** The video PID (from the PMT), if any. */
  readonly videoPid: number | undefined;
  /** Keyframes in packet order. */
  readonly keyframes: readonly TsKeyframe[];
}

/** H.264 and HEVC stream_type values (ISO/IEC 13818-1 Table 2-34). */
const VIDEO_STREAM_TYPES = new Set([0x1b, 0x24]);

/** The payload of packet `p` (after its header and adaptation field), or undefined. */
function payloadOf(p: Uint8Array): Uint8Array | undefined {
  const afc = (p[3]! >> 4) & 0x03;
  if ((afc & 1) === 0) return undefined;
  let o = TS_HEADER_BYTES;
  if (afc & 2) o += 1 + p[4]!;
  return o < TS_PACKET_BYTES ? p.subarray(o) : undefined;
}

/**
 * Finds the PSI packets at a segment's start and every video keyframe (a PES start whose
 * packet has random_access_indicator set, as our muxer marks IDR access units).
 *
 * @throws {TsFormatError} `TS_BAD_SYNC` for a length that is not whole packets or a lost
 *   sync byte; `TS_BAD_PSI` / `TS_BAD_PES` for a table or PES header that cannot be read.
 */
export function scanTsKeyframes(bytes: Uint8Array): TsCutMap {
  if (bytes.byteLength % TS_PACKET_BYTES !== 0) {
    throw new TsFormatError(
      TsErrorCode.BadSync,
      `Cannot scan TS: length must be a multiple of ${TS_PACKET_BYTES}, got ${bytes.byteLength}`,
    );
  }
  const packets = bytes.byteLength / TS_PACKET_BYTES;
  const psiPackets: number[] = [];
  const keyframes: TsKeyframe[] = [];
  let pmtPid: number | undefined;
  let videoPid: number | undefined;
  let media = false;
  for (let i = 0; i < packets; i++) {
    const p = bytes.subarray(i * TS_PACKET_BYTES, (i + 1) * TS_PACKET_BYTES);
    if (p[0] !== TS_SYNC_BYTE) {
      throw new TsFormatError(
        TsErrorCode.BadSync,
        `Cannot scan TS: packet ${i} starts with 0x${
          p[0]!.toString(16)
        }, expected 0x47`,
      );
    }
    const pid = ((p[1]! & 0x1f) << 8) | p[2]!;
    const start = (p[1]! & 0x40) !== 0;
    if (pid === TsPid.Pat || pid === pmtPid) {
      if (!media) psiPackets.push(i);
      const payload = payloadOf(p);
      if (!start || !payload || payload.byteLength < 1) continue;
      // pointer_field, then the section (ours fit in one packet).
      const section = decodePsiSection(payload.subarray(1 + payload[0]!));
      if (pid === TsPid.Pat) {
        pmtPid = decodePat(section).programs.find((x) => x.programNumber !== 0)
          ?.pmtPid ?? pmtPid;
      } else {
        videoPid = decodePmt(section).streams.find((s) =>
          VIDEO_STREAM_TYPES.has(s.streamType)
        )?.pid;
      }
      continue;
    }
    if (pid === TsPid.Null) continue;
    media = true;
    if (pid !== videoPid || !start) continue;
    const afc = (p[3]! >> 4) & 0x03;
    const randomAccess = (afc & 2) !== 0 && p[4]! > 0 && (p[5]! & 0x40) !== 0;
    if (!randomAccess) continue;
    const payload = payloadOf(p);
    if (!payload) continue;
    const h = decodePesHeader(payload);
    keyframes.push({
      packet: i,
      ptsTicks: h.ptsTicks,
      dtsTicks: h.dtsTicks ?? h.ptsTicks,
    });
  }
  return { packets, psiPackets, videoPid, keyframes };
}

/**
 * Packets `[from, to)` of a segment, after its PAT and PMT when the slice does not start at
 * the segment's start (so it decodes on its own).
 */
export function sliceTs(
  bytes: Uint8Array,
  map: TsCutMap,
  from: number,
  to: number,
): Uint8Array {
  const a = Math.max(0, Math.min(from, map.packets));
  const b = Math.max(a, Math.min(to, map.packets));
  const head = a > 0 ? map.psiPackets.filter((i) => i < a) : [];
  const out = new Uint8Array((head.length + b - a) * TS_PACKET_BYTES);
  let o = 0;
  for (const i of head) {
    out.set(
      bytes.subarray(i * TS_PACKET_BYTES, (i + 1) * TS_PACKET_BYTES),
      o,
    );
    o += TS_PACKET_BYTES;
  }
  out.set(bytes.subarray(a * TS_PACKET_BYTES, b * TS_PACKET_BYTES), o);
  return out;
}
