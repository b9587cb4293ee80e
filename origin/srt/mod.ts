/**
 * SRT ingest and play for the origin (`origin.srt.*`): libsrt through FFI (`libsrt.ts`), the
 * streamid naming the stream as SRS and MediaMTX do (`stream_id.ts`), one connection per
 * caller (`connection.ts`) demuxing MPEG-TS into the hub or muxing a hub into MPEG-TS, and the
 * listener with its epoll loop (`server.ts`).
 *
 * @module
 */

export {
  type SrtServer,
  type SrtServerDeps,
  type SrtServerOptions,
  startSrtServer,
} from "./server.ts";
export {
  parseSrtStreamId,
  SrtStreamIdError,
  type SrtStreamRequest,
} from "./stream_id.ts";
export { SrtError, SrtErrorCode } from "./libsrt.ts";
