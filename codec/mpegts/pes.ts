/**
 * PES packet headers with PTS/DTS (ISO/IEC 13818-1 §2.4.3.6, §2.4.3.7).
 *
 * @module
 */

import { TS_TIMESTAMP_MODULUS } from "./constants.ts";
import { TsErrorCode, TsFormatError } from "./errors.ts";

/** PES_packet_length is 16 bits; 0 ("unbounded") is allowed only for video in a TS. */
export const MAX_PES_PACKET_LENGTH = 0xffff;
/** packet_start_code_prefix + stream_id + PES_packet_length + 2 flag bytes + header_data_length. */
const PES_FIXED_HEADER_BYTES = 9;
/** A 33-bit timestamp takes 5 bytes with its marker bits. */
const TIMESTAMP_BYTES = 5;

/** Fields of a PES header that we write and read. */
export interface PesHeader {
  /** stream_id: 0xE0 video, 0xC0 audio. */
  readonly streamId: number;
  /** Presentation time stamp in 90 kHz ticks (taken modulo 2^33). */
  readonly ptsTicks: number;
  /** Decoding time stamp in 90 kHz ticks; omitted when equal to the PTS. */
  readonly dtsTicks?: number | undefined;
}

/** A decoded PES header. */
export interface DecodedPesHeader extends PesHeader {
  /** PES_packet_length (0 = unbounded). */
  readonly packetLength: number;
  /** Bytes before the payload. */
  readonly headerBytes: number;
}

/** Writes a 33-bit timestamp with the given 4-bit prefix and marker bits (§2.4.3.7). */
function writeTimestamp(
  out: Uint8Array,
  offset: number,
  prefix: number,
  ticks: number,
): void {
  const t = ((ticks % TS_TIMESTAMP_MODULUS) + TS_TIMESTAMP_MODULUS) %
    TS_TIMESTAMP_MODULUS;
  const high = Math.floor(t / 2 ** 30); // bits 32..30
  const low30 = t % 2 ** 30;
  out[offset] = (prefix << 4) | (high << 1) | 1;
  out[offset + 1] = low30 >>> 22;
  out[offset + 2] = (((low30 >>> 15) & 0x7f) << 1) | 1;
  out[offset + 3] = (low30 >>> 7) & 0xff;
  out[offset + 4] = ((low30 & 0x7f) << 1) | 1;
}

function readTimestamp(b: Uint8Array, o: number): number {
  const high = (b[o]! >> 1) & 0x07;
  const low30 = (b[o + 1]! << 22) | ((b[o + 2]! >> 1) << 15) |
    (b[o + 3]! << 7) |
    (b[o + 4]! >> 1);
  return high * 2 ** 30 + (low30 >>> 0);
}

/**
 * Encodes a PES header for a payload of `payloadBytes`.
 *
 * data_alignment_indicator is set: our payloads always start with an access unit (AUD) or
 * an audio sync word.
 *
 * @param header stream_id, PTS and optional DTS.
 * @param payloadBytes Size of the payload that follows.
 * @returns 14 bytes (PTS only) or 19 bytes (PTS and DTS).
 * @throws {TsFormatError} `TS_BAD_VALUE` if an audio PES exceeds PES_packet_length.
 *
 * @example
 * ```ts
 * import { encodePesHeader } from "./pes.ts";
 * import assert from "node:assert/strict";
 * const h = encodePesHeader({ streamId: 0xc0, ptsTicks: 90000 }, 10);
 * assert.deepEqual(h, new Uint8Array([
 *   0, 0, 1, 0xc0, 0, 18, 0x84, 0x80, 5, 0x21, 0x00, 0x05, 0xbf, 0x21,
 * ]));
 * ```
 */
export function encodePesHeader(
  header: PesHeader,
  payloadBytes: number,
): Uint8Array {
  const hasDts = header.dtsTicks !== undefined &&
    header.dtsTicks !== header.ptsTicks;
  const headerDataLength = hasDts ? 2 * TIMESTAMP_BYTES : TIMESTAMP_BYTES;
  const out = new Uint8Array(PES_FIXED_HEADER_BYTES + headerDataLength);
  let packetLength = 3 + headerDataLength + payloadBytes;
  if (packetLength > MAX_PES_PACKET_LENGTH) {
    // §2.4.3.7: 0 is allowed only for video elementary streams in transport streams.
    if ((header.streamId & 0xf0) !== 0xe0) {
      throw new TsFormatError(
        TsErrorCode.BadValue,
        `Cannot encode PES header: non-video PES must be at most ${MAX_PES_PACKET_LENGTH} bytes, got ${packetLength}`,
      );
    }
    packetLength = 0;
  }
  out[2] = 1; // packet_start_code_prefix 0x000001
  out[3] = header.streamId;
  out[4] = packetLength >> 8;
  out[5] = packetLength & 0xff;
  out[6] = 0x84; // '10', not scrambled, data_alignment_indicator 1
  out[7] = hasDts ? 0xc0 : 0x80; // PTS_DTS_flags
  out[8] = headerDataLength;
  writeTimestamp(out, 9, hasDts ? 0x3 : 0x2, header.ptsTicks);
  if (hasDts) writeTimestamp(out, 14, 0x1, header.dtsTicks!);
  return out;
}

/**
 * Decodes a PES header.
 *
 * @param bytes Bytes starting at the packet_start_code_prefix.
 * @returns The header (PTS 0 if absent).
 * @throws {TsFormatError} `TS_BAD_PES` for a missing start code or a truncated header.
 *
 * @example
 * ```ts
 * import { decodePesHeader, encodePesHeader } from "./pes.ts";
 * import assert from "node:assert/strict";
 * const h = decodePesHeader(encodePesHeader({ streamId: 0xe0, ptsTicks: 2 ** 33 - 1, dtsTicks: 5 }, 0));
 * assert.equal(h.ptsTicks, 2 ** 33 - 1);
 * assert.equal(h.dtsTicks, 5);
 * ```
 */
export function decodePesHeader(bytes: Uint8Array): DecodedPesHeader {
  if (
    bytes.byteLength < PES_FIXED_HEADER_BYTES || bytes[0] !== 0 ||
    bytes[1] !== 0 ||
    bytes[2] !== 1
  ) {
    throw new TsFormatError(
      TsErrorCode.BadPes,
      `Cannot decode PES header: expected start code 00 00 01 and ${PES_FIXED_HEADER_BYTES} bytes, got ${bytes.byteLength} bytes`,
    );
  }
  const headerBytes = PES_FIXED_HEADER_BYTES + bytes[8]!;
  const flags = bytes[7]! >> 6;
  const need = PES_FIXED_HEADER_BYTES +
    (flags === 3 ? 10 : flags === 2 ? 5 : 0);
  if (headerBytes > bytes.byteLength || need > headerBytes) {
    throw new TsFormatError(
      TsErrorCode.BadPes,
      `Cannot decode PES header: header needs ${
        Math.max(need, headerBytes)
      } bytes, got ${bytes.byteLength}`,
    );
  }
  const ptsTicks = flags & 2 ? readTimestamp(bytes, 9) : 0;
  return {
    streamId: bytes[3]!,
    packetLength: (bytes[4]! << 8) | bytes[5]!,
    ptsTicks,
    dtsTicks: flags === 3 ? readTimestamp(bytes, 14) : ptsTicks,
    headerBytes,
  };
}
