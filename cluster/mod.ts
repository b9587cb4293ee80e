/**
 * What crosses the wire between roles, defined once: the access marker the origin puts on
 * protected media and the edge reads, and the purge request that control and every edge take.
 * (The store's feed events are typed in store/types.ts, the store carries them.)
 *
 * @module
 */

export { ACCESS_MARKER_HEADER, AccessMark, parseAccessMark } from "./marker.ts";
export {
  MAX_PURGE_ENTRIES,
  MAX_PURGE_ENTRY_LENGTH,
  parsePurgeRequest,
  type PurgeRequest,
  PurgeRequestError,
} from "./purge.ts";
