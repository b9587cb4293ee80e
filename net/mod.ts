/**
 * Networking below the roles: what every listener of every role shares (connection admission
 * today; the HTTP/1.1 server and TLS as they move here).
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
  checkResumeQuery,
  createResumeApi,
  MAX_VIDEO_KEY_CHARS,
  MAX_VIEWER_ID_CHARS,
  parseResumeBody,
  RESUME_KEY_SECRET,
  type ResumeApiDeps,
} from "./http/resume_api.ts";
