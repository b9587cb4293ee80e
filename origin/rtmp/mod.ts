/**
 * RTMP ingest and playback for the origin: the I/O-free session (`session.ts`), one client
 * connection wired to the stream registry (`connection.ts`, writing through
 * `socket_writer.ts`), and the TCP listener that accepts and admits them (`listener.ts`).
 * The access checks a publish or play passes live in `../auth/rtmp.ts`; the query splitting of
 * names in `codec/rtmp/stream_name.ts`.
 *
 * @module
 */

export {
  MAX_CONNECTIONS,
  REFUSAL_LOG_INTERVAL_MS,
  type RtmpServer,
  type RtmpServerDeps,
  type RtmpServerOptions,
  startRtmpServer,
} from "./listener.ts";
export {
  CLOSE_FLUSH_TIMEOUT_MS,
  HANDSHAKE_TIMEOUT_MS,
  IDLE_PERIODS,
  READ_BUFFER_BYTES,
  type RtmpConnectionOptions,
  type RtmpRefusalReason,
  type RtmpVodSource,
} from "./connection.ts";
export {
  DEFAULT_WINDOW_ACK_BYTES,
  MAX_STREAMS_PER_CONNECTION,
  RtmpServerSession,
  type RtmpSessionEvent,
  type RtmpSessionOptions,
} from "./session.ts";
export type { RtmpParams } from "../../codec/rtmp/mod.ts";
