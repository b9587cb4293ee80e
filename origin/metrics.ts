/**
 * The origin's stream series: publishes and republishes, RTMP connects, live streams, viewers
 * by protocol and app, ingest and egress bytes by protocol, GOP cache bytes, slow viewers
 * dropped. Read from the hubs at scrape time; what an ended hub had counted is kept in totals
 * here, so the counters never go down when a stream ends.
 *
 * HLS packaging (`hls/packagers.ts`), access refusals (`auth/`), VOD (`vod/`) and virtual-live
 * channels register their own families.
 *
 * @module
 */

import type { MetricsRegistry } from "../metrics/mod.ts";
import type { HlsTraffic } from "./http/app.ts";
import type { Hub } from "./stream/hub.ts";
import type { StreamRegistry } from "./stream/registry.ts";

/** Stream keys remembered to tell a republish from a first publish (cleared when full). */
export const MAX_REMEMBERED_STREAMS = 10_000;

/** What the origin's series read. */
export interface OriginMetricsSources {
  readonly registry: StreamRegistry;
  readonly hls: HlsTraffic | undefined;
  /** RTMP `connect` commands so far. */
  readonly rtmpConnects: () => number;
}

/**
 * Counts what hubs report as they end, and the publishes, for the scrape-time series.
 */
export class OriginStreamTotals {
  /** Media bytes received by ended streams, by publisher protocol. */
  readonly ingestEnded = new Map<string, number>();
  /** Bytes sent by ended streams, by viewer format. */
  readonly egressEnded = new Map<string, number>();
  readonly publishes = new Map<string, number>();
  readonly dropped = new Map<string, number>();
  republishes = 0;
  readonly #seen = new Set<string>();

