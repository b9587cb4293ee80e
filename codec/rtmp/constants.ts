/**
 * RTMP protocol numbers and our limits (Adobe RTMP specification 1.0, 2012-12-21).
 *
 * @module
 */

/** The only protocol version we speak: plain RTMP (§5.2.2). 6 would be RTMPE. */
export const RTMP_VERSION = 3;

/** Size of C1/S1 and C2/S2 (§5.2.3). */
export const RTMP_HANDSHAKE_SIZE = 1536;

/** Chunk size both sides assume until a Set Chunk Size message (§5.4.1). */
export const RTMP_DEFAULT_CHUNK_SIZE = 128;

/**
 * Largest chunk size we accept from a peer, in bytes. The spec allows up to 0x7fffffff
 * (§5.4.1), but FFmpeg and OBS send 4096 and the largest we have seen in the wild is ~60000
 * (some hardware encoders): 65536 covers them and keeps one chunk's buffering bounded.
 */
export const MAX_CHUNK_SIZE = 65536;

/** Smallest legal chunk size (§5.4.1: "The maximum chunk size should be at least 128 bytes", but 1 is legal). */
export const MIN_CHUNK_SIZE = 1;

/**
 * Largest RTMP message we reassemble, in bytes. A 1080p keyframe at 8 Mbit/s is ~1 MiB;
 * 8 MiB leaves room for 4K keyframes while bounding what a hostile length field can reserve.
 */
export const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

/**
 * Sum of the declared lengths of all partly received messages on one connection, in bytes.
 * Each partial message reserves its full length up front; this caps the total a client can
 * make us reserve by opening many chunk streams at once.
 */
export const MAX_PENDING_MESSAGE_BYTES = 16 * 1024 * 1024;

/**
 * Chunk streams one connection may use. Real clients use 2–8 (control, command, audio, video,
 * data); the spec allows 65597 (§5.3.1.1).
 */
export const MAX_CHUNK_STREAMS = 64;

/** Largest chunk stream id the 3-byte basic header can carry (§5.3.1.1). */
export const MAX_CHUNK_STREAM_ID = 65599;

/** Timestamps at or above this go in the extended timestamp field (§5.3.1.3). */
export const EXTENDED_TIMESTAMP_MARKER = 0xffffff;

/** Message type ids (§5.4, §7.1). */
export const RtmpMessageType = {
  SetChunkSize: 1,
  Abort: 2,
  Acknowledgement: 3,
  UserControl: 4,
  WindowAckSize: 5,
  SetPeerBandwidth: 6,
  Audio: 8,
  Video: 9,
  DataAmf3: 15,
  SharedObjectAmf3: 16,
  CommandAmf3: 17,
  DataAmf0: 18,
  SharedObjectAmf0: 19,
  CommandAmf0: 20,
  Aggregate: 22,
} as const;

/** One of {@link RtmpMessageType}'s values. */
export type RtmpMessageTypeValue =
  (typeof RtmpMessageType)[keyof typeof RtmpMessageType];

/** User Control event types (§7.1.7). */
export const UserControlEvent = {
  StreamBegin: 0,
  StreamEof: 1,
  StreamDry: 2,
  SetBufferLength: 3,
  StreamIsRecorded: 4,
  PingRequest: 6,
  PingResponse: 7,
} as const;

/** One of {@link UserControlEvent}'s values. */
export type UserControlEventValue =
  (typeof UserControlEvent)[keyof typeof UserControlEvent];

/** Set Peer Bandwidth limit types (§5.4.5). */
export const PeerBandwidthLimitType = { Hard: 0, Soft: 1, Dynamic: 2 } as const;

/** One of {@link PeerBandwidthLimitType}'s values. */
export type PeerBandwidthLimitTypeValue =
  (typeof PeerBandwidthLimitType)[keyof typeof PeerBandwidthLimitType];

/**
 * Chunk stream ids we send on. 2 is reserved for protocol control (§5.3.1.1, §5.4); the rest
 * follow the FMS/FFmpeg habit. Every message we send starts with a type-0 header, so sharing a
 * chunk stream between message kinds never depends on earlier header state.
 */
export const RtmpChunkStream = {
  Control: 2,
  Command: 3,
  Audio: 4,
  Data: 5,
  Video: 6,
} as const;

/** The message stream id media goes out on: the first `createStream` gets 1. */
export const RTMP_MEDIA_STREAM_ID = 1;
