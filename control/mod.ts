/**
 * The control role: token service (`/gettoken`), admin API (`/admin/*`: tokens, purge, edges,
 * streams, config), `/healthz`, `/metrics` and the web console (`/`, `web/console.html`), on
 * port 8088 by default.
 *
 * Origin and edge import the enforcement helpers from here (roles reach each other only through
 * `mod.ts`, see tests/presubmit_test.ts): {@link checkAccess} spends a use of a `?token=`;
 * {@link signSession} / {@link checkSession} turn that one use into one playback session. These
 * are re-exported from `./tokens/mod.ts` and need only a `SharedStore` (store/mod.ts), none of
 * the control server.
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
export { ENDPOINTS_TEXT, loadConsolePage } from "./console.ts";
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