  /** Follows `registry` from now on; returns the unsubscriber. */
  follow(registry: StreamRegistry): () => void {
    const offPublish = registry.onPublish((hub) => this.#published(hub));
    const offEnd = registry.onUnpublish((hub) => this.#ended(hub));
    return () => {
      offPublish();
      offEnd();
    };
  }

  /** A viewer of `format` was dropped as too slow. */
  viewerDropped(format: string): void {
    this.dropped.set(format, (this.dropped.get(format) ?? 0) + 1);
  }

  #published(hub: Hub): void {
    const p = hub.publisher.protocol;
    this.publishes.set(p, (this.publishes.get(p) ?? 0) + 1);
    const key = `${hub.app}/${hub.name}`;
    if (this.#seen.has(key)) this.republishes++;
    else {
      if (this.#seen.size >= MAX_REMEMBERED_STREAMS) this.#seen.clear();
      this.#seen.add(key);
    }
  }

  #ended(hub: Hub): void {
    add(this.ingestEnded, hub.publisher.protocol, hub.bytesIn);
    for (const [format, n] of Object.entries(hub.bytesOut)) {
      add(this.egressEnded, format, n);
    }
  }
}

function add(m: Map<string, number>, k: string, n: number): void {
  m.set(k, (m.get(k) ?? 0) + n);
}

function rows(
  m: Map<string, number>,
  label: string,
): [Record<string, string>, number][] {
  return [...m].map(([k, v]) => [{ [label]: k }, v]);
}

/**
 * Registers the origin's stream series.
 *
 * Families: `meridian_origin_streams`, `meridian_origin_stream_viewers{stream}`,
 * `meridian_origin_viewers{protocol,app}` (`rtmp`, `flv`, `hls`),
 * `meridian_origin_publishes_total{protocol}`, `meridian_origin_republishes_total`,
 * `meridian_origin_rtmp_connects_total`, `meridian_origin_ingest_bytes_total{protocol}`,
 * `meridian_origin_stream_ingest_bytes_total{stream}`,
 * `meridian_origin_egress_bytes_total{protocol}`, `meridian_origin_gop_cache_bytes`,
 * `meridian_origin_viewers_dropped_total{protocol}`.
 */
export function registerOriginMetrics(
  metrics: MetricsRegistry,
  sources: OriginMetricsSources,
  totals: OriginStreamTotals,
): void {
  const { registry, hls } = sources;
  metrics.collect(
    "meridian_origin_streams",
    "Live streams on this origin (virtual-live channels included)",
    "gauge",
    () => [[undefined, registry.size]],
  );
  metrics.collect(
    "meridian_origin_stream_viewers",
    "RTMP and HTTP-FLV viewers by stream (the largest streams up to metrics.labelLimits.stream; the rest as other)",
    "gauge",
    () =>
      [...registry.hubs()].map((h) => [
        { stream: `${h.app}/${h.name}` },
        h.viewerCount,
      ]),
  );
  metrics.collect(
    "meridian_origin_viewers",
    "Viewers by protocol (rtmp and flv: connections; hls: clients that fetched a playlist within 3 target durations) and app",
    "gauge",
    () => {
      const out = new Map<string, number>();
      for (const h of registry.hubs()) {
        for (const [format, n] of Object.entries(h.viewersByFormat())) {
          const k = `${format}\u0000${h.app}`;
          out.set(k, (out.get(k) ?? 0) + n);
        }
      }
      for (const [app, n] of hls?.sessions.countByApp() ?? []) {
        out.set(`hls\u0000${app}`, n);
      }
      return [...out].map(([k, n]) => {
        const [protocol, app] = k.split("\u0000") as [string, string];
        return [{ protocol, app }, n];
      });
    },
  );
  metrics.collect(
    "meridian_origin_publishes_total",
    "Publish sessions started, by protocol (rtmp, virtual: a virtual-live channel)",
    "counter",
    () => rows(totals.publishes, "protocol"),
  );
  metrics.collect(
    "meridian_origin_republishes_total",
    "Publishes of a stream key that had been published before in this process (encoder reconnects)",
    "counter",
    () => [[undefined, totals.republishes]],
  );
  metrics.collect(
    "meridian_origin_rtmp_connects_total",
    "RTMP connect commands received (clients that reached an app)",
    "counter",
    () => [[undefined, sources.rtmpConnects()]],
  );
  metrics.collect(
    "meridian_origin_ingest_bytes_total",
    "Media bytes received from publishers, by protocol",
    "counter",
    () => {
      const m = new Map(totals.ingestEnded);
      for (const h of registry.hubs()) add(m, h.publisher.protocol, h.bytesIn);
      return rows(m, "protocol");
    },
  );
  metrics.collect(
    "meridian_origin_stream_ingest_bytes_total",
    "Media bytes received by live stream (the largest up to metrics.labelLimits.stream)",
    "counter",
    () =>
      [...registry.hubs()].map((h) => [
        { stream: `${h.app}/${h.name}` },
        h.bytesIn,
      ]),
  );
  metrics.collect(
    "meridian_origin_egress_bytes_total",
    "Bytes sent to viewers, by protocol (rtmp, flv: as queued for the socket; hls: playlist and segment bodies)",
    "counter",
    () => {
      const m = new Map(totals.egressEnded);
      for (const h of registry.hubs()) {
        for (const [format, n] of Object.entries(h.bytesOut)) add(m, format, n);
      }
      if (hls) m.set("hls", hls.bytesOut);
      return rows(m, "protocol");
    },
  );
  metrics.collect(
    "meridian_origin_gop_cache_bytes",
    "Bytes held in the GOP caches of every live stream (what late joiners get at once)",
    "gauge",
    () => {
      let n = 0;
      for (const h of registry.hubs()) n += h.gopCacheBytes;
      return [[undefined, n]];
    },
  );
  metrics.collect(
    "meridian_origin_viewers_dropped_total",
    "Viewers dropped for being too slow (their queue over origin.live.maxViewerQueueBytes), by protocol",
    "counter",
    () => rows(totals.dropped, "protocol"),
  );
}
