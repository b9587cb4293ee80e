/**
 * The proofs at full length (the tests use 12 s publishes): ffmpeg publishes for 60 s
 * (2 s GOPs) into an origin recording MP4 and FLV; then `?offset=-30` (taken at 45 s) and a
 * `?start=&end=` playlist are probed with ffprobe (duration ±1 segment, PDT on every segment),
 * both recordings are probed (duration within one GOP of 60 s), and a 20 s clip of the DVR is
 * cut on keyframes and frame-exactly (within one GOP, and exact).
 *
 * Run: deno run -A bench/archive_proof.ts   (about 90 s)
 */
import { parseMediaPlaylist } from "../codec/hls/mod.ts";
import { parseConfig } from "../config/mod.ts";
import { MetricsRegistry } from "../metrics/mod.ts";
import { silentLogger } from "../origin/log.ts";
import { startOrigin } from "../origin/mod.ts";

const ADMIN = "proof-admin-token-0123456789";
const PUBLISH_S = 60;
const GOP_S = 2;

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

async function videoSeconds(
  url: string,
): Promise<{ seconds: number; frames: number }> {
  const j = JSON.parse(
    await run("ffprobe", [
      "-v",
      "error",
      "-select_streams",
      "v:0",
      "-show_entries",
      "packet=pts_time,duration_time",
      "-of",
      "json",
      url,
    ]),
  );
  const pts = j.packets.map((p: { pts_time: string }) => Number(p.pts_time));
  const frame = Number(j.packets[0].duration_time) || 0.04;
  return {
    seconds: Math.max(...pts) + frame - Math.min(...pts),
    frames: pts.length,
  };
}

const results: string[] = [];
const check = (ok: boolean, what: string) => {
  results.push(`${ok ? "PASS" : "FAIL"}  ${what}`);
  console.log(results.at(-1));
};

const dir = await Deno.makeTempDir({ prefix: "meridian-proof-" });
const origin = await startOrigin(
  parseConfig({
    origin: {
      rtmpPort: 0,
      httpPort: 0,
      virtualLive: [],
      adminToken: ADMIN,
      vod: { libraries: [{ path: `${dir}/lib`, prefix: "/vod/" }] },
      hls: { targetDurationSeconds: 2, endGraceSeconds: 1 },
      defaultApp: {
        dvr: { windowSeconds: 600 },
        record: { enabled: true, formats: ["mp4", "flv"] },
      },
    },
  }).origin,
  { log: silentLogger, metrics: new MetricsRegistry(), dataDir: `${dir}/data` },
);
const http = `http://127.0.0.1:${origin.httpPort}`;
const auth = { Authorization: `Bearer ${ADMIN}` };
try {
  const pub = new Deno.Command("ffmpeg", {
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
      String(PUBLISH_S),
      "-c:v",
      "libx264",
      "-preset",
      "veryfast",
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
      `rtmp://127.0.0.1:${origin.rtmpPort}/live/proof`,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  // At 45 s: the last 30 s, while live (EVENT, from its absolute start).
  await new Promise((r) => setTimeout(r, 45_000));
  const res = await fetch(`${http}/live/proof.m3u8?offset=-30`, {
    redirect: "manual",
  });
  const offsetUrl = `${http}${res.headers.get("location")}`;
  await res.body?.cancel();
  await pub.status;
  await new Promise((r) => setTimeout(r, 3000)); // the grace: the EVENT playlist ends
  const offsetList = parseMediaPlaylist(await (await fetch(offsetUrl)).text());
  const offsetProbe = await videoSeconds(offsetUrl);
  // From 30 s before the 45 s mark to the end: about 45 s of the 60.
  const listed = offsetList.segments.reduce((n, s) => n + s.durationSeconds, 0);
  check(
    Math.abs(offsetProbe.seconds - listed) <= GOP_S && listed >= 44 &&
      listed <= 48,
    `offset=-30 at 45 s: ffprobe ${
      offsetProbe.seconds.toFixed(2)
    } s, playlist ${
      listed.toFixed(2)
    } s (from 15 s to the end), ${offsetList.segments.length} segments`,
  );
  check(
    offsetList.segments.every((s) => Number.isFinite(s.programDateTimeMs)),
    "PDT on every segment of the offset playlist",
  );
  const programs = await (await fetch(`${http}/live/proof/programs`)).json();
  const s0 = programs.programs[0].recorded.startUnix as number;
  const rangeUrl = `${http}/live/proof.m3u8?start=${s0 + 10}&end=${s0 + 40}`;
  const range = await videoSeconds(rangeUrl);
  const rangeList = parseMediaPlaylist(await (await fetch(rangeUrl)).text());
  check(
    Math.abs(range.seconds - 30) <= GOP_S && rangeList.ended &&
      rangeList.segments.every((s) => Number.isFinite(s.programDateTimeMs)),
    `start=+10&end=+40: ffprobe ${
      range.seconds.toFixed(2)
    } s for 30 s, VOD + ENDLIST, PDT on all ${rangeList.segments.length}`,
  );
  // The recordings.
  for (let i = 0; i < 100; i++) {
    const r = await (await fetch(`${http}/admin/recordings`, { headers: auth }))
      .json();
    if (r.active.length === 0 && r.files.length === 2) {
      for (const f of r.files) {
        const p = await videoSeconds(`${http}${f.url}`);
        check(
          Math.abs(p.seconds - PUBLISH_S) <= GOP_S,
          `recording ${f.format}: ffprobe ${
            p.seconds.toFixed(2)
          } s for a ${PUBLISH_S} s publish (${(f.bytes / 1e6).toFixed(1)} MB)`,
        );
      }
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  // A 20 s clip of the DVR window, on keyframes and frame-exactly.
  for (const exact of [false, true]) {
    const post = await fetch(`${http}/admin/clips`, {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json" },
      body: JSON.stringify({
        app: "live",
        stream: "proof",
        start: s0 + 11.3,
        end: s0 + 31.3,
        format: "mp4",
        exact,
      }),
    });
    const { id } = await post.json();
    const percents = new Set<number>();
    let job;
    for (;;) {
      job = await (await fetch(`${http}/admin/clips/${id}`, { headers: auth }))
        .json();
      percents.add(job.percent);
      if (job.state === "done" || job.state === "failed") break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const p = await videoSeconds(`${http}${job.url}`);
    check(
      exact ? p.frames === 500 : Math.abs(p.seconds - 20) <= GOP_S,
      `20 s clip${exact ? ", exact" : ""}: ${job.state}, ffprobe ${
        p.seconds.toFixed(3)
      } s, ${p.frames} frames; progress seen ${
        [...percents].sort((a, b) => a - b).join(",")
      }`,
    );
  }
} finally {
  await origin.close();
  await Deno.remove(dir, { recursive: true });
}
console.log(
  results.every((r) => r.startsWith("PASS")) ? "all passed" : "SOME FAILED",
);
