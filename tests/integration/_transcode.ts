/**
 * Shared set-up of the transcoding tests: small profiles (a 320x180 15 fps source, renditions of
 * 144 and 90 lines at ultrafast), a publisher, and ffprobe readings of HLS segments.
 *
 * @module
 */

import { parseConfig } from "../../config/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { silentLogger } from "../../origin/log.ts";
import { type OriginHandle, startOrigin } from "../../origin/mod.ts";
import { type BackgroundPeer, runPeer, startPeer } from "../_helpers/peers.ts";

/** Two renditions, an audio-only one, and one larger than the source (skipped). */
export const TEST_PROFILES = [
  {
    name: "144p",
    height: 144,
    videoKbps: 200,
    preset: "ultrafast",
    audioKbps: 48,
  },
  {
    name: "90p",
    height: 90,
    videoKbps: 100,
    preset: "ultrafast",
    audioKbps: 32,
  },
  { name: "audio", video: "none", audioKbps: 32 },
  { name: "720p", height: 720, videoKbps: 1500, preset: "ultrafast" },
];

/** An origin on free ports whose app `live` is transcoded with {@link TEST_PROFILES}. */
export async function startTranscodingOrigin(
  transcode: Record<string, unknown> = {},
  extra: { dataDir?: string; origin?: Record<string, unknown> } = {},
): Promise<{ origin: OriginHandle; metrics: MetricsRegistry; http: string }> {
  const config = parseConfig({
    origin: {
      rtmpPort: 0,
      httpPort: 0,
      virtualLive: [],
      ...extra.origin,
      transcode: {
        apps: [{ name: "live", start: "always" }],
        profiles: TEST_PROFILES,
        ...transcode,
      },
    },
  });
  const metrics = new MetricsRegistry();
  const origin = await startOrigin(config.origin, {
    log: silentLogger,
    metrics,
    dataDir: extra.dataDir,
  });
  return { origin, metrics, http: `http://127.0.0.1:${origin.httpPort}` };
}

/** ffmpeg publishing a 320x180 15 fps H.264/AAC test pattern, keyframes every 2 s. */
export function publishSource(url: string, seconds = 60): BackgroundPeer {
  return startPeer("ffmpeg", [
    "-v",
    "error",
    "-nostdin",
    "-re",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=320x180:rate=15",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=1000:sample_rate=44100",
    "-t",
    String(seconds),
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-tune",
    "zerolatency",
    "-g",
    "30",
    "-keyint_min",
    "30",
    "-sc_threshold",
    "0",
    "-c:a",
    "aac",
    "-b:a",
    "64k",
    "-f",
    "flv",
    url,
  ], seconds * 1000 + 30_000);
}

/** What ffprobe reads of one TS segment's video. */
export interface SegmentVideo {
  /** PTS of the first video frame, seconds. */
  readonly startSeconds: number;
  /** Bytes of video packets. */
  readonly videoBytes: number;
  readonly frames: number;
}

/** ffprobe of one HLS segment URL: its video's first PTS and packet bytes. */
export async function probeSegmentVideo(url: string): Promise<SegmentVideo> {
  const out = await runPeer("ffprobe", [
    "-v",
    "error",
    "-select_streams",
    "v:0",
    "-show_entries",
    "packet=pts_time,size",
    "-of",
    "json",
    url,
  ], 20_000);
  if (out.code !== 0) throw new Error(`ffprobe ${url}: ${out.stderr}`);
  const packets = (JSON.parse(out.stdout).packets ?? []) as {
    pts_time: string;
    size: string;
  }[];
  const pts = packets.map((p) => Number(p.pts_time));
  return {
    startSeconds: Math.min(...pts),
    videoBytes: packets.reduce((n, p) => n + Number(p.size), 0),
    frames: packets.length,
  };
}

/** The URIs of a media playlist's segments, resolved against its URL. */
export function segmentUrls(playlistUrl: string, text: string): string[] {
  return text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).map(
    (l) => new URL(l, playlistUrl).href,
  );
}

/** An HTTP-FLV viewer that notes when each video tag arrives (wall clock) and its timestamp. */
export interface FlvWatch {
  readonly arrivals: { readonly atMs: number; readonly timestampMs: number }[];
  /** Longest wall-clock gap between video tags so far, ms. */
  maxGapMs(): number;
  stop(): Promise<void>;
}

/** Starts reading `url` as HTTP-FLV. */
export async function watchFlv(url: string): Promise<FlvWatch> {
  const { FlvReader } = await import("../../codec/flv/mod.ts");
  const abort = new AbortController();
  const res = await fetch(url, { signal: abort.signal });
  if (!res.ok || !res.body) throw new Error(`GET ${url}: ${res.status}`);
  const arrivals: { atMs: number; timestampMs: number }[] = [];
  const reader = new FlvReader();
  const done = (async () => {
    try {
      for await (const chunk of res.body!) {
        reader.push(chunk);
        for (let t = reader.pull(); t; t = reader.pull()) {
          if (t.type === 9) {
            arrivals.push({ atMs: Date.now(), timestampMs: t.timestampMs });
          }
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    arrivals,
    maxGapMs() {
      let gap = 0;
      for (let i = 1; i < arrivals.length; i++) {
        gap = Math.max(gap, arrivals[i]!.atMs - arrivals[i - 1]!.atMs);
      }
      return gap;
    },
    async stop() {
      abort.abort();
      await done;
    },
  };
}

/** One rendition as `/api/streams` shows it. */
export interface ApiRendition {
  readonly stream: string;
  readonly state: string;
  readonly pid: number | undefined;
  readonly restarts: number;
  readonly error: string | undefined;
}

/** The renditions `/api/streams` lists for `app/stream`. */
export async function renditionsOf(
  http: string,
  stream: string,
): Promise<ApiRendition[]> {
  const api = await (await fetch(`${http}/api/streams`)).json();
  const s = api.streams.find((x: { name: string }) => x.name === stream);
  return s?.transcode?.renditions ?? [];
}
