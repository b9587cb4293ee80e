/**
 * Incremental RTMP chunk stream reader (§5.3): feed arbitrary byte slices, get whole messages.
 *
 * It applies Set Chunk Size and Abort itself, in stream order, because they change how the very
 * next chunk must be parsed (§5.4.1, §5.4.2); both are still returned so the session can log
 * them.
 *
 * @module
 */

import {
  MAX_CHUNK_SIZE,
  MAX_CHUNK_STREAMS,
  MAX_MESSAGE_BYTES,
  MAX_PENDING_MESSAGE_BYTES,
  MIN_CHUNK_SIZE,
  RTMP_DEFAULT_CHUNK_SIZE,
  RtmpMessageType,
} from "./constants.ts";
import {
  decodeBasicHeader,
  decodeChunkHeader,
  MAX_CHUNK_HEADER_BYTES,
} from "./chunk_header.ts";
import { RtmpErrorCode, RtmpProtocolError } from "./errors.ts";

/** One reassembled RTMP message. */
export interface RtmpMessage {
  /** Chunk stream it arrived on (2..65599). */
  readonly csid: number;
  /** Message type id; see `RtmpMessageType`. */
  readonly typeId: number;
  /** Message stream id (0 for control and NetConnection commands). */
  readonly streamId: number;
  /** Absolute timestamp in milliseconds, modulo 2^32. */
  readonly timestampMs: number;
  /** The message body; owned by the receiver (never a view of the input). */
  readonly payload: Uint8Array;
}

/** Options of {@link RtmpChunkReader}; each defaults to the constant of the same name. */
export interface ChunkReaderOptions {
  /** Largest Set Chunk Size accepted, bytes. @default MAX_CHUNK_SIZE (65536) */
  readonly maxChunkSize?: number;
  /** Largest message reassembled, bytes. @default MAX_MESSAGE_BYTES (8 MiB) */
  readonly maxMessageBytes?: number;
  /** Sum of declared lengths of partial messages, bytes. @default MAX_PENDING_MESSAGE_BYTES (16 MiB) */
  readonly maxPendingBytes?: number;
  /** Chunk streams tracked at once. @default MAX_CHUNK_STREAMS (64) */
  readonly maxChunkStreams?: number;
}

/** Per chunk stream header state (§5.3.1.2: fmt 1–3 inherit from the previous chunk). */
interface ChunkStreamState {
  timestampMs: number;
  /** The last timestamp field (absolute after fmt 0, delta after fmt 1/2): fmt 3 reuses it. */
  timestampField: number;
  extended: boolean;
  messageLength: number;
  typeId: number;
  streamId: number;
  /** The message being reassembled, if any. */
  payload: Uint8Array | undefined;
  received: number;
}

const EMPTY = new Uint8Array(0);

/**
 * Reassembles RTMP messages from chunks.
 *
 * "Need more bytes" is not an error: `push` keeps the incomplete tail (at most one chunk) and
 * returns the messages completed so far.
 *
 * @example
 * ```ts
 * import { RtmpChunkReader } from "./chunk_reader.ts";
 * import { encodeRtmpMessage } from "./chunk_writer.ts";
 * import assert from "node:assert/strict";
 * const bytes = encodeRtmpMessage(
 *   { csid: 6, typeId: 9, streamId: 1, timestampMs: 40, payload: new Uint8Array(300) },
 *   128,
 * );
 * const reader = new RtmpChunkReader();
 * assert.deepEqual(reader.push(bytes.subarray(0, 100)), []);
 * const [msg] = reader.push(bytes.subarray(100));
 * assert.equal(msg!.payload.byteLength, 300);
 * assert.equal(msg!.timestampMs, 40);
 * ```
 */
export class RtmpChunkReader {
  #chunkSize = RTMP_DEFAULT_CHUNK_SIZE;
  #states = new Map<number, ChunkStreamState>();
  #leftover: Uint8Array = EMPTY;
  #pendingBytes = 0;
  #maxChunkSize: number;
  #maxMessageBytes: number;
  #maxPendingBytes: number;
  #maxChunkStreams: number;
  #out: RtmpMessage[] = [];

