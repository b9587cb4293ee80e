/**
 * The live fan-out every ingest publishes into and every output reads: a GOP cache for late
 * joiners and a fan-out with coalesced, shared writes (mediamtx's one stream type, SRS's one
 * source for origin and edge).
 *
 * @module
 */

export {
  GopCache,
  type GopCacheOptions,
  type LivePacket,
} from "./gop_cache.ts";
export {
  type LiveEncoder,
  LiveFanout,
  type LiveFanoutOptions,
  type LiveViewer,
  type Schedule,
} from "./fanout.ts";
export { REBASE_GAP_MS, TimestampRebaser } from "./rebase.ts";
