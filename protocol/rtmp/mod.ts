/**
 * I/O-free protocol sessions shared by the roles (SRS's protocol layer): today the RTMP client
 * session (relay pulls and pushes, the transcoder's feeds).
 *
 * @module
 */

export {
  type RtmpClientEvent,
  type RtmpClientOptions,
  RtmpClientSession,
} from "./client_session.ts";
