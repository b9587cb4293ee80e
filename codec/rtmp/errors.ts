/**
 * Errors of the RTMP codec and session.
 *
 * @module
 */

import { CodedError } from "../../errors/mod.ts";

/** Stable codes of {@link RtmpProtocolError}, each with what it means. */
export const RtmpErrorCode = {
  /** C0 is not version 3 (garbage, HTTP, or RTMPE which we do not speak). */
  BadVersion: "RTMP_BAD_VERSION",
  /** The handshake did not go as §5.2 requires. */
  BadHandshake: "RTMP_BAD_HANDSHAKE",
  /** A chunk header that cannot be valid (fmt 1–3 before fmt 0, bad csid). */
  BadChunkHeader: "RTMP_BAD_CHUNK_HEADER",
  /** Set Chunk Size outside 1..`MAX_CHUNK_SIZE`. */
  BadChunkSize: "RTMP_BAD_CHUNK_SIZE",
  /** A message longer than `MAX_MESSAGE_BYTES` or the pending-bytes budget. */
  MessageTooLarge: "RTMP_MESSAGE_TOO_LARGE",
  /** More chunk streams than `MAX_CHUNK_STREAMS`. */
  TooManyChunkStreams: "RTMP_TOO_MANY_CHUNK_STREAMS",
  /** A protocol control or user control message with the wrong size or values. */
  BadControlMessage: "RTMP_BAD_CONTROL_MESSAGE",
  /** A command or data message whose AMF body cannot be decoded or lacks required fields. */
  BadCommand: "RTMP_BAD_COMMAND",
  /** A command that is not allowed in the session's state (publish before connect …). */
  UnexpectedCommand: "RTMP_UNEXPECTED_COMMAND",
  /** An Aggregate message whose sub-tags do not fit its body (FLV spec §E.4.1 framing). */
  BadAggregate: "RTMP_BAD_AGGREGATE",
  /** A value the encoder cannot put on the wire (negative stream id …). */
  NotEncodable: "RTMP_NOT_ENCODABLE",
} as const;

/** One of {@link RtmpErrorCode}'s values. */
export type RtmpErrorCodeValue =
  (typeof RtmpErrorCode)[keyof typeof RtmpErrorCode];

/**
 * A peer broke the RTMP protocol; the server closes that connection only.
 *
 * @example
 * ```ts
 * import { RtmpProtocolError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const e = new RtmpProtocolError("RTMP_BAD_VERSION", "Cannot start handshake: version 71, expected 3");
 * assert.equal(e.code, "RTMP_BAD_VERSION");
 * assert.equal(e.name, "RtmpProtocolError");
 * ```
 */
export class RtmpProtocolError extends CodedError<RtmpErrorCodeValue> {
  override name = "RtmpProtocolError";
}
