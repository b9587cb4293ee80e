/**
 * FLV tag framing: the 11-byte tag header, the body and the trailing PreviousTagSize
 * (FLV spec v10.1 §E.4.1).
 *
 * @module
 */

import { FlvErrorCode, FlvFormatError } from "./errors.ts";
import { PREVIOUS_TAG_SIZE_BYTES } from "./header.ts";
import { type FlvTag, FlvTagType, type FlvTagTypeValue } from "./types.ts";

/** Size of the tag header: type, DataSize (24), Timestamp (24), TimestampExtended, StreamID (24). */
export const FLV_TAG_HEADER_BYTES = 11;
/** DataSize is a 24-bit field, so no tag body can be larger (§E.4.1). */
export const MAX_FLV_TAG_DATA_BYTES = 0xffffff;
/** FLV timestamps are 32-bit milliseconds (24 bits + TimestampExtended as the high byte). */
export const FLV_TIMESTAMP_MODULUS = 0x1_0000_0000;

/** The decoded fields of an 11-byte tag header. */
export interface FlvTagHeader {
  readonly type: FlvTagTypeValue;
  /** Size of the tag body in bytes (DataSize). */
  readonly dataBytes: number;
  /** Full 32-bit timestamp in milliseconds. */
  readonly timestampMs: number;
}

/**
 * Encodes one tag with its header and trailing PreviousTagSize into a single new buffer.
 * Hot path (HTTP-FLV fan-out, recording): exactly one allocation per tag.
 *
 * Timestamps at or above 2^32 ms (49.7 days) wrap, as they do on the wire.
 *
 * @param tag The tag to encode.
 * @returns `11 + data.byteLength + 4` bytes.
 * @throws {FlvFormatError} `FLV_TAG_TOO_LARGE` if the body exceeds 24 bits, `FLV_BAD_VALUE`
 * for a negative or non-integer timestamp.
 *
 * @example
 * ```ts
 * import { encodeFlvTag } from "./tag.ts";
 * import assert from "node:assert/strict";
 * const bytes = encodeFlvTag({ type: 8, timestampMs: 0x01020304, data: new Uint8Array([0xaf, 1]) });
 * assert.deepEqual(bytes, new Uint8Array([
 *   8, 0, 0, 2, 0x02, 0x03, 0x04, 0x01, 0, 0, 0, // header
 *   0xaf, 1, //                                      body
 *   0, 0, 0, 13, //                                  PreviousTagSize
 * ]));
 * ```
 */
export function encodeFlvTag(tag: FlvTag): Uint8Array {
  const size = tag.data.byteLength;
  if (size > MAX_FLV_TAG_DATA_BYTES) {
    throw new FlvFormatError(
      FlvErrorCode.TagTooLarge,
      `Cannot encode FLV tag: body must be at most ${MAX_FLV_TAG_DATA_BYTES} bytes, got ${size}`,
    );
  }
  const ts = tag.timestampMs;
  if (!Number.isInteger(ts) || ts < 0) {
    throw new FlvFormatError(
      FlvErrorCode.BadValue,
      `Cannot encode FLV tag: timestamp must be a non-negative integer, got ${ts}`,
    );
  }
  const wrapped = ts % FLV_TIMESTAMP_MODULUS;
  const total = FLV_TAG_HEADER_BYTES + size;
  const out = new Uint8Array(total + PREVIOUS_TAG_SIZE_BYTES);
  out[0] = tag.type;
  out[1] = size >>> 16;
  out[2] = (size >>> 8) & 0xff;
  out[3] = size & 0xff;
  out[4] = (wrapped >>> 16) & 0xff;
  out[5] = (wrapped >>> 8) & 0xff;
  out[6] = wrapped & 0xff;
  out[7] = (wrapped >>> 24) & 0xff; // TimestampExtended: the high 8 bits
  // out[8..10]: StreamID, always 0 (§E.4.1)
  out.set(tag.data, FLV_TAG_HEADER_BYTES);
  out[total] = total >>> 24;
  out[total + 1] = (total >>> 16) & 0xff;
  out[total + 2] = (total >>> 8) & 0xff;
  out[total + 3] = total & 0xff;
  return out;
}

/**
 * Decodes an 11-byte tag header.
 *
 * @param bytes Bytes starting at a tag boundary.
 * @returns The header, or `undefined` if fewer than 11 bytes are available.
 * @throws {FlvFormatError} `FLV_BAD_TAG_TYPE` for an unknown type or the encryption
 * (Filter) bit, which we do not support.
 *
 * @example
 * ```ts
 * import { decodeFlvTagHeader } from "./tag.ts";
 * import assert from "node:assert/strict";
 * const h = decodeFlvTagHeader(new Uint8Array([9, 0, 0, 5, 0, 0, 40, 0, 0, 0, 0]));
 * assert.deepEqual(h, { type: 9, dataBytes: 5, timestampMs: 40 });
 * ```
 */
export function decodeFlvTagHeader(
  bytes: Uint8Array,
): FlvTagHeader | undefined {
  if (bytes.byteLength < FLV_TAG_HEADER_BYTES) return undefined;
  const typeByte = bytes[0]!;
  // Bits 7-6 are reserved for FMS and bit 5 is the Filter (encryption) flag; the low five
  // bits are TagType (§E.4.1). We accept neither encryption nor unknown types.
  if (
    typeByte !== FlvTagType.Audio && typeByte !== FlvTagType.Video &&
    typeByte !== FlvTagType.Script
  ) {
    throw new FlvFormatError(
      FlvErrorCode.BadTagType,
      `Cannot decode FLV tag header: unknown tag type byte 0x${
        typeByte.toString(16)
      }`,
    );
  }
  const dataBytes = (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!;
  const timestampMs =
    ((bytes[7]! << 24) | (bytes[4]! << 16) | (bytes[5]! << 8) |
      bytes[6]!) >>> 0;
  return { type: typeByte, dataBytes, timestampMs };
}
