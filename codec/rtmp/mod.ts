/**
 * RTMP: handshake, chunk stream and message codecs, all pure and I/O-free (Adobe RTMP
 * specification 1.0). Sessions (`origin/rtmp/session.ts`) and servers build on this.
 *
 * Why we wrote it instead of using a library: RTMP ingest is our hottest untrusted input and
 * the npm RTMP servers bundle sockets, global state and unbounded buffers (a chunk header can
 * claim a 16 MiB message and they allocate it). Owning the codec gives us named, enforced limits,
 * a fuzzed decoder, and a media-tag encoder whose bytes are shared by every player of a stream.
 *
 * @example
 * ```ts
 * import { encodeRtmpMediaTag, RtmpChunkReader } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const bytes = encodeRtmpMediaTag({ type: 9, timestampMs: 0x1000000, data: new Uint8Array(5000) }, 4096);
 * const reader = new RtmpChunkReader();
 * reader.push(new Uint8Array([0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0x10, 0])); // Set Chunk Size 4096
 * const [msg] = reader.push(bytes);
 * assert.equal(msg!.timestampMs, 0x1000000);
 * assert.equal(msg!.payload.byteLength, 5000);
 * ```
 *
 * @module
 */

export * from "./constants.ts";
export {
  RtmpErrorCode,
  type RtmpErrorCodeValue,
  RtmpProtocolError,
} from "./errors.ts";
export {
  type BasicHeader,
  type ChunkFormat,
  type ChunkHeader,
  decodeBasicHeader,
  decodeChunkHeader,
  encodeChunkHeader,
  MAX_CHUNK_HEADER_BYTES,
} from "./chunk_header.ts";
export {
  type ChunkReaderOptions,
  RtmpChunkReader,
  type RtmpMessage,
} from "./chunk_reader.ts";
export {
  encodeRtmpMediaTag,
  encodeRtmpMessage,
  type OutgoingRtmpMessage,
} from "./chunk_writer.ts";
export {
  type ClientHandshakeOptions,
  computeHandshakeDigest,
  digestOffset,
  findHandshakeDigest,
  type FoundDigest,
  GENUINE_FMS_KEY,
  GENUINE_FP_KEY,
  HANDSHAKE_DIGEST_BYTES,
  type HandshakeOptions,
  type HandshakeSchema,
  type HandshakeStep,
  RtmpClientHandshake,
  RtmpServerHandshake,
} from "./handshake.ts";
export * from "./messages.ts";
export { decodeAggregate } from "./aggregate.ts";
export {
  joinQuery,
  type NameWithQuery,
  type RtmpParams,
  splitConnectQuery,
  splitQuery,
} from "./stream_name.ts";