  constructor(options: ChunkReaderOptions = {}) {
    this.#maxChunkSize = options.maxChunkSize ?? MAX_CHUNK_SIZE;
    this.#maxMessageBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
    this.#maxPendingBytes = options.maxPendingBytes ??
      MAX_PENDING_MESSAGE_BYTES;
    this.#maxChunkStreams = options.maxChunkStreams ?? MAX_CHUNK_STREAMS;
  }

  /** The peer's current chunk size in bytes. */
  get chunkSize(): number {
    return this.#chunkSize;
  }

  /** Bytes held back waiting for the rest of a chunk. */
  get bufferedBytes(): number {
    return this.#leftover.byteLength;
  }

  /**
   * Feeds bytes; returns every message they complete, in order.
   *
   * @param input Any slice of the chunk stream. Not retained: partial data is copied.
   * @returns Completed messages (possibly none).
   * @throws {RtmpProtocolError} On malformed chunks or exceeded limits. The reader is then in
   *   an undefined state: close the connection.
   */
  push(input: Uint8Array): RtmpMessage[] {
    this.#out = [];
    let from = 0;
    if (this.#leftover.byteLength > 0) {
      // Only one chunk starts in the leftover, and it ends within one maximal header plus one
      // chunk: joining that much of the input is enough to finish it, without copying the rest.
      const held = this.#leftover;
      const take = Math.min(
        input.byteLength,
        MAX_CHUNK_HEADER_BYTES + this.#chunkSize,
      );
      const joined = new Uint8Array(held.byteLength + take);
      joined.set(held);
      joined.set(input.subarray(0, take), held.byteLength);
      const pos = this.#parse(joined, 0, held.byteLength);
      if (pos < held.byteLength) {
        this.#leftover = joined.slice(pos);
        return this.#out;
      }
      from = pos - held.byteLength;
    }
    const pos = this.#parse(input, from, input.byteLength);
    this.#leftover = pos < input.byteLength ? input.slice(pos) : EMPTY;
    return this.#out;
  }

  /** Parses whole chunks starting before `stopAt`; returns the position after the last one. */
  #parse(bytes: Uint8Array, start: number, stopAt: number): number {
    let pos = start;
    while (pos < stopAt) {
      const basic = decodeBasicHeader(bytes, pos);
      if (basic === undefined) break;
      let state = this.#states.get(basic.csid);
      if (state === undefined && basic.fmt !== 0) {
        throw new RtmpProtocolError(
          RtmpErrorCode.BadChunkHeader,
          `Cannot decode chunk: fmt ${basic.fmt} on chunk stream ${basic.csid} before any fmt 0 header`,
        );
      }
      let fmt3Extended = false;
      if (basic.fmt === 3 && state !== undefined && state.extended) {
        if (state.payload === undefined) {
          fmt3Extended = true;
        } else {
          // Continuation chunks: FFmpeg and Flash repeat the extended timestamp, some encoders
          // do not (§5.3.1.3 is ambiguous). Consume it only when it repeats the field.
          const match = matchesExtended(
            bytes,
            pos + basic.size,
            state.timestampField,
          );
          if (match === undefined) break;
          fmt3Extended = match;
        }
      }
      const header = decodeChunkHeader(bytes, pos, fmt3Extended);
      if (header === undefined) break;

      const startsMessage = header.fmt !== 3 || state === undefined ||
        state.payload === undefined;
      let messageLength: number;
      if (header.fmt <= 1) messageLength = header.messageLength!;
      else messageLength = state!.messageLength;
      if (startsMessage && messageLength > this.#maxMessageBytes) {
        throw new RtmpProtocolError(
          RtmpErrorCode.MessageTooLarge,
          `Cannot decode chunk: message length ${messageLength} on chunk stream ${header.csid} exceeds ${this.#maxMessageBytes}`,
        );
      }
      const received = startsMessage ? 0 : state!.received;
      const dataBytes = Math.min(this.#chunkSize, messageLength - received);
      const dataStart = pos + header.size;
      if (dataStart + dataBytes > bytes.byteLength) break;

      // The whole chunk is here: commit header state.
      if (state === undefined) {
        if (this.#states.size >= this.#maxChunkStreams) {
          throw new RtmpProtocolError(
            RtmpErrorCode.TooManyChunkStreams,
            `Cannot decode chunk: chunk stream ${header.csid} would exceed ${this.#maxChunkStreams} chunk streams`,
          );
        }
        state = {
          timestampMs: 0,
          timestampField: 0,
          extended: false,
          messageLength: 0,
          typeId: 0,
          streamId: 0,
          payload: undefined,
          received: 0,
        };
        this.#states.set(header.csid, state);
      }
      if (startsMessage) {
        if (state.payload !== undefined) {
          // A new header in the middle of a message: the peer gave up on it without an Abort.
          this.#dropPartial(state);
        }
        if (header.fmt === 0) {
          state.timestampMs = header.timestamp!;
          state.timestampField = header.timestamp!;
          state.streamId = header.streamId!;
        } else if (header.fmt === 1 || header.fmt === 2) {
          state.timestampField = header.timestamp!;
          state.timestampMs = (state.timestampMs + header.timestamp!) %
            0x100000000;
        } else {
          // fmt 3 starting a message reuses the previous delta (§5.3.1.2.4); after a fmt 0
          // header that "delta" is the absolute field, as FFmpeg and librtmp treat it.
          state.timestampMs = (state.timestampMs + state.timestampField) %
            0x100000000;
        }
        if (header.fmt !== 3) state.extended = header.extended;
        if (header.fmt <= 1) {
          state.messageLength = messageLength;
          state.typeId = header.typeId!;
        }
        if (this.#pendingBytes + messageLength > this.#maxPendingBytes) {
          throw new RtmpProtocolError(
            RtmpErrorCode.MessageTooLarge,
            `Cannot decode chunk: ${
              this.#pendingBytes + messageLength
            } bytes of partial messages exceed ${this.#maxPendingBytes}`,
          );
        }
        state.payload = new Uint8Array(messageLength);
        state.received = 0;
        this.#pendingBytes += messageLength;
      }
      const payload = state.payload!;
      payload.set(
        bytes.subarray(dataStart, dataStart + dataBytes),
        state.received,
      );
      state.received += dataBytes;
      pos = dataStart + dataBytes;
      if (state.received === state.messageLength) {
        this.#pendingBytes -= state.messageLength;
        state.payload = undefined;
        const message: RtmpMessage = {
          csid: header.csid,
          typeId: state.typeId,
          streamId: state.streamId,
          timestampMs: state.timestampMs,
          payload,
        };
        this.#applyControl(message);
        this.#out.push(message);
      }
    }
    return pos;
  }

