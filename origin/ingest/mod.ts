/**
 * What the origin's non-RTMP ingests share (SRT in `../srt/`, RTSP in `../rtsp/`): access
 * decisions with RTMP's rules, starting a publish into the hub, playing a hub as FLV tags read
 * back for remuxing, and their counters. Each new input becomes an ordinary hub stream, so
 * every output (RTMP, HTTP-FLV, HLS, recording, transcoding, relay) serves it unchanged.
 *
 * @module
 */

export {
  authorizeIngest,
  type IngestAccessDecision,
  type IngestAccessRequest,
  type IngestAccessSession,
  type IngestRefusal,
} from "./access.ts";
export {
  createIngestMetrics,
  type IngestMetrics,
  NO_INGEST_METRICS,
} from "./metrics.ts";
export {
  type IngestContext,
  type IngestPublish,
  startIngestPublish,
} from "./publish.ts";
export {
  type IngestPlay,
  type IngestPlaySink,
  startIngestPlay,
} from "./play.ts";
