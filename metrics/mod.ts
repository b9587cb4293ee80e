/**
 * Prometheus metrics: counters, gauges and histograms in the text exposition format 0.0.4, one
 * registry per role (its port's `/metrics`), the process's series shared by every role.
 *
 * ## Adding a series (for every module that has something to show)
 *
 * Take the `MetricsRegistry` your role hands you (`deps.metrics`) and register at start-up:
 *
 * ```ts ignore
 * // A counter with labels: resolve each label set once and keep the handle (no string is
 * // built per event), then bump it on the hot path.
 * const clips = deps.metrics.counter(
 *   "meridian_dvr_clip_jobs_total",            // meridian_{area}_{what}_{unit}; counters end _total
 *   "DVR clip jobs finished, by outcome",
 *   { labelNames: ["outcome"] },
 * );
 * const clipsOk = clips.labels("ok");
 * clipsOk.inc();
 *
 * // A histogram: seconds or bytes, fixed buckets (LATENCY_BUCKETS_SECONDS by default).
 * const cut = deps.metrics.histogram("meridian_dvr_clip_duration_seconds", "Time to cut a clip", {
 *   buckets: [0.1, 0.5, 1, 5, 30],
 * }).labels();
 * cut.observe(seconds);
 *
 * // State you already hold (bytes on disk, jobs by state): computed at scrape time, so the
 * // hot path never touches it.
 * deps.metrics.collect("meridian_dvr_disk_free_ratio", "Free share of the DVR disk", "gauge",
 *   () => [[undefined, free / size]]);
 * ```
 *
 * Rules (https://prometheus.io/docs/practices/naming/): base units only (`_seconds`, `_bytes`,
 * `_ratio` for 0..1), `_total` on counters, label values from a small known set. Never label by
 * viewer, IP, token, URL or query: a label named `stream`, `app`, `edge` or `origin` is bounded
 * per family (`metrics.labelLimits`; past the limit new values count as `other`, and
 * `meridian_metrics_label_overflow_total{family}` says so), any other label set is cut at
 * {@link MAX_SERIES_PER_FAMILY}. Drop a series of something gone with `family.remove(...)`.
 * Registering a name twice with the same type and labels returns the same family (a restarted
 * component keeps its counts); another type or label set throws {@link MetricsError} at start-up.
 * Add the family to README.md's metrics table.
 *
 * Small on purpose: a scrape every few seconds renders a few hundred series, so rendering may
 * allocate; the hot path gets plain objects with a number field (`CounterChild.inc` is one
 * addition, `HistogramChild.observe` a scan of a dozen bounds).
 *
 * @module
 */

export {
  type Counter,
  CounterChild,
  CounterFamily,
  DEFAULT_LABEL_LIMITS,
  type FamilyOptions,
  type Gauge,
  GaugeChild,
  GaugeFamily,
  type Histogram,
  HistogramChild,
  HistogramFamily,
  type HistogramOptions,
  type HistogramSnapshot,
  type Labels,
  LATENCY_BUCKETS_SECONDS,
  MAX_SERIES_PER_FAMILY,
  MetricsError,
  MetricsErrorCode,
  MetricsRegistry,
  type MetricsRegistryOptions,
  type MetricType,
  OTHER_LABEL_VALUE,
} from "./registry.ts";
export { EXPOSITION_CONTENT_TYPE } from "./exposition.ts";
export {
  EVENT_LOOP_BUCKETS_SECONDS,
  type ProcessMetrics,
  startProcessMetrics,
} from "./process.ts";
