/**
 * Transcoding with ffmpeg as supervised children (never a hand-written encoder): live
 * adaptive-bitrate ladders whose renditions are ordinary live streams and whose master
 * playlist is the stream's `.m3u8` ({@link LiveTranscoder}), VOD transcode jobs into the
 * library, and live snapshots. Children run in their own process group with a parent-death
 * signal and are listed in a pid file, so none outlives Meridian ({@link ChildProcesses}).
 *
 * @module
 */

import type { TranscodeConfig } from "../../config/mod.ts";
import type { MetricsRegistry } from "../../metrics/mod.ts";
import type { Logger } from "../log.ts";
import type { StreamRegistry } from "../stream/registry.ts";
import { ChildProcesses } from "./children.ts";
import { type HlsSegmentsView, LiveTranscoder } from "./live.ts";
import { LiveSnapshots } from "./snapshots.ts";
import { type LibraryConfig, Thumbnailer } from "../vod/mod.ts";
import { createJobRoutes } from "./http.ts";
import { TranscodeJobs } from "./jobs.ts";
import { Hono } from "hono";

export { ChildProcesses, CHILDREN_FILE } from "./children.ts";
export { TranscodeError, TranscodeErrorCode } from "./errors.ts";
export { LiveTranscoder, MAX_DEMAND_WAIT_MS } from "./live.ts";
export {
  planRenditions,
  renditionName,
  renditionOf,
  TRANSCODE_PROTOCOL,
} from "./profiles.ts";
export { ProgressParser, type ProgressReport } from "./progress.ts";
export { LiveSnapshots, type SnapshotRefusal } from "./snapshots.ts";
export {
  type Job,
  JOBS_FILE,
  type JobState,
  MASTER_NAME,
  parseJobRequest,
  TranscodeJobs,
} from "./jobs.ts";

/** What {@link startTranscoding} needs from the origin. */
export interface TranscodingDeps {
  readonly registry: StreamRegistry;
  readonly hls: HlsSegmentsView | undefined;
  readonly metrics: MetricsRegistry;
  readonly log: Logger;
  /** The node's data directory (the children's pid file); none: no pid file. */
  readonly dataDir: string | undefined;
  /** `origin.vod.ffmpegPath`, used when `origin.transcode.ffmpegPath` is "". */
  readonly vodFfmpegPath: string;
  /** ffmpeg may fall this many bytes behind a live source (`origin.live.maxViewerQueueBytes`). */
  readonly maxQueueBytes: number;
  /** True for apps whose media needs a token (no snapshots for them). */
  readonly protectedApp: (app: string) => boolean;
  /** The VOD libraries jobs read from and write into (none: no jobs API). */
  readonly libraries: readonly LibraryConfig[];
  /** Segment period of jobs' outputs, s (`origin.vod.hlsSegmentSeconds`). */
  readonly segmentSeconds: number;
  /** Bearer token of `/admin/transcode` and `/admin/jobs` (`origin.adminToken`). */
  readonly adminToken: string;
}

/** The running transcoding parts. */
export interface Transcoding {
  readonly children: ChildProcesses;
  /** Live ladders, when an app has one. */
  readonly live: LiveTranscoder | undefined;
  /** Live snapshots, unless `snapshotSeconds` is 0. */
  readonly snapshots: LiveSnapshots | undefined;
  /** VOD transcode jobs, when there is a library. */
  readonly jobs: TranscodeJobs | undefined;
  /** Routes to mount on the origin's HTTP app (snapshots, the jobs' admin API). */
  readonly routes: Hono;
  /** Stops everything and kills every child. */
  close(): Promise<void>;
}

/**
 * Starts transcoding: reaps children an earlier process left (pid file), then the live
 * ladders of the apps that have one.
 */
export async function startTranscoding(
  config: TranscodeConfig,
  deps: TranscodingDeps,
): Promise<Transcoding> {
  const log = deps.log;
  const children = await ChildProcesses.open({
    dataDir: deps.dataDir,
    log,
  });
  deps.metrics.collect(
    "meridian_origin_transcode_children",
    "ffmpeg children running now (live renditions, jobs)",
    "gauge",
    () => [[undefined, children.running]],
  );
  deps.metrics.collect(
    "meridian_origin_transcode_leftovers_killed_total",
    "ffmpeg children of an earlier process found running at start-up and killed (pid file)",
    "counter",
    () => [[undefined, children.leftoversKilled]],
  );
  const ffmpeg = config.ffmpegPath || deps.vodFfmpegPath || "ffmpeg";
  const live = config.apps.length > 0
    ? new LiveTranscoder(config, {
      registry: deps.registry,
      hls: deps.hls,
      children,
      metrics: deps.metrics,
      log: log.child("live"),
      ffmpeg,
      maxQueueBytes: deps.maxQueueBytes,
    })
    : undefined;
  const snapshots = config.snapshotSeconds > 0
    ? new LiveSnapshots({
      intervalSeconds: config.snapshotSeconds,
      width: config.snapshotWidth,
    }, {
      registry: deps.registry,
      thumbnailer: new Thumbnailer(ffmpeg),
      metrics: deps.metrics,
      log: log.child("snapshots"),
      protectedApp: deps.protectedApp,
    })
    : undefined;
  const jobs = deps.libraries.length > 0
    ? await TranscodeJobs.open({
      maxConcurrent: config.maxConcurrentJobs,
      segmentSeconds: deps.segmentSeconds,
      ffmpeg,
      profiles: config.profiles,
      libraries: deps.libraries,
    }, {
      children,
      log: log.child("jobs"),
      metrics: deps.metrics,
      dataDir: deps.dataDir,
    })
    : undefined;
  const routes = new Hono();
  if (snapshots) routes.route("/", snapshots.routes());
  if (jobs) {
    routes.route(
      "/",
      createJobRoutes(jobs, {
        adminToken: deps.adminToken,
        log: log.child("admin"),
      }),
    );
  }
  return {
    children,
    live,
    snapshots,
    jobs,
    routes,
    async close() {
      snapshots?.close();
      await jobs?.close();
      await live?.close();
      await children.closeAll();
    },
  };
}
