/**
 * Time to cut a 10-minute clip (target: under 2 s, no re-encode), from a 12-minute
 * 2 Mbit/s 720p H.264 + AAC source: a library MP4 and FLV, and the DVR window (the same media
 * packaged into 2 s segments by the live packager). With `--exact`, the frame-exact cut too
 * (two partial GOPs re-encoded, the rest copied).
 *
 * Run: deno run -A bench/archive_clip.ts [--exact] [--runs N]
 * The source is made once with ffmpeg into /tmp/meridian-bench-media (about 20 s).
 */
import { parseArgs } from "node:util";
import { readFlvFile } from "../codec/flv/mod.ts";
import { ClipJobs } from "../origin/archive/clips.ts";
import { DvrStore } from "../origin/archive/dvr_store.ts";
import { ArchivePolicies } from "../origin/archive/policy.ts";
import { type HlsSegment, HlsStream } from "../origin/hls/mod.ts";
import { silentLogger } from "../origin/log.ts";
import { VodService } from "../origin/vod/mod.ts";
import { parseConfig } from "../config/mod.ts";
import type { Hub } from "../origin/stream/hub.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { exact: { type: "boolean" }, runs: { type: "string" } },
});
const RUNS = Number(values.runs ?? 3);
const MEDIA = "/tmp/meridian-bench-media";

async function ffmpeg(args: string[]): Promise<void> {
  const out = await new Deno.Command("ffmpeg", {
    args: ["-v", "error", "-nostdin", "-y", ...args],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
}

async function exists(p: string): Promise<boolean> {
  return await Deno.stat(p).then(() => true, () => false);
}

await Deno.mkdir(MEDIA, { recursive: true });
if (!await exists(`${MEDIA}/twelve.mp4`)) {
  console.error("making the 12-minute 2 Mbit/s source (once)…");
  await ffmpeg([
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=1280x720:rate=25",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=440:sample_rate=48000",
    "-t",
    "60",
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-b:v",
    "1900k",
    "-maxrate",
    "2000k",
    "-bufsize",
    "4000k",
    "-g",
    "50",
    "-keyint_min",
    "50",
    "-sc_threshold",
    "0",
    "-c:a",
    "aac",
    "-b:a",
    "96k",
    `${MEDIA}/one.flv`,
  ]);
  await ffmpeg([
    "-stream_loop",
    "11",
    "-i",
    `${MEDIA}/one.flv`,
    "-c",
    "copy",
    `${MEDIA}/twelve.flv`,
  ]);
  await ffmpeg([
    "-i",
    `${MEDIA}/twelve.flv`,
    "-c",
    "copy",
    "-movflags",
    "+faststart",
    `${MEDIA}/twelve.mp4`,
  ]);
}

const work = await Deno.makeTempDir({ prefix: "meridian-clip-bench-" });
try {
  const lib = `${work}/lib`;
  await Deno.mkdir(lib);
  // Copies: a symlink out of a library is not served (by design).
  await Deno.copyFile(`${MEDIA}/twelve.mp4`, `${lib}/twelve.mp4`);
  await Deno.copyFile(`${MEDIA}/twelve.flv`, `${lib}/twelve.flv`);
  const config = parseConfig({});
  const dvr = await DvrStore.open({
    dir: `${work}/dvr`,
    maxBytes: 2 ** 40,
    policies: new ArchivePolicies(
      parseConfig({
        origin: { defaultApp: { dvr: { windowSeconds: 86_400 } } },
      }).origin,
    ),
    log: silentLogger,
    sweepIntervalMs: 0,
  });
  // The DVR: the same 12 minutes through the live packager (2 s segments).
  const T0 = Date.now() - 13 * 60_000;
  const hub = { app: "live", name: "bench", startedAtMs: T0 } as unknown as Hub;
  let ts = 0;
  const closed: HlsSegment[] = [];
  const hls = new HlsStream({
    streamName: "bench",
    segmentNamePrefix: "b",
    now: () => T0 + ts,
    onSegmentClosed: (s) => closed.push(s),
  });
  const t = performance.now();
  const tags = readFlvFile(await Deno.readFile(`${MEDIA}/twelve.flv`)).tags;
  for (const tag of tags) {
    ts = tag.timestampMs;
    hls.onTag(tag);
    // Written as a live stream's would be: a segment at a time (no backlog drops).
    for (const s of closed.splice(0)) {
      dvr.onSegment(hub, s);
      await dvr.flush();
    }
  }
  hls.onEnd();
  for (const s of closed.splice(0)) dvr.onSegment(hub, s);
  dvr.onPublishEnd(hub);
  await dvr.flush();
  console.error(
    `DVR filled: ${dvr.totalSegments} segments, ${
      (dvr.totalBytes / 1e6).toFixed(0)
    } MB in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  const vod = new VodService({
    ...config.origin.vod,
    libraries: [{ path: lib, prefix: "/vod/" }],
  }, {
    log: silentLogger,
  });
  const jobs = await ClipJobs.open({
    stateDir: undefined,
    workDir: `${work}/scratch`,
    libraryDir: lib,
    libraryPrefix: "/vod/",
    clipPattern: "clips/{app}/{stream}/{name}.{ext}",
    maxConcurrent: 1,
    hlsSegmentMs: 4000,
    ffmpegPath: "",
  }, { dvr, vod, isOpen: () => false, log: silentLogger });

  const cases: [string, Record<string, unknown>][] = [
    ["library MP4 → MP4", {
      path: "twelve.mp4",
      start: 60,
      end: 660,
      format: "mp4",
    }],
    ["library FLV → MP4", {
      path: "twelve.flv",
      start: 60,
      end: 660,
      format: "mp4",
    }],
    ["library MP4 → FLV", {
      path: "twelve.mp4",
      start: 60,
      end: 660,
      format: "flv",
    }],
    ["DVR → MP4", {
      app: "live",
      stream: "bench",
      start: (T0 + 60_000) / 1000,
      end: (T0 + 660_000) / 1000,
      format: "mp4",
    }],
    ["DVR → HLS package", {
      app: "live",
      stream: "bench",
      start: (T0 + 60_000) / 1000,
      end: (T0 + 660_000) / 1000,
      format: "hls",
    }],
  ];
  if (values.exact) {
    cases.push(["library MP4 → MP4, exact", {
      path: "twelve.mp4",
      start: 60.52,
      end: 660.36,
      format: "mp4",
      exact: true,
    }]);
  }
  console.log("| clip (10 min of 2 Mbit/s) | runs (s) | median (s) | output |");
  console.log("| --- | --- | --- | --- |");
  for (const [label, body] of cases) {
    const times: number[] = [];
    let last;
    for (let r = 0; r < RUNS; r++) {
      const started = performance.now();
      const job = await jobs.submit({ ...body, name: `run${r}` });
      for (;;) {
        const j = jobs.get(job.id)!;
        if (j.state === "done" || j.state === "failed") {
          last = j;
          break;
        }
        await new Promise((res) => setTimeout(res, 5));
      }
      times.push((performance.now() - started) / 1000);
      if (last.state !== "done") {
        throw new Error(`${label}: ${JSON.stringify(last.error)}`);
      }
    }
    const sorted = [...times].sort((a, b) => a - b);
    console.log(
      `| ${label} | ${times.map((x) => x.toFixed(2)).join(", ")} | ${
        sorted[Math.floor(sorted.length / 2)]!.toFixed(2)
      } | ${(last!.bytes / 1e6).toFixed(0)} MB, ${last!.duration} s |`,
    );
  }
  await jobs.close();
  await dvr.close();
} finally {
  await Deno.remove(work, { recursive: true });
}
