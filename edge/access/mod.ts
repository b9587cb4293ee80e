/**
 * Access control on the edge: the origin marks the media of protected streams
 * (`X-Meridian-Access`), the edge keeps the mark with cached objects and live upstreams, and
 * serves them only to requests with a valid session credential, or, for a new viewer of a
 * shared HTTP-FLV upstream, a token use spent in the shared store.
 *
 * @module
 */

export {
  appOf,
  EdgeAccess,
  type EdgeAccessDeps,
  type EdgeRefusal,
  type EdgeRefusalReason,
  type JoinAccess,
  type ObjectAccess,
  refusalResponse,
  UNAVAILABLE,
} from "./edge_access.ts";
export { ACCESS_MARKER_HEADER, AccessMark, parseAccessMark } from "./marker.ts";
export { withoutSessionCredential } from "./playlist.ts";
