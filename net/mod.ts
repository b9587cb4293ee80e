/**
 * Networking below the roles: what every listener of every role shares: connection admission
 * (`conn_guard.ts`), the HTTP/1.1 server every HTTP port serves on (`http1/`), and HTTP's
 * conditional and range requests (`http/conditional.ts`).
 *
 * @module
 */

export {
  ConnGuard,
  type ConnGuardOptions,
  type ConnGuardStats,
  type ConnRefusal,
  ConnState,
  ConnTicket,
  guardFromLimits,
  type ListenerLimits,
  parseTrustedNetworks,
  registerConnGuard,
} from "./conn_guard.ts";
export {
  type ByteRange,
  etagMatches,
  ifRangeAllows,
  isNotModified,
  NOT_MODIFIED_FIELDS,
  parseRange,
} from "./http/conditional.ts";
export {
  closeDelimited,
  createLiveBody,
  type FastAnswer,
  type FastPath,
  type Http1ConnInfo,
  type Http1Handler,
  http1Limits,
  type Http1Server,
  type Http1ServerOptions,
  HTTP_METHODS,
  httpDate,
  type LiveBodyInit,
  type LiveOut,
  liveResponse,
  type LiveSink,
  type LiveSource,
  type RequestHead,
  serveHttp1,
} from "./http1/mod.ts";
