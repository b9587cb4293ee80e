/**
 * LL-HLS latency through Meridian's edge, in-process on 127.0.0.1: an origin (LL-HLS on for
 * `live`, 2 s segments, 0.333 s parts), an edge in front of it, ffmpeg publishing a synthetic
 * 25 fps H.264/AAC stream over RTMP (`-re`, 2 s GOP, `-tune zerolatency`). Two measures:
 *
 * 1. **Part availability**: a client loops blocking reloads through the edge (`_HLS_msn`/
 *    `_HLS_part` of the next part), then fetches that part through the edge. For each part:
 *    the moment its bytes arrived minus the moment its last frame reached the origin
 *    (EXT-X-PROGRAM-DATE-TIME is the origin's wall clock at the segment's first frame; a
 *    part ends that plus the durations of the parts before it and its own).
 * 2. **Player latency**: hls.js in low-latency mode in headless Chromium plays `ll.m3u8`
 *    through the edge; every 500 ms after a 10 s warm-up, `Date.now() - hls.playingDate`: how
 *    long ago the frame on screen reached the origin. Once with hls.js defaults, once with
 *    `maxLiveSyncPlaybackRate: 1.5` (hls.js catches up to its target latency).
 *
 * Not included: capture and encode (ffmpeg's x264 with zerolatency: about a frame) and the
 * display's own frame delay.
 *
 * usage: deno run -A bench/llhls_latency.ts [SECONDS=30]
 * 127.0.0.1 only; one stream, bounded by 3 × SECONDS + 60 s.
 */

import { chromium } from "playwright-core";
import { parseConfig } from "../config/mod.ts";
import { startEdge } from "../edge/mod.ts";
import { MetricsRegistry } from "../metrics/mod.ts";
import { silentLogger } from "../origin/log.ts";
import { startOrigin } from "../origin/mod.ts";

const seconds = Number(Deno.args[0] ?? "30");
const WARMUP_MS = 10_000;

const origin = await startOrigin(
  parseConfig({
    origin: { rtmpPort: 0, httpPort: 0, virtualLive: [] },
  }).origin,
  { log: silentLogger, metrics: new MetricsRegistry() },
);
const edge = await startEdge(
  parseConfig({
    edge: {
      port: 0,
      origins: [{ url: `http://127.0.0.1:${origin.httpPort}` }],
    },
  }).edge,
  { log: silentLogger, metrics: new MetricsRegistry(), healthChecks: false },
);
const eh = `http://127.0.0.1:${edge.port}`;
const playlistUrl = `${eh}/live/lat/ll.m3u8`;
const ffmpeg = new Deno.Command("ffmpeg", {
  args: [
    "-v",
    "error",
    "-nostdin",
    "-re",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=640x360:rate=25",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=1000:sample_rate=44100",
    "-t",
    String(3 * seconds + 40),
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-tune",
    "zerolatency",
    "-g",
    "50",
    "-keyint_min",
    "50",
    "-sc_threshold",
    "0",
    "-c:a",
    "aac",
    "-f",
    "flv",
    `rtmp://127.0.0.1:${origin.rtmpPort}/live/lat`,
  ],
  stdin: "null",
  stdout: "null",
  stderr: "null",
}).spawn();

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
};
const fmt = (xs: number[]) =>
  `p50 ${pct(xs, 0.5).toFixed(0)} / p90 ${pct(xs, 0.9).toFixed(0)} / max ${
    Math.max(...xs).toFixed(0)
  } ms (n=${xs.length})`;

/** Wall-clock end of every listed part (PDT + durations), by URI. */
function partEnds(text: string): Map<string, number> {
  const ends = new Map<string, number>();
  let t = NaN;
  for (const line of text.split("\n")) {
    if (line.startsWith("#EXT-X-PROGRAM-DATE-TIME:")) {
      t = Date.parse(line.slice(25));
    } else if (line.startsWith("#EXT-X-PART:")) {
      const d = Number(/DURATION=([\d.]+)/.exec(line)![1]) * 1000;
      const uri = /URI="([^"]+)"/.exec(line)![1]!;
      t += d;
      ends.set(uri, t);
    }
  }
  return ends;
}

