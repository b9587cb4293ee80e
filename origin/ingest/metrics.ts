/**
 * The counters every non-RTMP ingest shares, by protocol: connections accepted, publishes and
 * plays started, requests refused by reason. Kept small: three families, labels fixed here.
 *
 * @module
 */

import type { Counter, MetricsRegistry } from "../../metrics/mod.ts";

/** What an ingest counts. */
export interface IngestMetrics {
  connection(protocol: string): void;
  started(protocol: string, action: "publish" | "play"): void;
  refused(protocol: string, action: "publish" | "play", reason: string): void;
}

/** The counters, registered once per registry (several servers share them). */
export function createIngestMetrics(metrics: MetricsRegistry): IngestMetrics {
  const connections: Counter = metrics.counter(
    "meridian_origin_ingest_connections_total",
    "Connections accepted by the SRT and RTSP listeners and pulled sources, by protocol",
  );
  const started: Counter = metrics.counter(
    "meridian_origin_ingest_sessions_total",
    "Publishes and plays started over SRT and RTSP, by protocol and action",
  );
  const refused: Counter = metrics.counter(
    "meridian_origin_ingest_refused_total",
    "SRT and RTSP publishes and plays refused, by protocol, action and reason (bad_name, busy, max_streams, not_found, missing_key, wrong_key, hook_denied, bad_request, ...)",
  );
  return {
    connection: (protocol) => connections.inc({ protocol }),
    started: (protocol, action) => started.inc({ protocol, action }),
    refused: (protocol, action, reason) =>
      refused.inc({ protocol, action, reason }),
  };
}

/** Metrics that go nowhere (tests, tools). */
export const NO_INGEST_METRICS: IngestMetrics = {
  connection() {},
  started() {},
  refused() {},
};
