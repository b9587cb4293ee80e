/**
 * AAC over RTP as RFC 3640's AAC-hbr mode (`mpeg4-generic`, sizeLength 13, indexLength 3,
 * indexDeltaLength 3, §3.3.6): the AU-headers section, several AUs per packet, and an AU
 * fragmented over packets (§3.2.3). Also the MPEG audio payload of RFC 2250 §3.5.
 *
 * @module
 */

import {
  RTP_MAX_PAYLOAD_BYTES,
  RtpErrorCode,
  RtpFormatError,
} from "./packet.ts";

/** Largest AU assembled from fragments (an AAC frame is at most 6144 bits per channel). */
export const MAX_AAC_AU_BYTES = 64 * 1024;
/** AAC frames carry 1024 samples (frameLengthFlag 0), the RTP clock being the sample rate. */
const SAMPLES_PER_AU = 1024;

/** AU-header layout from the SDP's fmtp. */
export interface AacHbrLayout {
  readonly sizeLength: number;
  readonly indexLength: number;
  readonly indexDeltaLength: number;
}

/** The layout AAC-hbr always uses. */
export const AAC_HBR: AacHbrLayout = {
  sizeLength: 13,
  indexLength: 3,
  indexDeltaLength: 3,
};

/** One AAC frame and its RTP timestamp. */
export interface RtpAacFrame {
  readonly data: Uint8Array;
  readonly timestamp: number;
}

function bits(b: Uint8Array, bit: number, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) {
    const x = bit + i;
    v = v * 2 + ((b[x >> 3]! >> (7 - (x & 7))) & 1);
  }
  return v;
}

/**
 * @example
 * ```ts
 * import { AacDepacketizer } from "./aac.ts";
 * import assert from "node:assert/strict";
 * const d = new AacDepacketizer();
 * // AU-headers-length 32 bits: two headers, sizes 2 and 1.
 * const frames = d.push({ marker: true, timestamp: 1000, payload: new Uint8Array([0, 32, 0, 16, 0, 8, 0xa, 0xb, 0xc]) }, false);
 * assert.deepEqual(frames.map((f) => [f.timestamp, [...f.data]]), [[1000, [0xa, 0xb]], [2024, [0xc]]]);
 * ```
 */
export class AacDepacketizer {
  readonly #l: AacHbrLayout;
  #frag:
    | { parts: Uint8Array[]; bytes: number; size: number; timestamp: number }
    | undefined;

  constructor(layout: AacHbrLayout = AAC_HBR) {
    if (
      layout.sizeLength < 1 || layout.sizeLength > 16 ||
      layout.indexLength > 8 || layout.indexDeltaLength > 8
    ) {
      throw new RtpFormatError(
        RtpErrorCode.BadPayload,
        `Cannot read AAC-hbr: unsupported AU-header layout ${layout.sizeLength}/${layout.indexLength}/${layout.indexDeltaLength}`,
      );
    }
    this.#l = layout;
  }

