/**
 * The RTP fixed header (RFC 3550 §5.1): version 2, padding, extension, CSRCs, marker, payload
 * type, sequence number, timestamp, SSRC. Decoded from untrusted packets, encoded for ours.
 *
 * @module
 */

import { CodedError } from "../../errors/mod.ts";

/** Bytes of the fixed header. */
export const RTP_HEADER_BYTES = 12;
/** Largest RTP packet we read (UDP's maximum payload). */
export const MAX_RTP_PACKET_BYTES = 65_507;
/**
 * Payload bytes per packet we send: a 1500-byte Ethernet MTU less IP/UDP/RTP headers and a
 * margin for tunnels (ffmpeg's rtpenc uses 1472 for the whole packet).
 */
export const RTP_MAX_PAYLOAD_BYTES = 1400;

/** Stable codes of {@link RtpFormatError}. */
export const RtpErrorCode = {
  /** A packet is not RTP version 2, or its lengths run past its end. */
  BadPacket: "RTP_BAD_PACKET",
  /** A payload does not follow its format (FU without start, AU headers past the end). */
  BadPayload: "RTP_BAD_PAYLOAD",
  /** An access unit grew past its limit. */
  TooLarge: "RTP_TOO_LARGE",
} as const;

/** Malformed RTP or RTCP. */
export class RtpFormatError extends CodedError<
  (typeof RtpErrorCode)[keyof typeof RtpErrorCode]
> {
  override name = "RtpFormatError";
}

/** A decoded packet; `payload` is a view into the input. */
export interface RtpPacket {
  readonly marker: boolean;
  readonly payloadType: number;
  readonly sequence: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly payload: Uint8Array;
}

/**
 * Decodes an RTP packet.
 *
 * @throws {RtpFormatError} `RTP_BAD_PACKET` for another version or lengths past the end.
 *
 * @example
 * ```ts
 * import { decodeRtp, encodeRtp } from "./packet.ts";
 * import assert from "node:assert/strict";
 * const p = { marker: true, payloadType: 96, sequence: 65535, timestamp: 2 ** 32 - 1, ssrc: 7, payload: new Uint8Array([1, 2]) };
 * assert.deepEqual(decodeRtp(encodeRtp(p)), p);
 * ```
 */
export function decodeRtp(b: Uint8Array): RtpPacket {
  const bad = (why: string) =>
    new RtpFormatError(
      RtpErrorCode.BadPacket,
      `Cannot decode RTP packet: ${why}`,
    );
  if (b.byteLength < RTP_HEADER_BYTES) {
    throw bad(`needs ${RTP_HEADER_BYTES} bytes, got ${b.byteLength}`);
  }
  if (b.byteLength > MAX_RTP_PACKET_BYTES) {
    throw bad(
      `must be at most ${MAX_RTP_PACKET_BYTES} bytes, got ${b.byteLength}`,
    );
  }
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const b0 = b[0]!;
  if (b0 >> 6 !== 2) throw bad(`version must be 2, got ${b0 >> 6}`);
  let o = RTP_HEADER_BYTES + 4 * (b0 & 0x0f);
  if (b0 & 0x10) {
    // §5.3.1 header extension: profile-defined 16 bits, then its length in 32-bit words.
    if (o + 4 > b.byteLength) throw bad("header extension is truncated");
    o += 4 + 4 * v.getUint16(o + 2);
  }
  let end = b.byteLength;
  if (b0 & 0x20) end -= b[b.byteLength - 1]!; // §5.1: the last octet counts the padding
  if (o > end) throw bad(`header of ${o} bytes past the payload end ${end}`);
  return {
    marker: (b[1]! & 0x80) !== 0,
    payloadType: b[1]! & 0x7f,
    sequence: v.getUint16(2),
    timestamp: v.getUint32(4),
    ssrc: v.getUint32(8),
    payload: b.subarray(o, end),
  };
}

/** Encodes a packet without CSRCs, extension or padding. */
export function encodeRtp(p: RtpPacket): Uint8Array {
  const out = new Uint8Array(RTP_HEADER_BYTES + p.payload.byteLength);
  const v = new DataView(out.buffer);
  out[0] = 0x80;
  out[1] = (p.marker ? 0x80 : 0) | (p.payloadType & 0x7f);
  v.setUint16(2, p.sequence & 0xffff);
  v.setUint32(4, p.timestamp >>> 0);
  v.setUint32(8, p.ssrc >>> 0);
  out.set(p.payload, RTP_HEADER_BYTES);
  return out;
}

/**
 * Follows one stream's sequence numbers (RFC 3550 §A.1, simplified for live ingest): the
 * first SSRC is locked, packets of another are counted and dropped, duplicates and late
 * packets are dropped, and a forward jump is a loss the depacketizer must know of.
 *
 * @example
 * ```ts
 * import { RtpSequence } from "./packet.ts";
 * import assert from "node:assert/strict";
 * const s = new RtpSequence();
 * assert.equal(s.accept(1, 65535), "ok");
 * assert.equal(s.accept(1, 1), "lost"); // 0 is missing
 * assert.equal(s.accept(1, 1), "late");
 * assert.equal(s.accept(2, 2), "foreign");
 * ```
 */
export class RtpSequence {
  #ssrc: number | undefined;
  #last: number | undefined;
  lost = 0;
  late = 0;
  foreign = 0;

  get ssrc(): number | undefined {
    return this.#ssrc;
  }

  /** Classifies a packet: `ok`, `lost` (accepted, after a gap), `late` or `foreign` (dropped). */
  accept(ssrc: number, sequence: number): "ok" | "lost" | "late" | "foreign" {
    this.#ssrc ??= ssrc;
    if (ssrc !== this.#ssrc) {
      this.foreign++;
      return "foreign";
    }
    if (this.#last === undefined) {
      this.#last = sequence;
      return "ok";
    }
    const delta = (sequence - this.#last + 0x10000) & 0xffff;
    if (delta === 0 || delta >= 0x8000) {
      this.late++;
      return "late";
    }
    this.#last = sequence;
    if (delta === 1) return "ok";
    this.lost += delta - 1;
    return "lost";
  }

  /** Forgets the stream (a new SSRC is accepted next). */
  reset(): void {
    this.#ssrc = undefined;
    this.#last = undefined;
  }
}
