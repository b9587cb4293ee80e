/**
 * H.264 over RTP (RFC 6184): access units from single NAL unit packets, STAP-A (§5.7.1) and
 * FU-A (§5.8), and back (single NAL units when they fit, FU-A when not).
 *
 * @module
 */

import {
  RTP_MAX_PAYLOAD_BYTES,
  RtpErrorCode,
  RtpFormatError,
} from "./packet.ts";

/** Largest access unit assembled, bytes (a 4K keyframe is a few MiB). */
export const MAX_ACCESS_UNIT_BYTES = 16 * 1024 * 1024;
/** Most NAL units in one access unit. */
export const MAX_ACCESS_UNIT_NALUS = 1024;

/** NAL unit types of RFC 6184 §5.2 Table 1 we read. */
const STAP_A = 24;
const FU_A = 28;

/** An access unit: its NALUs and the RTP timestamp they share. */
export interface RtpAccessUnit {
  readonly nalus: Uint8Array[];
  readonly timestamp: number;
}

/**
 * Assembles access units; `lost` on a packet says one or more before it are missing, which
 * drops the fragmented NAL unit in progress.
 *
 * @example
 * ```ts
 * import { H264Depacketizer } from "./h264.ts";
 * import assert from "node:assert/strict";
 * const d = new H264Depacketizer();
 * const p = (payload: number[], marker: boolean) => ({ marker, payloadType: 96, sequence: 0, timestamp: 3000, ssrc: 1, payload: new Uint8Array(payload) });
 * assert.deepEqual(d.push(p([0x7c, 0x85, 1], false), false), []); // FU-A start of an IDR
 * const [au] = d.push(p([0x7c, 0x45, 2], true), false);
 * assert.deepEqual(au?.nalus, [new Uint8Array([0x65, 1, 2])]);
 * ```
 */
export class H264Depacketizer {
  #nalus: Uint8Array[] = [];
  #bytes = 0;
  #timestamp: number | undefined;
  #fu: Uint8Array[] | undefined;
  #fuBytes = 0;

  /**
   * @throws {RtpFormatError} `RTP_BAD_PAYLOAD` for a malformed packet, `RTP_TOO_LARGE` for an
   *   access unit over the limits.
   */
  push(
    p: { marker: boolean; timestamp: number; payload: Uint8Array },
    lost: boolean,
  ): RtpAccessUnit[] {
    const out: RtpAccessUnit[] = [];
    if (this.#timestamp !== undefined && p.timestamp !== this.#timestamp) {
      this.#flush(out); // the previous AU ended without a marker
    }
    if (lost) this.#fu = undefined;
    this.#timestamp = p.timestamp;
    const b = p.payload;
    if (b.byteLength === 0) return out;
    const type = b[0]! & 0x1f;
    if (type >= 1 && type <= 23) this.#add(b);
    else if (type === STAP_A) {
      let o = 1;
      while (o + 2 <= b.byteLength) {
        const n = (b[o]! << 8) | b[o + 1]!;
        o += 2;
        if (n === 0 || o + n > b.byteLength) {
          throw new RtpFormatError(
            RtpErrorCode.BadPayload,
            `Cannot read STAP-A: NAL unit of ${n} bytes at ${o} runs past ${b.byteLength}`,
          );
        }
        this.#add(b.subarray(o, o + n));
        o += n;
      }
    } else if (type === FU_A) {
      if (b.byteLength < 2) {
        throw new RtpFormatError(
          RtpErrorCode.BadPayload,
          "Cannot read FU-A: needs 2 header bytes",
        );
      }
      const start = (b[1]! & 0x80) !== 0;
      const end = (b[1]! & 0x40) !== 0;
      if (start) {
        this.#fu = [
          new Uint8Array([(b[0]! & 0xe0) | (b[1]! & 0x1f)]),
          b.subarray(2),
        ];
        this.#fuBytes = b.byteLength - 1;
      } else if (this.#fu) {
        this.#fu.push(b.subarray(2));
        this.#fuBytes += b.byteLength - 2;
      }
      if (this.#fuBytes > MAX_ACCESS_UNIT_BYTES) {
        this.#fu = undefined;
        throw new RtpFormatError(
          RtpErrorCode.TooLarge,
          `Cannot read FU-A: NAL unit over ${MAX_ACCESS_UNIT_BYTES} bytes`,
        );
      }
      if (end && this.#fu) {
        const nalu = new Uint8Array(this.#fuBytes);
        let o = 0;
        for (const part of this.#fu) {
          nalu.set(part, o);
          o += part.byteLength;
        }
        this.#fu = undefined;
        this.#add(nalu);
      }
    } else {
      throw new RtpFormatError(
        RtpErrorCode.BadPayload,
        `Cannot read H.264 RTP payload: NAL unit type ${type} is not supported (STAP-B, MTAP, FU-B)`,
      );
    }
    if (p.marker) this.#flush(out);
    return out;
  }

  #add(nalu: Uint8Array): void {
    this.#nalus.push(nalu.slice());
    this.#bytes += nalu.byteLength;
    if (
      this.#bytes > MAX_ACCESS_UNIT_BYTES ||
      this.#nalus.length > MAX_ACCESS_UNIT_NALUS
    ) {
      this.#nalus = [];
      this.#bytes = 0;
      throw new RtpFormatError(
        RtpErrorCode.TooLarge,
        `Cannot assemble access unit: over ${MAX_ACCESS_UNIT_BYTES} bytes or ${MAX_ACCESS_UNIT_NALUS} NAL units`,
      );
    }
  }

  #flush(out: RtpAccessUnit[]): void {
    if (this.#nalus.length > 0 && this.#timestamp !== undefined) {
      out.push({ nalus: this.#nalus, timestamp: this.#timestamp });
    }
    this.#nalus = [];
    this.#bytes = 0;
  }
}

/**
 * RTP payloads of one access unit: single NAL unit packets, FU-A for those over `maxPayload`.
 * The last payload gets the marker (§5.1).
 *
 * @example
 * ```ts
 * import { packetizeH264 } from "./h264.ts";
 * import assert from "node:assert/strict";
 * const big = new Uint8Array(3000).fill(7);
 * big[0] = 0x65;
 * const out = packetizeH264([new Uint8Array([0x67, 1]), big], 1400);
 * assert.deepEqual(out.map((p) => [p.payload[0], p.payload[1], p.marker]), [
 *   [0x67, 1, false], [0x7c, 0x85, false], [0x7c, 0x05, false], [0x7c, 0x45, true]]);
 * ```
 */
export function packetizeH264(
  nalus: readonly Uint8Array[],
  maxPayload = RTP_MAX_PAYLOAD_BYTES,
): { payload: Uint8Array; marker: boolean }[] {
  const out: { payload: Uint8Array; marker: boolean }[] = [];
  for (const n of nalus) {
    if (n.byteLength === 0) continue;
    if (n.byteLength <= maxPayload) {
      out.push({ payload: n, marker: false });
      continue;
    }
    const indicator = (n[0]! & 0xe0) | FU_A;
    const type = n[0]! & 0x1f;
    const room = maxPayload - 2;
    for (let o = 1; o < n.byteLength; o += room) {
      const chunk = n.subarray(o, Math.min(o + room, n.byteLength));
      const fu = new Uint8Array(2 + chunk.byteLength);
      fu[0] = indicator;
      fu[1] = (o === 1 ? 0x80 : 0) | (o + room >= n.byteLength ? 0x40 : 0) |
        type;
      fu.set(chunk, 2);
      out.push({ payload: fu, marker: false });
    }
  }
  if (out.length > 0) out[out.length - 1]!.marker = true;
  return out;
}
