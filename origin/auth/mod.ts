/**
 * Access control on the origin: per-app `open`/`token` play access, RTMP publish keys, HLS
 * playback-session credentials, SRS-style HTTP hooks and revocation of open sessions.
 *
 * The token service's tokens and the credential format live below the roles (`access/`);
 * this folder decides requests with them. The RTMP server and the HTTP app each call the one
 * {@link AccessGate} that `startOrigin` builds from config.
 *
 * @module
 */

export {
  AccessGate,
  type AccessGateDeps,
  type AccessGateOptions,
  type AccessRequest,
  type Grant,
  type Refusal,
  type RefusalReason,
  sessionPath,
} from "./gate.ts";
export {
  HookAction,
  HookClient,
  type HookClientDeps,
  type HookEvent,
  type HookVerdict,
  publicParams,
} from "./hooks.ts";
export { ACCESS_MARKER_HEADER, AccessMark } from "../../cluster/mod.ts";
export {
  type AccessPolicy,
  type AccessPolicyOptions,
  checkPublishKey,
  compileAccessPolicy,
  type PublishKeyCheck,
} from "./policy.ts";
export {
  authorizeRtmpAccess,
  createRtmpAccessControl,
  peerIp,
  type RtmpAccessControl,
  type RtmpAccessDecision,
  type RtmpAccessRequest,
  type RtmpAccessSession,
  rtmpStatusCode,
} from "./rtmp.ts";
