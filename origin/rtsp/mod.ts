/**
 * RTSP for the origin (`origin.rtsp.*`): publish (ANNOUNCE/SETUP/RECORD, as ffmpeg's
 * `-f rtsp` sends) into the hub and play (DESCRIBE/SETUP/PLAY) of any live stream, RTP over
 * the RTSP connection (interleaved) or over the shared UDP pair; cameras pulled into live
 * streams (`sources.ts`). Codecs are in codec/rtsp, codec/sdp and codec/rtp.
 *
 * @module
 */

export {
  type RtspServer,
  type RtspServerDeps,
  type RtspServerOptions,
  startRtspServer,
} from "./server.ts";
export { RTSP_REALM } from "./connection.ts";
export {
  createSourceAdminRoutes,
  MAX_SOURCES,
  RtspSources,
} from "./sources.ts";
export { redactUrl, type RtspSourceStatus } from "./source.ts";
