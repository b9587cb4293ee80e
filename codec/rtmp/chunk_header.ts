/**
 * RTMP chunk headers (§5.3.1): the 1–3 byte basic header and the 0/3/7/11-byte message header,
 * plus the extended timestamp. Shared by the chunk reader and writer.
 *
 * @module
 */

import { EXTENDED_TIMESTAMP_MARKER, MAX_CHUNK_STREAM_ID } from "./constants.ts";
import { RtmpErrorCode, RtmpProtocolError } from "./errors.ts";

/** Chunk header formats (§5.3.1.2): 0 full, 1 no stream id, 2 delta only, 3 nothing. */
export type ChunkFormat = 0 | 1 | 2 | 3;

/** Message header size per format (§5.3.1.2.1–4). */
export const MESSAGE_HEADER_BYTES = [11, 7, 3, 0] as const;

/** Longest possible chunk header: 3-byte basic + 11-byte type 0 + 4-byte extended timestamp. */
export const MAX_CHUNK_HEADER_BYTES = 18;

/** The 1–3 byte basic header (§5.3.1.1). */
export interface BasicHeader {
  readonly fmt: ChunkFormat;
  /** Chunk stream id, 2..65599. */
  readonly csid: number;
  /** Bytes the basic header took: 1, 2 or 3. */
  readonly size: number;
}

/** A decoded chunk header. Absent fields are those the format omits. */
export interface ChunkHeader {
  readonly fmt: ChunkFormat;
  readonly csid: number;
  /**
   * fmt 0: the absolute timestamp; fmt 1/2: the delta; fmt 3: the extended timestamp when
   * present, else absent. Already resolved from the extended field (§5.3.1.3).
   */
  readonly timestamp?: number;
  readonly messageLength?: number;
  readonly typeId?: number;
  /** Message stream id (little-endian on the wire, §5.3.1.2.1). */
  readonly streamId?: number;
  /** Whether a 4-byte extended timestamp followed the message header. */
  readonly extended: boolean;
  /** Bytes the whole header took. */
  readonly size: number;
}

/**
 * Decodes the 1–3 byte basic header (§5.3.1.1).
 *
 * @param bytes Input.
 * @param offset Where a chunk starts in `bytes`.
 * @returns The header, or `undefined` if `bytes` is too short to hold it.
 *
 * @example
 * ```ts
 * import { decodeBasicHeader } from "./chunk_header.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(decodeBasicHeader(new Uint8Array([0x43])), { fmt: 1, csid: 3, size: 1 });
 * assert.deepEqual(decodeBasicHeader(new Uint8Array([0xc0, 0x00])), { fmt: 3, csid: 64, size: 2 });
 * assert.deepEqual(decodeBasicHeader(new Uint8Array([0x01, 0xff, 0xff])), { fmt: 0, csid: 65599, size: 3 });
 * ```
 */
export function decodeBasicHeader(
  bytes: Uint8Array,
  offset = 0,
): BasicHeader | undefined {
  if (offset >= bytes.byteLength) return undefined;
  const b0 = bytes[offset]!;
  const fmt = (b0 >> 6) as ChunkFormat;
  const low = b0 & 0x3f;
  if (low === 0) {
    if (offset + 2 > bytes.byteLength) return undefined;
    return { fmt, csid: bytes[offset + 1]! + 64, size: 2 };
  }
  if (low === 1) {
    if (offset + 3 > bytes.byteLength) return undefined;
    return {
      fmt,
      csid: bytes[offset + 2]! * 256 + bytes[offset + 1]! + 64,
      size: 3,
    };
  }
  return { fmt, csid: low, size: 1 };
}

/**
 * Decodes a whole chunk header.
 *
 * @param bytes Input.
 * @param offset Where the chunk starts.
 * @param fmt3Extended For fmt 3 only: whether this chunk carries a 4-byte extended timestamp
 *   (it does when the chunk stream's last fmt 0/1/2 header used one; §5.3.1.3, and FFmpeg
 *   repeats it on every continuation chunk).
 * @returns The header, or `undefined` if `bytes` ends inside it.
 *
 * @example
 * ```ts
 * import { decodeChunkHeader } from "./chunk_header.ts";
 * import assert from "node:assert/strict";
 * // fmt 2, csid 4, delta 40
 * assert.deepEqual(decodeChunkHeader(new Uint8Array([0x84, 0, 0, 40])), {
 *   fmt: 2, csid: 4, timestamp: 40, extended: false, size: 4,
 * });
 * ```
 */
