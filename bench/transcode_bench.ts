/**
 * Transcoding benchmarks (issue 15), against `main.ts --roles origin` as a child process:
 *
 * - `cpu`: CPU per rendition under Meridian's supervision beside the same ffmpeg command run by
 *   hand (fed the same source over HTTP-FLV, output discarded), and Meridian's own CPU in both
 *   runs: what supervising, feeding, reading and packaging the renditions costs.
 * - `first-segment`: ms from the publisher's start to the first HLS segment of the source and
 *   of every rendition (`start: always`), and that in GOPs of the source.
 * - `vod`: a VOD job's speed (× real time) per x264 preset.
 *
 * usage (from the project root): deno run -A bench/transcode_bench.ts cpu|first-segment|vod
 * env: WINDOW_SECONDS (20, the measurement window), SRC_SIZE (1280x720), FPS (30), GOP_SECONDS (2),
 *   SRC_KBPS (3000), PROFILES (480p,360p: names of the default ladder), PRESETS
 *   (ultrafast,veryfast,medium), VOD_SECONDS (30), RUNS (3).
 * Loopback only; every child bounded in time and killed by its pid in `finally`.
 */

import { DEFAULT_LADDER } from "../config/mod.ts";
import { liveRenditionArgs } from "../origin/transcode/profiles.ts";

const env = (k: string, d: string) => Deno.env.get(k) ?? d;
const SECONDS = Number(env("WINDOW_SECONDS", "20"));
const SRC_SIZE = env("SRC_SIZE", "1280x720");
const FPS = Number(env("FPS", "30"));
const GOP_SECONDS = Number(env("GOP_SECONDS", "2"));
const SRC_KBPS = Number(env("SRC_KBPS", "3000"));
const PROFILES = env("PROFILES", "480p,360p").split(",");
const PRESETS = env("PRESETS", "ultrafast,veryfast,medium").split(",");
const VOD_SECONDS = Number(env("VOD_SECONDS", "30"));
const RUNS = Number(env("RUNS", "3"));
const TOKEN = "bench-admin-token-0123456789abcdef";
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const CLK_TCK = 100; // Linux USER_HZ

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = (l.addr as Deno.NetAddr).port;
  l.close();
  return p;
}

/** utime + stime of a process, in seconds (0 when gone). */
function cpuSeconds(pid: number): number {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** CPU % of one core of each pid over `seconds`. */
async function sampleCpu(pids: number[], seconds: number): Promise<number[]> {
  const before = pids.map(cpuSeconds);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const wall = (performance.now() - t0) / 1000;
  return pids.map((p, i) => ((cpuSeconds(p) - before[i]!) / wall) * 100);
}

async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  ms = 30_000,
): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface Meridian {
  readonly child: Deno.ChildProcess;
  readonly http: string;
  readonly rtmp: string;
  stop(): Promise<void>;
}

async function startMeridian(
  dir: string,
  transcode: string,
  extra = "",
): Promise<Meridian> {
  const http = freePort();
  const rtmp = freePort();
  const config = `${dir}/meridian.yaml`;
  await Deno.writeTextFile(
    config,
    [
      `dataDir: ${dir}/data`,
      "log: { level: warn, format: json }",
      "origin:",
      `  rtmpPort: ${rtmp}`,
      `  httpPort: ${http}`,
      `  adminToken: ${TOKEN}`,
      "  virtualLive: []",
      extra,
      "  transcode:",
      transcode,
      "",
    ].join("\n"),
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      MAIN,
      "--roles",
      "origin",
      "--config",
      config,
    ],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const base = `http://127.0.0.1:${http}`;
  await waitFor(
    "Meridian",
    async () => (await fetch(`${base}/healthz`)).ok || undefined,
  );
  return {
    child,
    http: base,
    rtmp: `rtmp://127.0.0.1:${rtmp}`,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // gone
      }
      await child.status;
    },
  };
}

