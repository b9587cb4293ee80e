/**
 * The archive's parts wired together from the `origin` config section: the DVR store (the HLS
 * packagers' segment observer), the programme schedule, the HTTP face and the metrics.
 *
 * @module
 */

import type { Hono } from "hono";
import type { OriginConfig } from "../../config/mod.ts";
import type { MetricsRegistry } from "../../metrics/mod.ts";
import type { HlsSegmentObserver } from "../hls/mod.ts";
import type { Logger } from "../log.ts";
import type { StreamRegistry } from "../stream/registry.ts";
import { DvrStore } from "./dvr_store.ts";
import { ArchiveHttp, type LivePhases } from "./http.ts";
import { ArchivePolicies } from "./policy.ts";
import { Recorder } from "./recorder.ts";
import { RecordHook } from "./record_hook.ts";
import { addRecordingRoutes } from "./recording_routes.ts";
import { addClipRoutes } from "./clip_routes.ts";
import { ClipJobs } from "./clips.ts";
import type { VodService } from "../vod/mod.ts";
import { ProgrammeSchedule } from "./schedule.ts";

/** Below the archive's state folder: programmes set through the admin API. */
export const PROGRAMS_DIR = "programs";
/** The `onRecordDone` outbox, under the archive's state folder. */
export const HOOKS_DIR = "hooks";

/** What {@link openArchive} needs. */
export interface ArchiveDeps {
  readonly registry: StreamRegistry;
  readonly metrics: MetricsRegistry;
  readonly log: Logger;
  /** Where the DVR keeps segments (`origin.dvr.dir`, else `${dataDir}/dvr`). */
  readonly dvrDir: string;
  /** Where the archive keeps its state (`${dataDir}/archive`): programmes, jobs. */
  readonly stateDir: string | undefined;
  /**
   * The library folder recordings and clips are written into (`origin.record.library`, else
   * the first VOD library's), and the URL prefix it is served under (if it is a library).
   */
  readonly library: {
    readonly dir: string;
    readonly prefix: string | undefined;
  } | undefined;
  /** The media libraries: clips of library files. */
  readonly vod?: VodService | undefined;
  /** Hook requests go through this. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default Date.now */
  readonly now?: () => number;
}

/** A running archive. */
export interface Archive {
  readonly dvr: DvrStore;
  readonly http: ArchiveHttp;
  /** Recordings (undefined without a library folder). */
  readonly recorder: Recorder | undefined;
  /** Clip jobs (undefined without a library folder). */
  readonly clips: ClipJobs | undefined;
  /** The programme list and admin routes, mounted on the origin's app. */
  readonly routes: Hono;
  /** Told of every live segment (pass to the HLS packagers). */
  readonly observer: HlsSegmentObserver;
  /** The live packagers, once they exist (their grace phase keeps a range open). */
  setPhases(phases: LivePhases): void;
  close(): Promise<void>;
}

/**
 * Opens the archive: reads the DVR window back from disk, loads the programmes, registers the
 * metrics.
 *
 * @throws {Error} When the DVR folder cannot be created or read.
 */
