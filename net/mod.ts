/**
 * Networking below the roles: what every listener of every role shares: connection admission
 * (`conn_guard.ts`), opening listeners at start-up and closing them when a start-up fails
 * (`listen.ts`), the HTTP/1.1 server every HTTP port serves on (`http1/`), TLS for listeners
 * and upstreams (`tls/`: certificates by SNI, reloaded from their files), HTTP's conditional
 * and range requests (`http/conditional.ts`), the admin gate, lockout and JSON replies.
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
  NetError,
  NetErrorCode,
  type NetErrorCodeValue,
  openListener,
  StartupCleanup,
} from "./listen.ts";
export {
  type ByteRange,
  etagMatches,
  ifRangeAllows,
  isNotModified,
  NOT_MODIFIED_FIELDS,
  parseRange,
} from "./http/conditional.ts";
export {
  createAdminGate,
  createBearerAuth,
  DEFAULT_ADMIN_LOCKOUT,
} from "./http/admin_gate.ts";
export {
  FailureLockout,
  type LockoutOptions,
  type LockoutVerdict,
} from "./http/lockout.ts";
export {
  clientAddress,
  type ConnInfoEnv,
  type JsonBody,
  MAX_ADMIN_BODY_BYTES,
  NO_STORE,
  readJsonBody,
  textError,
} from "./http/respond.ts";
export {
  accessRecordOf,
  closeDelimited,
  createLiveBody,
  type FastAnswer,
  type FastPath,
  type Http1ConnInfo,
  Http1Exchange,
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
  type PulledBody,
  pulledBodyOf,
  pulledResponse,
  requestField,
  type RequestHead,
  serveHttp1,
} from "./http1/mod.ts";
export {
  checkResumeQuery,
  createResumeApi,
  MAX_VIDEO_KEY_CHARS,
  MAX_VIEWER_ID_CHARS,
  parseResumeBody,
  RESUME_KEY_SECRET,
  type ResumeApiDeps,
} from "./http/resume_api.ts";
export {
  dialUrl,
  isTlsUrl,
  openTlsServing,
  readCaCertificates,
  TlsError,
  TlsErrorCode,
  type TlsServing,
} from "./tls/mod.ts";