export function decodeChunkHeader(
  bytes: Uint8Array,
  offset = 0,
  fmt3Extended = false,
): ChunkHeader | undefined {
  const basic = decodeBasicHeader(bytes, offset);
  if (basic === undefined) return undefined;
  const { fmt, csid } = basic;
  let p = offset + basic.size;
  const end = bytes.byteLength;
  if (p + MESSAGE_HEADER_BYTES[fmt] > end) return undefined;
  if (fmt === 3) {
    if (!fmt3Extended) return { fmt, csid, extended: false, size: basic.size };
    if (p + 4 > end) return undefined;
    return {
      fmt,
      csid,
      timestamp: u32(bytes, p),
      extended: true,
      size: basic.size + 4,
    };
  }
  let timestamp = (bytes[p]! << 16) | (bytes[p + 1]! << 8) | bytes[p + 2]!;
  p += 3;
  let messageLength: number | undefined;
  let typeId: number | undefined;
  let streamId: number | undefined;
  if (fmt <= 1) {
    messageLength = (bytes[p]! << 16) | (bytes[p + 1]! << 8) | bytes[p + 2]!;
    typeId = bytes[p + 3]!;
    p += 4;
  }
  if (fmt === 0) {
    streamId = (bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16) |
      (bytes[p + 3]! << 24)) >>> 0;
    p += 4;
  }
  const extended = timestamp === EXTENDED_TIMESTAMP_MARKER;
  if (extended) {
    if (p + 4 > end) return undefined;
    timestamp = u32(bytes, p);
    p += 4;
  }
  const size = p - offset;
  if (fmt === 0) {
    return {
      fmt,
      csid,
      timestamp,
      messageLength,
      typeId,
      streamId,
      extended,
      size,
    };
  }
  if (fmt === 1) {
    return { fmt, csid, timestamp, messageLength, typeId, extended, size };
  }
  return { fmt, csid, timestamp, extended, size };
}

function u32(bytes: Uint8Array, p: number): number {
  return ((bytes[p]! << 24) | (bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) |
    bytes[p + 3]!) >>> 0;
}

/**
 * Bytes of the basic header for `csid`.
 *
 * @throws {RtmpProtocolError} `RTMP_NOT_ENCODABLE` for csid outside 2..65599.
 */
export function basicHeaderSize(csid: number): number {
  if (!Number.isInteger(csid) || csid < 2 || csid > MAX_CHUNK_STREAM_ID) {
    throw new RtmpProtocolError(
      RtmpErrorCode.NotEncodable,
      `Cannot encode chunk header: chunk stream id ${csid}, expected 2..${MAX_CHUNK_STREAM_ID}`,
    );
  }
  return csid < 64 ? 1 : csid < 320 ? 2 : 3;
}

/** Writes a basic header at `p`; returns the new position. The caller checked the csid. */
export function writeBasicHeader(
  out: Uint8Array,
  p: number,
  fmt: ChunkFormat,
  csid: number,
): number {
  if (csid < 64) {
    out[p] = (fmt << 6) | csid;
    return p + 1;
  }
  if (csid < 320) {
    out[p] = fmt << 6;
    out[p + 1] = csid - 64;
    return p + 2;
  }
  out[p] = (fmt << 6) | 1;
  out[p + 1] = (csid - 64) & 0xff;
  out[p + 2] = (csid - 64) >> 8;
  return p + 3;
}

/**
 * Encodes a chunk header; the inverse of {@link decodeChunkHeader}. A `timestamp` at or above
 * 0xffffff goes into the extended field. For fmt 3, pass `timestamp` only when the chunk
 * repeats the extended timestamp.
 *
 * @param header Fields for the format; those the format omits are ignored.
 * @returns The header bytes.
 * @throws {RtmpProtocolError} `RTMP_NOT_ENCODABLE` for out-of-range fields.
 *
 * @example
 * ```ts
 * import { encodeChunkHeader } from "./chunk_header.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(
 *   encodeChunkHeader({ fmt: 1, csid: 3, timestamp: 1, messageLength: 2, typeId: 20 }),
 *   new Uint8Array([0x43, 0, 0, 1, 0, 0, 2, 20]),
 * );
 * ```
 */
export function encodeChunkHeader(
  header: Omit<ChunkHeader, "extended" | "size">,
): Uint8Array {
  const { fmt, csid } = header;
  const basic = basicHeaderSize(csid);
  const timestamp = header.timestamp ?? 0;
  checkU32("timestamp", timestamp);
  const extended = fmt === 3
    ? header.timestamp !== undefined
    : timestamp >= EXTENDED_TIMESTAMP_MARKER;
  const out = new Uint8Array(
    basic + MESSAGE_HEADER_BYTES[fmt] + (extended ? 4 : 0),
  );
  let p = writeBasicHeader(out, 0, fmt, csid);
  const view = new DataView(out.buffer);
  if (fmt <= 2) {
    const field = extended ? EXTENDED_TIMESTAMP_MARKER : timestamp;
    out[p] = field >>> 16;
    out[p + 1] = (field >>> 8) & 0xff;
    out[p + 2] = field & 0xff;
    p += 3;
  }
  if (fmt <= 1) {
    const length = header.messageLength ?? 0;
    if (!Number.isInteger(length) || length < 0 || length > 0xffffff) {
      throw new RtmpProtocolError(
        RtmpErrorCode.NotEncodable,
        `Cannot encode chunk header: message length ${length}, expected 0..16777215`,
      );
    }
    out[p] = length >>> 16;
    out[p + 1] = (length >>> 8) & 0xff;
    out[p + 2] = length & 0xff;
    out[p + 3] = (header.typeId ?? 0) & 0xff;
    p += 4;
  }
  if (fmt === 0) {
    const streamId = header.streamId ?? 0;
    checkU32("stream id", streamId);
    view.setUint32(p, streamId, true);
    p += 4;
  }
  if (extended) view.setUint32(p, timestamp);
  return out;
}

function checkU32(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new RtmpProtocolError(
      RtmpErrorCode.NotEncodable,
      `Cannot encode chunk header: ${what} ${v}, expected 0..4294967295`,
    );
  }
}
