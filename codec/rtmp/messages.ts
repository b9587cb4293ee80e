/**
 * RTMP message bodies: protocol control (§5.4), user control (§7.1.7), commands (§7.2) and the
 * data messages a server sends. Each `encodeX` returns an {@link OutgoingRtmpMessage} ready for
 * `encodeRtmpMessage`; each `decodeX` takes a received payload.
 *
 * @module
 */

import {
  type Amf0Object,
  type Amf0Value,
  decodeAll,
  encodeAmf0,
} from "../amf0/mod.ts";
import { Amf0FormatError } from "../amf0/mod.ts";
import type { OutgoingRtmpMessage } from "./chunk_writer.ts";
import {
  MAX_CHUNK_SIZE,
  MIN_CHUNK_SIZE,
  type PeerBandwidthLimitTypeValue,
  RtmpChunkStream,
  RtmpMessageType,
  UserControlEvent,
  type UserControlEventValue,
} from "./constants.ts";
import { RtmpErrorCode, RtmpProtocolError } from "./errors.ts";

function u32Payload(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint32(i * 4, v >>> 0));
  return out;
}

function control(typeId: number, payload: Uint8Array): OutgoingRtmpMessage {
  // §5.4: protocol control messages use chunk stream 2 and message stream 0.
  return {
    csid: RtmpChunkStream.Control,
    typeId,
    streamId: 0,
    timestampMs: 0,
    payload,
  };
}

function readU32(payload: Uint8Array, what: string, offset = 0): number {
  if (payload.byteLength < offset + 4) {
    throw new RtmpProtocolError(
      RtmpErrorCode.BadControlMessage,
      `Cannot decode ${what}: payload is ${payload.byteLength} bytes, expected at least ${
        offset + 4
      }`,
    );
  }
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
    .getUint32(offset);
}

/**
 * Set Chunk Size (§5.4.1).
 *
 * @param chunkSize Our new outgoing chunk size, bytes.
 * @returns The message.
 * @throws {RtmpProtocolError} `RTMP_NOT_ENCODABLE` outside 1..`MAX_CHUNK_SIZE`.
 *
 * @example
 * ```ts
 * import { encodeSetChunkSize } from "./messages.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(encodeSetChunkSize(4096).payload, new Uint8Array([0, 0, 0x10, 0]));
 * ```
 */
export function encodeSetChunkSize(chunkSize: number): OutgoingRtmpMessage {
  if (
    !Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE ||
    chunkSize > MAX_CHUNK_SIZE
  ) {
    throw new RtmpProtocolError(
      RtmpErrorCode.NotEncodable,
      `Cannot encode Set Chunk Size: ${chunkSize}, expected ${MIN_CHUNK_SIZE}..${MAX_CHUNK_SIZE}`,
    );
  }
  return control(RtmpMessageType.SetChunkSize, u32Payload(chunkSize));
}

/** Reads a Set Chunk Size body (§5.4.1). @throws {RtmpProtocolError} When short. */
export function decodeSetChunkSize(payload: Uint8Array): number {
  return readU32(payload, "Set Chunk Size") & 0x7fffffff;
}

/** Abort Message (§5.4.2): drop the partial message on `csid`. */
export function encodeAbort(csid: number): OutgoingRtmpMessage {
  return control(RtmpMessageType.Abort, u32Payload(csid));
}

/** Reads an Abort body: the chunk stream id. @throws {RtmpProtocolError} When short. */
export function decodeAbort(payload: Uint8Array): number {
  return readU32(payload, "Abort");
}

/** Acknowledgement (§5.4.3): total bytes received so far, modulo 2^32. */
export function encodeAcknowledgement(
  sequenceNumber: number,
): OutgoingRtmpMessage {
  return control(
    RtmpMessageType.Acknowledgement,
    u32Payload(sequenceNumber % 0x100000000),
  );
}

/** Reads an Acknowledgement body. @throws {RtmpProtocolError} When short. */
export function decodeAcknowledgement(payload: Uint8Array): number {
  return readU32(payload, "Acknowledgement");
}

/** Window Acknowledgement Size (§5.4.4): ack after this many bytes. */
export function encodeWindowAckSize(windowBytes: number): OutgoingRtmpMessage {
  return control(RtmpMessageType.WindowAckSize, u32Payload(windowBytes));
}

/** Reads a Window Acknowledgement Size body. @throws {RtmpProtocolError} When short. */
export function decodeWindowAckSize(payload: Uint8Array): number {
  return readU32(payload, "Window Acknowledgement Size");
}

/** Set Peer Bandwidth (§5.4.5). */
export function encodeSetPeerBandwidth(
  windowBytes: number,
  limitType: PeerBandwidthLimitTypeValue,
): OutgoingRtmpMessage {
  const payload = new Uint8Array(5);
  new DataView(payload.buffer).setUint32(0, windowBytes >>> 0);
  payload[4] = limitType;
  return control(RtmpMessageType.SetPeerBandwidth, payload);
}