  /** @throws {RtpFormatError} `RTP_BAD_PAYLOAD` for AU headers or sizes past the payload. */
  push(
    p: { marker: boolean; timestamp: number; payload: Uint8Array },
    lost: boolean,
  ): RtpAacFrame[] {
    const bad = (why: string) =>
      new RtpFormatError(
        RtpErrorCode.BadPayload,
        `Cannot read AAC-hbr payload: ${why}`,
      );
    if (lost) this.#frag = undefined;
    const b = p.payload;
    if (b.byteLength < 2) throw bad(`needs 2 bytes, got ${b.byteLength}`);
    const headerBits = (b[0]! << 8) | b[1]!;
    const headerBytes = Math.ceil(headerBits / 8);
    if (2 + headerBytes > b.byteLength) {
      throw bad(
        `AU headers of ${headerBits} bits run past ${b.byteLength} bytes`,
      );
    }
    const sizes: number[] = [];
    let bit = 16;
    const end = 16 + headerBits;
    while (bit < end) {
      const idx = sizes.length === 0
        ? this.#l.indexLength
        : this.#l.indexDeltaLength;
      if (bit + this.#l.sizeLength + idx > end) break;
      sizes.push(bits(b, bit, this.#l.sizeLength));
      bit += this.#l.sizeLength + idx;
    }
    let o = 2 + headerBytes;
    const data = b.subarray(o);
    // §3.2.3: one AU whose size is larger than the data is a fragment.
    if (sizes.length === 1 && sizes[0]! > data.byteLength) {
      const size = sizes[0]!;
      if (size > MAX_AAC_AU_BYTES) {
        throw bad(`AU of ${size} bytes over ${MAX_AAC_AU_BYTES}`);
      }
      if (!this.#frag || this.#frag.timestamp !== p.timestamp) {
        this.#frag = { parts: [], bytes: 0, size, timestamp: p.timestamp };
      }
      this.#frag.parts.push(data.slice());
      this.#frag.bytes += data.byteLength;
      if (this.#frag.bytes < this.#frag.size) return [];
      const f = this.#frag;
      this.#frag = undefined;
      const au = new Uint8Array(f.bytes);
      let w = 0;
      for (const part of f.parts) {
        au.set(part, w);
        w += part.byteLength;
      }
      return [{ data: au.subarray(0, f.size), timestamp: f.timestamp }];
    }
    this.#frag = undefined;
    const out: RtpAacFrame[] = [];
    sizes.forEach((size, i) => {
      if (o + size > b.byteLength) {
        throw bad(`AU ${i} of ${size} bytes runs past ${b.byteLength}`);
      }
      out.push({
        data: b.slice(o, o + size),
        timestamp: (p.timestamp + i * SAMPLES_PER_AU) >>> 0,
      });
      o += size;
    });
    return out;
  }
}

/**
 * RTP payloads of one AAC frame: one AU per packet, fragmented when over `maxPayload`.
 *
 * @example
 * ```ts
 * import { packetizeAac } from "./aac.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual([...packetizeAac(new Uint8Array([9, 9]))[0]!.payload], [0, 16, 0, 16, 9, 9]);
 * ```
 */
export function packetizeAac(
  au: Uint8Array,
  maxPayload = RTP_MAX_PAYLOAD_BYTES,
): { payload: Uint8Array; marker: boolean }[] {
  const out: { payload: Uint8Array; marker: boolean }[] = [];
  const room = maxPayload - 4;
  const size = Math.min(au.byteLength, 0x1fff);
  for (let o = 0; o < au.byteLength || o === 0; o += room) {
    const chunk = au.subarray(o, Math.min(o + room, au.byteLength));
    const p = new Uint8Array(4 + chunk.byteLength);
    p[1] = 16; // AU-headers-length: one 16-bit header
    p[2] = size >> 5;
    p[3] = (size & 0x1f) << 3; // AU-index 0
    p.set(chunk, 4);
    out.push({ payload: p, marker: o + room >= au.byteLength });
    if (au.byteLength === 0) break;
  }
  return out;
}

/**
 * MPEG audio payload (RFC 2250 §3.5): a 4-byte header (MBZ, fragment offset), then frames.
 *
 * @returns The frames of a packet that starts a frame (fragments of larger frames are dropped).
 */
export function depacketizeMpa(payload: Uint8Array): Uint8Array | undefined {
  if (payload.byteLength <= 4) return undefined;
  const offset = (payload[2]! << 8) | payload[3]!;
  return offset === 0 ? payload.slice(4) : undefined;
}

/** MPEG audio frames as one RFC 2250 payload (split at `maxPayload` with fragment offsets). */
export function packetizeMpa(
  frame: Uint8Array,
  maxPayload = RTP_MAX_PAYLOAD_BYTES,
): { payload: Uint8Array; marker: boolean }[] {
  const out: { payload: Uint8Array; marker: boolean }[] = [];
  const room = maxPayload - 4;
  for (let o = 0; o < frame.byteLength; o += room) {
    const chunk = frame.subarray(o, Math.min(o + room, frame.byteLength));
    const p = new Uint8Array(4 + chunk.byteLength);
    p[2] = o >> 8;
    p[3] = o & 0xff;
    p.set(chunk, 4);
    out.push({ payload: p, marker: o === 0 });
  }
  return out;
}
