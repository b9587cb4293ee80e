/**
 * H.265 over RTP (RFC 7798): access units from single NAL unit packets, aggregation packets
 * (AP, §4.4.2) and fragmentation units (FU, §4.4.3), and back. DONL fields are not used
 * (sprop-max-don-diff 0, what encoders and cameras send).
 *
 * @module
 */

import {
  MAX_ACCESS_UNIT_BYTES,
  MAX_ACCESS_UNIT_NALUS,
  type RtpAccessUnit,
} from "./h264.ts";
import {
  RTP_MAX_PAYLOAD_BYTES,
  RtpErrorCode,
  RtpFormatError,
} from "./packet.ts";

const AP = 48;
const FU = 49;

/**
 * @example
 * ```ts
 * import { H265Depacketizer } from "./h265.ts";
 * import assert from "node:assert/strict";
 * const d = new H265Depacketizer();
 * const p = (payload: number[], marker: boolean) => ({ marker, timestamp: 1, payload: new Uint8Array(payload) });
 * d.push(p([0x62, 0x01, 0x93, 0xaa], false), false); // FU start, type 19 (IDR_W_RADL)
 * const [au] = d.push(p([0x62, 0x01, 0x53, 0xbb], true), false);
 * assert.deepEqual(au?.nalus, [new Uint8Array([0x26, 0x01, 0xaa, 0xbb])]);
 * ```
 */
export class H265Depacketizer {
  #nalus: Uint8Array[] = [];
  #bytes = 0;
  #timestamp: number | undefined;
  #fu: Uint8Array[] | undefined;
  #fuBytes = 0;

  /** @throws {RtpFormatError} As {@link H264Depacketizer.push}. */
  push(
    p: { marker: boolean; timestamp: number; payload: Uint8Array },
    lost: boolean,
  ): RtpAccessUnit[] {
    const out: RtpAccessUnit[] = [];
    if (this.#timestamp !== undefined && p.timestamp !== this.#timestamp) {
      this.#flush(out);
    }
    if (lost) this.#fu = undefined;
    this.#timestamp = p.timestamp;
    const b = p.payload;
    if (b.byteLength < 2) {
      throw new RtpFormatError(
        RtpErrorCode.BadPayload,
        `Cannot read H.265 RTP payload: needs 2 bytes, got ${b.byteLength}`,
      );
    }
    const type = (b[0]! >> 1) & 0x3f;
    if (type < AP) this.#add(b);
    else if (type === AP) {
      let o = 2;
      while (o + 2 <= b.byteLength) {
        const n = (b[o]! << 8) | b[o + 1]!;
        o += 2;
        if (n < 2 || o + n > b.byteLength) {
          throw new RtpFormatError(
            RtpErrorCode.BadPayload,
            `Cannot read H.265 AP: NAL unit of ${n} bytes at ${o} runs past ${b.byteLength}`,
          );
        }
        this.#add(b.subarray(o, o + n));
        o += n;
      }
    } else if (type === FU) {
      if (b.byteLength < 3) {
        throw new RtpFormatError(
          RtpErrorCode.BadPayload,
          "Cannot read H.265 FU: needs 3 header bytes",
        );
      }
      const start = (b[2]! & 0x80) !== 0;
      const end = (b[2]! & 0x40) !== 0;
      const fuType = b[2]! & 0x3f;
      if (start) {
        // The NAL header: the PayloadHdr's F, LayerId and TID with the FU's type (§4.4.3).
        const h0 = (b[0]! & 0x81) | (fuType << 1);
        this.#fu = [new Uint8Array([h0, b[1]!]), b.subarray(3)];
        this.#fuBytes = b.byteLength - 1;
      } else if (this.#fu) {
        this.#fu.push(b.subarray(3));
        this.#fuBytes += b.byteLength - 3;
      }
      if (this.#fuBytes > MAX_ACCESS_UNIT_BYTES) {
        this.#fu = undefined;
        throw new RtpFormatError(
          RtpErrorCode.TooLarge,
          `Cannot read H.265 FU: NAL unit over ${MAX_ACCESS_UNIT_BYTES} bytes`,
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
        `Cannot read H.265 RTP payload: type ${type} is not supported (PACI)`,
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
 * RTP payloads of one H.265 access unit: single NAL units, FUs for those over `maxPayload`.
 *
 * @example
 * ```ts
 * import { packetizeH265 } from "./h265.ts";
 * import assert from "node:assert/strict";
 * const big = new Uint8Array(2000).fill(1);
 * big.set([0x26, 0x01]);
 * const out = packetizeH265([big], 1400);
 * assert.deepEqual(out.map((p) => [p.payload[0], p.payload[2], p.marker]), [[0x62, 0x93, false], [0x62, 0x53, true]]);
 * ```
 */
export function packetizeH265(
  nalus: readonly Uint8Array[],
  maxPayload = RTP_MAX_PAYLOAD_BYTES,
): { payload: Uint8Array; marker: boolean }[] {
  const out: { payload: Uint8Array; marker: boolean }[] = [];
  for (const n of nalus) {
    if (n.byteLength < 2) continue;
    if (n.byteLength <= maxPayload) {
      out.push({ payload: n, marker: false });
      continue;
    }
    const type = (n[0]! >> 1) & 0x3f;
    const h0 = (n[0]! & 0x81) | (FU << 1);
    const room = maxPayload - 3;
    for (let o = 2; o < n.byteLength; o += room) {
      const chunk = n.subarray(o, Math.min(o + room, n.byteLength));
      const fu = new Uint8Array(3 + chunk.byteLength);
      fu[0] = h0;
      fu[1] = n[1]!;
      fu[2] = (o === 2 ? 0x80 : 0) | (o + room >= n.byteLength ? 0x40 : 0) |
        type;
      fu.set(chunk, 3);
      out.push({ payload: fu, marker: false });
    }
  }
  if (out.length > 0) out[out.length - 1]!.marker = true;
  return out;
}