  #dropPartial(state: ChunkStreamState): void {
    if (state.payload === undefined) return;
    this.#pendingBytes -= state.messageLength;
    state.payload = undefined;
    state.received = 0;
  }

  /** Set Chunk Size and Abort take effect before the next chunk is parsed (§5.4.1, §5.4.2). */
  #applyControl(message: RtmpMessage): void {
    if (message.typeId === RtmpMessageType.SetChunkSize) {
      const size = readControlU32(message, "Set Chunk Size");
      // §5.4.1: the top bit must be zero.
      if (size < MIN_CHUNK_SIZE || size > this.#maxChunkSize) {
        throw new RtmpProtocolError(
          RtmpErrorCode.BadChunkSize,
          `Cannot apply Set Chunk Size: ${size}, expected ${MIN_CHUNK_SIZE}..${this.#maxChunkSize}`,
        );
      }
      this.#chunkSize = size;
    } else if (message.typeId === RtmpMessageType.Abort) {
      const csid = readControlU32(message, "Abort");
      const target = this.#states.get(csid);
      if (target !== undefined) this.#dropPartial(target);
    }
  }
}

function readControlU32(message: RtmpMessage, what: string): number {
  const p = message.payload;
  if (p.byteLength < 4) {
    throw new RtmpProtocolError(
      RtmpErrorCode.BadControlMessage,
      `Cannot decode ${what}: payload is ${p.byteLength} bytes, expected 4`,
    );
  }
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

/**
 * Whether the 4 bytes at `p` repeat `field`: true, false, or `undefined` when the bytes present
 * match so far but fewer than 4 have arrived. A mismatch in the first bytes decides at once.
 */
function matchesExtended(
  bytes: Uint8Array,
  p: number,
  field: number,
): boolean | undefined {
  for (let i = 0; i < 4; i++) {
    if (p + i >= bytes.byteLength) return undefined;
    if (bytes[p + i] !== ((field >>> (24 - 8 * i)) & 0xff)) return false;
  }
  return true;
}