async function partAvailability(ms: number): Promise<number[]> {
  const out: number[] = [];
  const deadline = Date.now() + ms;
  let text = "";
  while (!/#EXT-X-PART:/.test(text)) {
    await new Promise((r) => setTimeout(r, 200));
    text = await (await fetch(playlistUrl)).text();
  }
  while (Date.now() < deadline) {
    const hint = /PRELOAD-HINT:TYPE=PART,URI="ll_[a-z0-9]+_(\d+)_(\d+)\.m4s"/
      .exec(text);
    if (!hint) break;
    const r = await fetch(
      `${playlistUrl}?_HLS_msn=${hint[1]}&_HLS_part=${hint[2]}`,
    );
    text = await r.text();
    if (r.status !== 200) continue;
    const ends = partEnds(text);
    // The part asked for, or (segment ended) the next segment's first.
    const uri = [...ends.keys()].find((u) =>
      u.endsWith(`_${hint[1]}_${hint[2]}.m4s`)
    ) ?? [...ends.keys()].at(-1)!;
    const p = await fetch(`${eh}/live/lat/${uri}`);
    await p.arrayBuffer();
    const end = ends.get(uri)!;
    if (Number.isFinite(end)) out.push(Date.now() - end);
  }
  return out;
}

/** One player run: latency samples, and what went wrong on the way (none, ideally). */
interface PlayerRun {
  readonly latencyMs: number[];
  /** hls.js errors (non-fatal ones included) and non-200 answers, in order. */
  readonly problems: string[];
  /** `waiting` events after the warm-up (stalls). */
  readonly stalls: number;
}

async function playerLatency(
  config: Record<string, unknown>,
  ms: number,
): Promise<PlayerRun> {
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--autoplay-policy=no-user-gesture-required",
    ],
  });
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("response", (r) => {
      if (r.status() !== 200) {
        problems.push(`HTTP ${r.status()} ${r.url().split("/").pop()}`);
      }
    });
    page.on("console", (m) => {
      if (m.text().startsWith("hls error")) problems.push(m.text());
    });
    await page.setContent('<video id="v" muted autoplay></video>');
    await page.addScriptTag({ url: `${eh}/assets/hls.min.js` });
    await page.evaluate(`(() => {
      const hls = new Hls(${
      JSON.stringify({ lowLatencyMode: true, ...config })
    });
      hls.loadSource(${JSON.stringify(playlistUrl)});
      const v = document.getElementById("v");
      hls.attachMedia(v);
      hls.on(Hls.Events.ERROR, (_, d) => console.log("hls error " + d.details));
      window.stalls = 0;
      v.addEventListener("waiting", () => window.stalls++);
      window.hls = hls;
    })()`);
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    const stalls0 = await page.evaluate("window.stalls") as number;
    const out: number[] = [];
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const v = await page.evaluate(
        "window.hls.playingDate ? Date.now() - window.hls.playingDate.getTime() : NaN",
      ) as number;
      if (Number.isFinite(v)) out.push(v);
      await new Promise((r) => setTimeout(r, 500));
    }
    const stalls = (await page.evaluate("window.stalls") as number) - stalls0;
    return { latencyMs: out, problems, stalls };
  } finally {
    await browser.close();
  }
}

try {
  const parts = await partAvailability(seconds * 1000);
  console.log(
    `part last frame at origin → part fetched through the edge: ${fmt(parts)}`,
  );
  const report = (what: string, r: PlayerRun) =>
    console.log(
      `${what}: ${
        fmt(r.latencyMs)
      }; stalls after warm-up ${r.stalls}; problems ${
        r.problems.length ? r.problems.join(", ") : "none"
      }`,
    );
  report(
    "hls.js lowLatencyMode (defaults) through the edge",
    await playerLatency({}, seconds * 1000),
  );
  report(
    "hls.js lowLatencyMode + maxLiveSyncPlaybackRate 1.5",
    await playerLatency({ maxLiveSyncPlaybackRate: 1.5 }, seconds * 1000),
  );
} finally {
  try {
    ffmpeg.kill();
  } catch {
    // already gone
  }
  await ffmpeg.status;
  await edge.close();
  await origin.close();
}