function publish(url: string, seconds: number): Deno.ChildProcess {
  const [w, h] = SRC_SIZE.split("x");
  return new Deno.Command("ffmpeg", {
    args: [
      "-v",
      "error",
      "-nostdin",
      "-re",
      "-f",
      "lavfi",
      "-i",
      `testsrc2=size=${w}x${h}:rate=${FPS}`,
      "-f",
      "lavfi",
      "-i",
      "sine=frequency=1000:sample_rate=48000",
      "-t",
      String(seconds),
      "-c:v",
      "libx264",
      "-preset",
      "veryfast",
      "-b:v",
      `${SRC_KBPS}k`,
      "-maxrate",
      `${SRC_KBPS}k`,
      "-bufsize",
      `${SRC_KBPS * 2}k`,
      "-g",
      String(FPS * GOP_SECONDS),
      "-keyint_min",
      String(FPS * GOP_SECONDS),
      "-sc_threshold",
      "0",
      "-bf",
      "0",
      "-c:a",
      "aac",
      "-b:a",
      "128k",
      "-f",
      "flv",
      url,
    ],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
}

function kill(c: Deno.ChildProcess): Promise<Deno.CommandStatus> {
  try {
    c.kill("SIGKILL");
  } catch {
    // gone
  }
  return c.status;
}

async function renditions(http: string, stream: string) {
  const api = await (await fetch(`${http}/api/streams`)).json();
  return (api.streams.find((s: { name: string }) => s.name === stream)
    ?.transcode?.renditions ?? []) as {
      stream: string;
      state: string;
      pid?: number;
    }[];
}

const transcodeAlways = `    apps: [{ name: live, start: always, profiles: [${
  PROFILES.join(", ")
}] }]`;

async function cpu(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "meridian-tbench-" });
  const warm = 5;
  // 1. Meridian supervising the renditions.
  let m = await startMeridian(dir, transcodeAlways);
  let pub = publish(`${m.rtmp}/live/cam`, SECONDS + 30);
  let supervised: number[];
  let meridianSupervised: number;
  try {
    const r = await waitFor("renditions running", async () => {
      const x = await renditions(m.http, "cam");
      return x.length === PROFILES.length &&
          x.every((y) => y.state === "running" && y.pid)
        ? x
        : undefined;
    });
    await new Promise((res) => setTimeout(res, warm * 1000));
    const pct = await sampleCpu(
      [m.child.pid, ...r.map((x) => x.pid!)],
      SECONDS,
    );
    meridianSupervised = pct[0]!;
    supervised = pct.slice(1);
  } finally {
    await kill(pub);
    await m.stop();
  }
  // 2. The same ffmpeg commands by hand, fed the source over HTTP-FLV, output discarded.
  m = await startMeridian(`${dir}`, "    apps: []");
  pub = publish(`${m.rtmp}/live/cam`, SECONDS + 30);
  const hand: Deno.ChildProcess[] = [];
  const feeds: AbortController[] = [];
  let byHand: number[];
  let meridianByHand: number;
  try {
    await waitFor(
      "source",
      async () =>
        (await fetch(`${m.http}/api/streams`).then((r) => r.json())).streams
          .length || undefined,
    );
    for (const name of PROFILES) {
      const profile = DEFAULT_LADDER.find((p) => p.name === name)!;
      const c = new Deno.Command("ffmpeg", {
        args: liveRenditionArgs(
          { profile, width: undefined, height: undefined },
          { hasVideo: true, hasAudio: true },
          `live/hand_${name}`,
        ),
        stdin: "piped",
        stdout: "null",
        stderr: "null",
      }).spawn();
      hand.push(c);
      const abort = new AbortController();
      feeds.push(abort);
      const res = await fetch(`${m.http}/live/cam.flv`, {
        signal: abort.signal,
      });
      void res.body!.pipeTo(c.stdin, { signal: abort.signal }).catch(() => {});
    }
    await new Promise((res) => setTimeout(res, warm * 1000));
    const pct = await sampleCpu(
      [m.child.pid, ...hand.map((c) => c.pid)],
      SECONDS,
    );
    meridianByHand = pct[0]!;
    byHand = pct.slice(1);
  } finally {
    for (const f of feeds) f.abort();
    for (const c of hand) await kill(c);
    await kill(pub);
    await m.stop();
    await Deno.remove(dir, { recursive: true });
  }
  console.log(
    `source ${SRC_SIZE}@${FPS} ${SRC_KBPS} kbit/s, window ${SECONDS} s, CPU % of one core`,
  );
  console.log("| rendition | supervised ffmpeg | by-hand ffmpeg | ratio |");
  console.log("| --- | --- | --- | --- |");
  PROFILES.forEach((p, i) =>
    console.log(
      `| ${p} | ${supervised[i]!.toFixed(1)} | ${byHand[i]!.toFixed(1)} | ${
        (supervised[i]! / byHand[i]!).toFixed(3)
      } |`,
    )
  );
  const encoders = supervised.reduce((a, b) => a + b, 0);
  console.log(
    `| Meridian process | ${
      meridianSupervised!.toFixed(1)
    } (publishing ${PROFILES.length} renditions, HLS) | ${
      meridianByHand!.toFixed(1)
    } (${PROFILES.length} HTTP-FLV viewers) | overhead ${
      (((meridianSupervised! + encoders) /
          (meridianByHand! + byHand.reduce((a, b) => a + b, 0)) - 1) * 100)
        .toFixed(1)
    } % |`,
  );
}

