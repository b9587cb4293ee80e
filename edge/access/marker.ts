/**
 * The access marker the origin writes and the edge reads, defined once in cluster/marker.ts.
 *
 * @module
 */

export {
  ACCESS_MARKER_HEADER,
  AccessMark,
  parseAccessMark,
} from "../../cluster/mod.ts";
