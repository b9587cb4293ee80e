/**
 * RTMP ingest and playback for the origin: the I/O-free session (`session.ts`) and the TCP
 * server that wires it to the stream registry (`server.ts`).
 *
 * @module
 */

export {
  authorizeRtmpAccess,
  CLOSE_FLUSH_TIMEOUT_MS,
  HANDSHAKE_TIMEOUT_MS,
  MAX_CONNECTIONS,
  READ_BUFFER_BYTES,
  type RtmpAccessDecision,
  type RtmpAccessRequest,
  type RtmpRefusalReason,
  type RtmpServer,
  type RtmpServerDeps,
  type RtmpServerOptions,
  startRtmpServer,
} from "./server.ts";
export {
  DEFAULT_WINDOW_ACK_BYTES,
  MAX_STREAMS_PER_CONNECTION,
  RtmpServerSession,
  type RtmpSessionEvent,
  type RtmpSessionOptions,
} from "./session.ts";
export type { RtmpParams } from "../../codec/rtmp/mod.ts";