export async function openArchive(
  config: OriginConfig,
  deps: ArchiveDeps,
): Promise<Archive> {
  const policies = new ArchivePolicies(config);
  const log = deps.log;
  const dvr = await DvrStore.open({
    dir: deps.dvrDir,
    maxBytes: config.dvr.maxBytes,
    policies,
    log: log.child("dvr"),
    ...(deps.now ? { now: deps.now } : {}),
  });
  const schedule = await ProgrammeSchedule.open(
    deps.stateDir === undefined
      ? undefined
      : `${deps.stateDir}/${PROGRAMS_DIR}`,
    config.dvr.schedule,
    log.child("programs"),
  );
  let phases: LivePhases | undefined;
  const http = new ArchiveHttp({
    openMaxAgeSeconds: Math.max(
      1,
      Math.floor(config.hls.targetDurationSeconds / 2),
    ),
    timeZone: config.dvr.timeZone,
    adminToken: config.adminToken,
  }, {
    dvr,
    registry: deps.registry,
    schedule,
    phases: { phase: (a, s) => phases?.phase(a, s) },
    log: log.child("http"),
    ...(deps.now ? { now: deps.now } : {}),
  });
  registerDvrMetrics(deps.metrics, dvr);
  deps.metrics.collect(
    "meridian_origin_timeshift_flv_total",
    "HTTP-FLV time-shift bodies by outcome (started; joined: caught up and went on from the live edge)",
    "counter",
    () => Object.entries(http.flvStats).map(([outcome, n]) => [{ outcome }, n]),
  );
  const hook = new RecordHook({
    url: config.hooks.onRecordDone,
    timeoutMs: config.hooks.timeoutMs,
    log: log.child("hook"),
    dir: deps.stateDir === undefined
      ? undefined
      : `${deps.stateDir}/${HOOKS_DIR}`,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
  await hook.resume();
  const recorder = deps.library
    ? await Recorder.open({
      libraryDir: deps.library.dir,
      libraryPrefix: deps.library.prefix,
      pathPattern: config.record.pathPattern,
      splitMs: config.record.splitSeconds * 1000,
      splitBytes: config.record.splitBytes,
      fragmentMs: Math.round(config.record.fragmentSeconds * 1000),
      stateDir: deps.stateDir,
    }, {
      registry: deps.registry,
      policies,
      hook,
      log: log.child("record"),
      ...(deps.now ? { now: deps.now } : {}),
    })
    : undefined;
  if (recorder) registerRecorderMetrics(deps.metrics, recorder, hook);
  const clips = deps.library
    ? await ClipJobs.open({
      stateDir: deps.stateDir === undefined
        ? undefined
        : `${deps.stateDir}/clips`,
      workDir: deps.stateDir === undefined
        ? `${deps.dvrDir}/.clips-work`
        : `${deps.stateDir}/clips-work`,
      libraryDir: deps.library.dir,
      libraryPrefix: deps.library.prefix,
      clipPattern: config.record.clipPattern,
      maxConcurrent: config.record.maxConcurrentClips,
      hlsSegmentMs: Math.round(config.vod.hlsSegmentSeconds * 1000),
      ffmpegPath: config.vod.ffmpegPath,
    }, {
      dvr,
      vod: deps.vod,
      isOpen: (a, s) => http.isOpen(a, s),
      log: log.child("clips"),
      ...(deps.now ? { now: deps.now } : {}),
    })
    : undefined;
  if (clips) registerClipMetrics(deps.metrics, clips);
  const routes = http.routes([
    (admin) => {
      if (recorder) addRecordingRoutes(admin, recorder, log.child("http"));
      if (clips) addClipRoutes(admin, clips, log.child("http"));
    },
  ]);
  return {
    dvr,
    http,
    recorder,
    clips,
    routes,
    observer: dvr,
    setPhases(p) {
      phases = p;
    },
    async close() {
      await clips?.close();
      await recorder?.close();
      await hook.close(1000);
      await dvr.close();
    },
  };
}

/** The recordings' state in /metrics. */
function registerRecorderMetrics(
  metrics: MetricsRegistry,
  recorder: Recorder,
  hook: RecordHook,
): void {
  metrics.collect(
    "meridian_origin_recordings_active",
    "Streams being recorded now",
    "gauge",
    () => [[undefined, recorder.activeCount]],
  );
  metrics.collect(
    "meridian_origin_recording_files_total",
    "Recording files finished, by state (done, recovered: finished at start-up after a crash, failed)",
    "counter",
    () =>
      Object.entries(recorder.stats.files).map(([state, n]) => [{ state }, n]),
  );
  metrics.collect(
    "meridian_origin_recording_bytes_total",
    "Bytes of finished recording files",
    "counter",
    () => [[undefined, recorder.stats.bytes]],
  );
  metrics.collect(
    "meridian_origin_record_hook_total",
    "onRecordDone deliveries by outcome (delivered, retries, failed: gave up, resumed: from the outbox at start-up)",
    "counter",
    () => Object.entries(hook.stats).map(([outcome, n]) => [{ outcome }, n]),
  );
}

/** The DVR's state in /metrics. */
function registerDvrMetrics(metrics: MetricsRegistry, dvr: DvrStore): void {
  metrics.collect(
    "meridian_origin_dvr_bytes",
    "Bytes of DVR segments on disk, by app",
    "gauge",
    () => [...dvr.bytesByApp()].map(([app, n]) => [{ app }, n]),
  );
  metrics.collect(
    "meridian_origin_dvr_segments",
    "DVR segments kept on disk",
    "gauge",
    () => [[undefined, dvr.totalSegments]],
  );
  metrics.collect(
    "meridian_origin_dvr_evictions_total",
    "DVR segments deleted, by reason (window: slid out; max_bytes: over dvr.maxBytes; policy: time-shift turned off)",
    "counter",
    () =>
      Object.entries(dvr.stats.evicted).map(([reason, n]) => [{ reason }, n]),
  );
  metrics.collect(
    "meridian_origin_dvr_dropped_segments_total",
    "Live segments the DVR did not keep, by reason (disk_full, backlog: the disk is slower than the streams, write_error)",
    "counter",
    () =>
      Object.entries(dvr.stats.dropped).map(([reason, n]) => [{ reason }, n]),
  );
  metrics.collect(
    "meridian_origin_dvr_disk_full",
    "1 while DVR writes are stopped by a full disk (live streams go on)",
    "gauge",
    () => [[undefined, dvr.diskFull ? 1 : 0]],
  );
  metrics.collect(
    "meridian_origin_dvr_written_bytes_total",
    "Bytes of segments the DVR wrote",
    "counter",
    () => [[undefined, dvr.stats.writtenBytes]],
  );
}

/** The clip jobs in /metrics. */
function registerClipMetrics(metrics: MetricsRegistry, clips: ClipJobs): void {
  metrics.collect(
    "meridian_origin_clip_jobs",
    "Clip jobs kept, by state (queued, running, done, failed, cancelled)",
    "gauge",
    () => Object.entries(clips.counts()).map(([state, n]) => [{ state }, n]),
  );
  metrics.collect(
    "meridian_origin_clip_jobs_finished_total",
    "Clip jobs finished since start, by outcome",
    "counter",
    () => Object.entries(clips.finished).map(([state, n]) => [{ state }, n]),
  );
}
