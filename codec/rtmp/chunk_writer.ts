/**
 * RTMP chunk writer (§5.3): one message in, its chunks out.
 *
 * Every message starts with a type-0 header and continues with type-3 chunks. We give up the
 * few bytes that fmt 1/2 compression would save so that a message's bytes do not depend on what
 * was sent before on the same connection: the hub can then encode a media tag once and hand the
 * same bytes to every RTMP player.
 *
 * @module
 */

import { type FlvTag, FlvTagType } from "../flv/types.ts";
import {
  EXTENDED_TIMESTAMP_MARKER,
  MAX_CHUNK_SIZE,
  MIN_CHUNK_SIZE,
  RTMP_MEDIA_STREAM_ID,
  RtmpChunkStream,
} from "./constants.ts";
import { basicHeaderSize, writeBasicHeader } from "./chunk_header.ts";
import { RtmpErrorCode, RtmpProtocolError } from "./errors.ts";

/** A message to send. */
export interface OutgoingRtmpMessage {
  /** Chunk stream id, 2..65599. */
  readonly csid: number;
  /** Message type id; see `RtmpMessageType`. */
  readonly typeId: number;
  /** Message stream id. */
  readonly streamId: number;
  /** Absolute timestamp in milliseconds; taken modulo 2^32. */
  readonly timestampMs: number;
  readonly payload: Uint8Array;
}

/**
 * Encodes one message as a type-0 chunk followed by type-3 chunks. A timestamp at or above
 * 0xffffff goes into the extended field, which is repeated on every type-3 chunk as FFmpeg and
 * Flash expect (§5.3.1.3).
 *
 * @param message The message.
 * @param chunkSize Our outgoing chunk size (what we announced with Set Chunk Size).
 * @returns The chunks, back to back.
 * @throws {RtmpProtocolError} `RTMP_NOT_ENCODABLE` for a bad csid, chunk size or a payload over
 *   16 MiB − 1.
 *
 * @example
 * ```ts
 * import { encodeRtmpMessage } from "./chunk_writer.ts";
 * import assert from "node:assert/strict";
 * // Set Chunk Size 4096 on csid 2.
 * assert.deepEqual(
 *   encodeRtmpMessage({ csid: 2, typeId: 1, streamId: 0, timestampMs: 0, payload: new Uint8Array([0, 0, 0x10, 0]) }, 128),
 *   new Uint8Array([0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0x10, 0]),
 * );
 * ```
 */
export function encodeRtmpMessage(
  message: OutgoingRtmpMessage,
  chunkSize: number,
): Uint8Array {
  if (
    !Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE ||
    chunkSize > MAX_CHUNK_SIZE
  ) {
    throw new RtmpProtocolError(
      RtmpErrorCode.NotEncodable,
      `Cannot encode message: chunk size ${chunkSize}, expected ${MIN_CHUNK_SIZE}..${MAX_CHUNK_SIZE}`,
    );
  }
  const { csid, payload } = message;
  const length = payload.byteLength;
  if (length > 0xffffff) {
    throw new RtmpProtocolError(
      RtmpErrorCode.NotEncodable,
      `Cannot encode message: payload is ${length} bytes, expected at most 16777215`,
    );
  }
  const streamId = message.streamId;
  if (!Number.isInteger(streamId) || streamId < 0 || streamId > 0xffffffff) {
    throw new RtmpProtocolError(
      RtmpErrorCode.NotEncodable,
      `Cannot encode message: stream id ${streamId}, expected 0..4294967295`,
    );
  }
  const basic = basicHeaderSize(csid);
  const timestamp = Math.max(0, Math.floor(message.timestampMs)) % 0x100000000;
  const extended = timestamp >= EXTENDED_TIMESTAMP_MARKER;
  const ext = extended ? 4 : 0;
  const chunks = Math.max(1, Math.ceil(length / chunkSize));
  const total = basic + 11 + ext + (chunks - 1) * (basic + ext) + length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);

  // Adobe RTMP spec §5.3.1.2.1 (type 0 header).
  let p = writeBasicHeader(out, 0, 0, csid);
  const field = extended ? EXTENDED_TIMESTAMP_MARKER : timestamp;
  out[p] = field >>> 16;
  out[p + 1] = (field >>> 8) & 0xff;
  out[p + 2] = field & 0xff;
  out[p + 3] = length >>> 16;
  out[p + 4] = (length >>> 8) & 0xff;
  out[p + 5] = length & 0xff;
  out[p + 6] = message.typeId & 0xff;
  view.setUint32(p + 7, streamId, true);
  p += 11;
  if (extended) {
    view.setUint32(p, timestamp);
    p += 4;
  }
  let sent = Math.min(chunkSize, length);
  out.set(payload.subarray(0, sent), p);
  p += sent;
  while (sent < length) {
    // §5.3.1.2.4 (type 3 header), with the extended timestamp repeated.
    p = writeBasicHeader(out, p, 3, csid);
    if (extended) {
      view.setUint32(p, timestamp);
      p += 4;
    }
    const n = Math.min(chunkSize, length - sent);
    out.set(payload.subarray(sent, sent + n), p);
    p += n;
    sent += n;
  }
  return out;
}

/** Chunk stream per FLV tag type: audio 4, video 6, script data 5. */
const MEDIA_CSID = {
  8: RtmpChunkStream.Audio,
  9: RtmpChunkStream.Video,
  18: RtmpChunkStream.Data,
} as const;

/**
 * Encodes a media tag for RTMP players: a fixed chunk stream per tag type, message stream id 1,
 * absolute timestamp in a type-0 header (script data at 0, see below). The bytes are the same for every player, so the hub
 * encodes a tag once and shares the result.
 *
 * @param tag An FLV tag; its body is the RTMP message payload as is.
 * @param chunkSize Our outgoing chunk size.
 * @returns The chunks.
 * @throws {RtmpProtocolError} See {@link encodeRtmpMessage}.
 *
 * @example
 * ```ts
 * import { encodeRtmpMediaTag } from "./chunk_writer.ts";
 * import assert from "node:assert/strict";
 * const bytes = encodeRtmpMediaTag({ type: 8, timestampMs: 23, data: new Uint8Array([0xaf, 0x01]) }, 4096);
 * assert.deepEqual(bytes, new Uint8Array([0x04, 0, 0, 23, 0, 0, 2, 8, 1, 0, 0, 0, 0xaf, 0x01]));
 * ```
 */
export function encodeRtmpMediaTag(tag: FlvTag, chunkSize: number): Uint8Array {
  return encodeRtmpMessage({
    csid: MEDIA_CSID[tag.type],
    typeId: tag.type,
    streamId: RTMP_MEDIA_STREAM_ID,
    // FFmpeg's FLV demuxer (behind its RTMP client) skips onMetaData only at timestamp 0; at any
    // other time it opens a spurious "text" data stream. Metadata is not a timed sample, so it
    // goes out at 0 whatever time the hub stamped it with for a late joiner.
    timestampMs: tag.type === FlvTagType.Script ? 0 : tag.timestampMs,
    payload: tag.data,
  }, chunkSize);
}
