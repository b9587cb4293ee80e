/**
 * Aggregate messages (Adobe RTMP spec §7.1.6): FLV tags back to back, each with its 11-byte
 * header and 4-byte back pointer, sub-tag timestamps relative to the first one.
 *
 * @module
 */

import { ByteReader, ShortReadError } from "../bytes/reader.ts";
import { FlvTagType } from "../flv/types.ts";
import type { FlvTag } from "../flv/types.ts";
import { RtmpErrorCode, RtmpProtocolError } from "./errors.ts";

/**
 * The audio and video tags of an aggregate message, their timestamps placed on the message's
 * own (wrapping at 2^32 ms as RTMP timestamps do). Other sub-tags and empty ones are skipped.
 *
 * @param payload The aggregate message's body.
 * @param messageTimestampMs The message's timestamp.
 * @throws {RtmpProtocolError} `RTMP_BAD_AGGREGATE` when a sub-tag runs past the body.
 *
 * @example
 * ```ts
 * import { decodeAggregate } from "./aggregate.ts";
 * import assert from "node:assert/strict";
 * // One audio sub-tag (type 8, 2 bytes, sub-timestamp 1000), then its back pointer.
 * const body = new Uint8Array([8, 0, 0, 2, 0, 3, 0xe8, 0, 0, 0, 0, 0xaf, 1, 0, 0, 0, 13]);
 * assert.deepEqual(decodeAggregate(body, 40), [
 *   { type: 8, timestampMs: 40, data: new Uint8Array([0xaf, 1]) },
 * ]);
 * ```
 */
export function decodeAggregate(
  payload: Uint8Array,
  messageTimestampMs: number,
): FlvTag[] {
  const reader = new ByteReader(payload);
  const out: FlvTag[] = [];
  let base: number | undefined;
  try {
    while (reader.remaining > 0) {
      const type = reader.u8();
      const size = reader.u24();
      const ts = (reader.u24() | (reader.u8() << 24)) >>> 0;
      reader.skip(3); // stream id, always 0 in FLV
      const data = reader.take(size);
      reader.skip(4); // previous tag size
      base ??= ts;
      if (
        (type !== FlvTagType.Audio && type !== FlvTagType.Video) || size === 0
      ) {
        continue;
      }
      out.push({
        type,
        timestampMs: (messageTimestampMs + ts - base + 0x1_0000_0000) %
          0x1_0000_0000,
        data,
      });
    }
  } catch (err) {
    if (!(err instanceof ShortReadError)) throw err;
    throw new RtmpProtocolError(
      RtmpErrorCode.BadAggregate,
      `Cannot decode aggregate message: sub-tag runs past its ${payload.byteLength}-byte body`,
      { cause: err },
    );
  }
  return out;
}