async function firstSegment(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "meridian-tbench-" });
  const m = await startMeridian(dir, transcodeAlways);
  try {
    console.log(
      "| run | source | " + PROFILES.join(" | ") +
        " | (ms from publish; GOPs) |",
    );
    for (let run = 0; run < RUNS; run++) {
      const name = `cam${run}`;
      const t0 = performance.now();
      const pub = publish(`${m.rtmp}/live/${name}`, 30);
      try {
        // The source's own playlist is a variant of its master (`/live/cam.m3u8` is the master).
        const urls = [
          `${m.http}/live/${name}/${name}.m3u8`,
          ...PROFILES.map((p) => `${m.http}/live/${name}_${p}.m3u8`),
        ];
        const times = await Promise.all(
          urls.map((u) =>
            waitFor(`${u} first segment`, async () => {
              const r = await fetch(u);
              const t = await r.text();
              return r.ok && t.includes("#EXTINF")
                ? performance.now() - t0
                : undefined;
            })
          ),
        );
        const gop = GOP_SECONDS * 1000;
        console.log(
          `| ${run + 1} | ${
            times.map((t) => `${t.toFixed(0)} (${(t / gop).toFixed(2)})`).join(
              " | ",
            )
          } |`,
        );
      } finally {
        await kill(pub);
      }
    }
  } finally {
    await m.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

async function vod(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "meridian-tbench-" });
  await Deno.mkdir(`${dir}/media`);
  const [w, h] = SRC_SIZE.split("x");
  const made = await new Deno.Command("ffmpeg", {
    args: [
      "-v",
      "error",
      "-f",
      "lavfi",
      "-i",
      `testsrc2=size=${w}x${h}:rate=${FPS}`,
      "-f",
      "lavfi",
      "-i",
      "sine=sample_rate=48000",
      "-t",
      String(VOD_SECONDS),
      "-c:v",
      "libx264",
      "-preset",
      "veryfast",
      "-b:v",
      `${SRC_KBPS}k`,
      "-c:a",
      "aac",
      `${dir}/media/film.mp4`,
    ],
  }).output();
  if (!made.success) throw new Error("cannot make the VOD source");
  const base = DEFAULT_LADDER.find((p) => p.name === PROFILES[0])!;
  const profiles = PRESETS.map((preset) =>
    `      - { name: p-${preset}, height: ${base.height}, videoKbps: ${base.videoKbps}, preset: ${preset} }`
  ).join("\n");
  const m = await startMeridian(
    dir,
    `    apps: []\n    profiles:\n${profiles}`,
    `  vod: { libraries: [{ path: ${dir}/media, prefix: /vod/ }] }`,
  );
  try {
    console.log(
      `VOD source ${SRC_SIZE}@${FPS}, ${VOD_SECONDS} s; one rendition of ${base.height} lines at ${base.videoKbps} kbit/s`,
    );
    console.log("| preset | elapsed s | × real time |");
    console.log("| --- | --- | --- |");
    for (const preset of PRESETS) {
      const t0 = performance.now();
      const res = await fetch(`${m.http}/admin/transcode`, {
        method: "POST",
        headers: { Authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({
          path: "/vod/film.mp4",
          profiles: [`p-${preset}`],
          output: `out-${preset}`,
          format: "mp4",
        }),
      });
      const { job } = await res.json();
      await waitFor(`job ${preset}`, async () => {
        const j = (await (await fetch(`${m.http}/admin/jobs/${job.id}`, {
          headers: { Authorization: `Bearer ${TOKEN}` },
        })).json()).job;
        if (j.state === "failed") throw new Error(j.error);
        return j.state === "done" ? j : undefined;
      }, 600_000);
      const s = (performance.now() - t0) / 1000;
      console.log(
        `| ${preset} | ${s.toFixed(1)} | ${(VOD_SECONDS / s).toFixed(2)} |`,
      );
    }
  } finally {
    await m.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

const what = Deno.args[0];
if (what === "cpu") await cpu();
else if (what === "first-segment") await firstSegment();
else if (what === "vod") await vod();
else {
  console.error(
    "usage: deno run -A bench/transcode_bench.ts cpu|first-segment|vod",
  );
  Deno.exit(2);
}