/** Reads a Set Peer Bandwidth body. @throws {RtmpProtocolError} When short. */
export function decodeSetPeerBandwidth(
  payload: Uint8Array,
): { windowBytes: number; limitType: number } {
  const windowBytes = readU32(payload, "Set Peer Bandwidth");
  if (payload.byteLength < 5) {
    throw new RtmpProtocolError(
      RtmpErrorCode.BadControlMessage,
      `Cannot decode Set Peer Bandwidth: payload is ${payload.byteLength} bytes, expected 5`,
    );
  }
  return { windowBytes, limitType: payload[4]! };
}

/** A User Control event (§7.1.7). `value` is the stream id, or the ping timestamp. */
export interface UserControl {
  readonly event: number;
  readonly value: number;
  /** SetBufferLength only: the buffer length in milliseconds. */
  readonly bufferLengthMs?: number;
}

/**
 * User Control message (§7.1.7), on chunk stream 2 and message stream 0 (§6.2).
 *
 * @example
 * ```ts
 * import { encodeUserControl } from "./messages.ts";
 * import assert from "node:assert/strict";
 * // StreamBegin for stream 1
 * assert.deepEqual(encodeUserControl(0, 1).payload, new Uint8Array([0, 0, 0, 0, 0, 1]));
 * ```
 */
export function encodeUserControl(
  event: UserControlEventValue,
  value: number,
  bufferLengthMs?: number,
): OutgoingRtmpMessage {
  const extra = event === UserControlEvent.SetBufferLength ? 4 : 0;
  const payload = new Uint8Array(6 + extra);
  const view = new DataView(payload.buffer);
  view.setUint16(0, event);
  view.setUint32(2, value >>> 0);
  if (extra) view.setUint32(6, (bufferLengthMs ?? 0) >>> 0);
  return control(RtmpMessageType.UserControl, payload);
}

/** Reads a User Control body. @throws {RtmpProtocolError} When short. */
export function decodeUserControl(payload: Uint8Array): UserControl {
  if (payload.byteLength < 6) {
    throw new RtmpProtocolError(
      RtmpErrorCode.BadControlMessage,
      `Cannot decode User Control: payload is ${payload.byteLength} bytes, expected at least 6`,
    );
  }
  const view = new DataView(
    payload.buffer,
    payload.byteOffset,
    payload.byteLength,
  );
  const event = view.getUint16(0);
  const value = view.getUint32(2);
  if (event === UserControlEvent.SetBufferLength && payload.byteLength >= 10) {
    return { event, value, bufferLengthMs: view.getUint32(6) };
  }
  return { event, value };
}

/** A decoded command message (§7.2): name, transaction id, command object, arguments. */
export interface RtmpCommand {
  readonly name: string;
  readonly transactionId: number;
  /** The command object; `null` for stream commands (publish, play). */
  readonly commandObject: Amf0Value;
  readonly args: readonly Amf0Value[];
}

/**
 * Decodes a command message body. Type 17 (AMF3 command) bodies start with a format byte 0
 * followed by AMF0, which is what Flash sends with `objectEncoding = 3`; we skip that byte.
 *
 * @param payload The message body.
 * @param typeId `RtmpMessageType.CommandAmf0` or `CommandAmf3`.
 * @returns The command.
 * @throws {RtmpProtocolError} `RTMP_BAD_COMMAND` when the AMF0 is malformed or the name is not
 *   a string; the AMF0 error is the cause.
 *
 * @example
 * ```ts
 * import { decodeCommand, encodeCommand } from "./messages.ts";
 * import assert from "node:assert/strict";
 * const msg = encodeCommand({ name: "createStream", transactionId: 2, commandObject: null, args: [] });
 * assert.deepEqual(decodeCommand(msg.payload, 20), { name: "createStream", transactionId: 2, commandObject: null, args: [] });
 * ```
 */
export function decodeCommand(
  payload: Uint8Array,
  typeId: number,
): RtmpCommand {
  const body = typeId === RtmpMessageType.CommandAmf3 && payload[0] === 0
    ? payload.subarray(1)
    : payload;
  let values: Amf0Value[];
  try {
    values = decodeAll(body);
  } catch (err) {
    if (err instanceof Amf0FormatError) {
      throw new RtmpProtocolError(
        RtmpErrorCode.BadCommand,
        `Cannot decode command message: ${err.message}`,
        { cause: err },
      );
    }
    throw err;
  }
  const [name, transactionId, commandObject, ...args] = values;
  if (typeof name !== "string") {
    throw new RtmpProtocolError(
      RtmpErrorCode.BadCommand,
      `Cannot decode command message: name is ${
        describe(name)
      }, expected a string`,
    );
  }
  return {
    name,
    transactionId: typeof transactionId === "number" ? transactionId : 0,
    commandObject: commandObject ?? null,
    args,
  };
}

