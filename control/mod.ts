/**
 * The control role: token service (`/gettoken`), admin API (`/admin/*`: tokens, purge, edges,
 * streams, the library, recordings and clips on the origins, config edits), `/healthz`,
 * `/metrics` and the web console (视频管理系统: `/`, web/console/, in English and Chinese),
 * signed in with the admin token or an operator account, on port 8088 by default.
 *
 * Token checks and sessions that origin and edge enforce live below the roles, in access/.
 *
 * @module
 */

export {
  type ControlAppDeps,
  type ControlAppOptions,
  createControlApp,
} from "./app.ts";
export {
  type AdminEdgeView,
  type AdminStreamView,
  type AdminTokenView,
  parseMintBody,
  toAdminEdges,
  toAdminStreams,
  toAdminView,
} from "./admin.ts";
export { redactConfig, REDACTED, SECRET_KEY_RE } from "./config_view.ts";
export {
  consoleCsp,
  ENDPOINTS_TEXT,
  loadConsoleFiles,
  loadConsolePage,
} from "./console.ts";
export {
  type ConsoleAuthOptions,
  type ControlEnv,
  createConsoleAuthRoutes,
  createControlGate,
  type Principal,
} from "./console_auth.ts";
export {
  type ConsoleSession,
  ConsoleSessions,
  CSRF_HEADER,
  SESSION_COOKIE,
} from "./console_session.ts";
export {
  authenticateOperator,
  type OperatorAccount,
  type OperatorRole,
} from "./operators.ts";
export { buildOverview, type NodeView, type Overview } from "./overview.ts";
export {
  checkSectionEdit,
  type ConfigSettings,
  type KeyProblem,
  unredact,
} from "./settings.ts";
export { OriginDirectory, type OriginRef } from "./origins.ts";
export { ControlError, ControlErrorCode } from "./errors.ts";
export {
  checkAppName,
  MAX_TOKEN_DURATION_SECONDS,
  MAX_TOKEN_USES,
  type MintSpec,
  mintToken,
  renderToken,
  TokenFormat,
} from "./gettoken.ts";
export {
  type ControlSecrets,
  resolveControlSecrets,
  SECRETS_FILE,
} from "./secrets.ts";
export {
  type ControlConfig,
  type ControlDeps,
  type ControlHandle,
  startControl,
} from "./server.ts";