/**
 * Decodes a data message body (type 18, or 15 with its leading format byte) into AMF0 values.
 *
 * @throws {RtmpProtocolError} `RTMP_BAD_COMMAND` when the AMF0 is malformed.
 */
export function decodeDataMessage(
  payload: Uint8Array,
  typeId: number,
): Amf0Value[] {
  const body = typeId === RtmpMessageType.DataAmf3 && payload[0] === 0
    ? payload.subarray(1)
    : payload;
  try {
    return decodeAll(body);
  } catch (err) {
    if (err instanceof Amf0FormatError) {
      throw new RtmpProtocolError(
        RtmpErrorCode.BadCommand,
        `Cannot decode data message: ${err.message}`,
        { cause: err },
      );
    }
    throw err;
  }
}

function describe(v: Amf0Value): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : typeof v;
}

/**
 * Encodes a command (type 20) on the command chunk stream.
 *
 * @param command Name, transaction id, command object and arguments.
 * @param streamId Message stream id (0 for NetConnection, the stream's id for NetStream).
 * @returns The message.
 */
export function encodeCommand(
  command: RtmpCommand,
  streamId = 0,
): OutgoingRtmpMessage {
  return {
    csid: RtmpChunkStream.Command,
    typeId: RtmpMessageType.CommandAmf0,
    streamId,
    timestampMs: 0,
    payload: encodeAmf0(
      command.name,
      command.transactionId,
      command.commandObject,
      ...command.args,
    ),
  };
}

/** `_result` for a transaction (§7.2.1.1, §7.2.1.3). */
export function encodeResult(
  transactionId: number,
  commandObject: Amf0Value,
  ...args: Amf0Value[]
): OutgoingRtmpMessage {
  return encodeCommand({ name: "_result", transactionId, commandObject, args });
}

/** `_error` for a transaction. */
export function encodeErrorResult(
  transactionId: number,
  info: StatusInfo,
): OutgoingRtmpMessage {
  return encodeCommand({
    name: "_error",
    transactionId,
    commandObject: null,
    args: [statusObject(info)],
  });
}

/** The info object of an `onStatus` or `_error` (§7.2.2): level, code, description. */
export interface StatusInfo {
  readonly level: "status" | "error" | "warning";
  /** E.g. `NetStream.Publish.Start`. */
  readonly code: string;
  readonly description: string;
  /** Extra properties (`details`, `clientid`, `objectEncoding` …). */
  readonly extra?: Amf0Object;
}

function statusObject(info: StatusInfo): Amf0Object {
  return {
    level: info.level,
    code: info.code,
    description: info.description,
    ...info.extra,
  };
}

/**
 * `onStatus` on a NetStream (§7.2.2): transaction 0, null command object, the info object.
 *
 * @example
 * ```ts
 * import { decodeCommand, encodeOnStatus } from "./messages.ts";
 * import assert from "node:assert/strict";
 * const msg = encodeOnStatus(1, { level: "status", code: "NetStream.Play.Start", description: "Start live" });
 * assert.equal(msg.streamId, 1);
 * assert.deepEqual(decodeCommand(msg.payload, 20).args, [
 *   { level: "status", code: "NetStream.Play.Start", description: "Start live" },
 * ]);
 * ```
 */
export function encodeOnStatus(
  streamId: number,
  info: StatusInfo,
): OutgoingRtmpMessage {
  return encodeCommand(
    {
      name: "onStatus",
      transactionId: 0,
      commandObject: null,
      args: [statusObject(info)],
    },
    streamId,
  );
}

/**
 * `onBWDone`: some Flash-era clients (FMLE, old players) wait for it after `connect` before
 * they go on; FFmpeg and OBS ignore it.
 */
export function encodeOnBwDone(): OutgoingRtmpMessage {
  return encodeCommand({
    name: "onBWDone",
    transactionId: 0,
    commandObject: null,
    args: [8192],
  });
}

/**
 * `|RtmpSampleAccess` data message: lets Flash players read the audio and video samples
 * (BitmapData.draw, SoundMixer.computeSpectrum); FMS sends it before media.
 */
export function encodeSampleAccess(streamId: number): OutgoingRtmpMessage {
  return {
    csid: RtmpChunkStream.Data,
    typeId: RtmpMessageType.DataAmf0,
    streamId,
    timestampMs: 0,
    payload: encodeAmf0("|RtmpSampleAccess", true, true),
  };
}

/** A data message (type 18) with the given AMF0 values, e.g. `onMetaData`. */
export function encodeDataMessage(
  streamId: number,
  timestampMs: number,
  ...values: Amf0Value[]
): OutgoingRtmpMessage {
  return {
    csid: RtmpChunkStream.Data,
    typeId: RtmpMessageType.DataAmf0,
    streamId,
    timestampMs,
    payload: encodeAmf0(...values),
  };
}
