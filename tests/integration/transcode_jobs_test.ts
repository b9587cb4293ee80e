/**
 * VOD transcode jobs through the origin's admin API: a library file made into an HLS set (a
 * master over renditions whose segments line up) and into MP4 renditions the library serves;
 * progress, cancel, a queue of one, and a job that survives a restart of the origin.
 */
import assert from "node:assert/strict";
import {
  parseMasterPlaylist,
  parseMediaPlaylist,
} from "../../codec/hls/mod.ts";
import { parseCodecs } from "../../codec/rfc6381/mod.ts";
import type { OriginHandle } from "../../origin/mod.ts";
import {
  hasBinary,
  probeStreams,
  runPeer,
  waitFor,
} from "../_helpers/peers.ts";
import {
  probeSegmentVideo,
  segmentUrls,
  startTranscodingOrigin,
  TEST_PROFILES,
} from "./_transcode.ts";

const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe");
const TOKEN = "transcode-admin-token-0123456789";
/** A profile slow enough (x264 veryslow) that a job can be watched and cancelled. */
const SLOW = { name: "slow", height: 180, videoKbps: 400, preset: "veryslow" };

async function makeLibrary(seconds: number): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "meridian-jobs-" });
  await Deno.mkdir(`${dir}/media/films`, { recursive: true });
  const out = await runPeer("ffmpeg", [
    "-v",
    "error",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=320x180:rate=15",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=440:sample_rate=44100",
    "-t",
    String(seconds),
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-g",
    "45",
    "-c:a",
    "aac",
    "-b:a",
    "64k",
    "-movflags",
    "+faststart",
    `${dir}/media/films/film.mp4`,
  ]);
  assert.equal(out.code, 0, out.stderr);
  return dir;
}

async function startOrigin(dir: string, maxConcurrentJobs = 1) {
  return await startTranscodingOrigin(
    { apps: [], profiles: [...TEST_PROFILES, SLOW], maxConcurrentJobs },
    {
      dataDir: `${dir}/data`,
      origin: {
        adminToken: TOKEN,
        vod: {
          libraries: [{ path: `${dir}/media`, prefix: "/vod/" }],
          hlsSegmentSeconds: 2,
        },
      },
    },
  );
}

function admin(http: string, path: string, init: RequestInit = {}) {
  return fetch(`${http}${path}`, {
    ...init,
    headers: { Authorization: `Bearer ${TOKEN}`, ...init.headers },
  });
}

async function submit(http: string, body: unknown) {
  const res = await admin(http, "/admin/transcode", {
    method: "POST",
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

async function job(http: string, id: string) {
  return (await (await admin(http, `/admin/jobs/${id}`)).json()).job;
}

async function waitState(
  http: string,
  id: string,
  state: string,
  timeoutMs = 20_000,
) {
  return await waitFor(
    `job ${id} ${state}`,
    async () => {
      const j = await job(http, id);
      if (state !== "failed" && j.state === "failed") throw new Error(j.error);
      return j.state === state && j;
    },
    timeoutMs,
    100,
  );
}

Deno.test({
  name:
    "transcode jobs: an HLS set (master, renditions aligned, CODECS as ffprobe reads them, 720p skipped) and MP4 renditions the library serves; bad requests named",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await makeLibrary(12);
    const { origin, http } = await startOrigin(dir, 2);
    try {
      // The gate and the checks.
      assert.equal((await fetch(`${http}/admin/jobs`)).status, 401);
      const bad = await submit(http, {
        path: "/vod/films/film.mp4",
        profiles: ["144p", "4k"],
      });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.code, "TRANSCODE_BAD_REQUEST");
      assert.match(
        bad.body.error,
        /Invalid job 'profiles\[1\]': got "4k", expected a profile of origin\.transcode\.profiles/,
      );
      assert.equal(
        (await submit(http, { path: "/vod/films/none.mp4" })).status,
        404,
      );
      assert.equal((await submit(http, { path: "/vod/../x.mp4" })).status, 400);
      assert.match(
        (await submit(http, { path: "/vod/films/film.mp4", format: "webm" }))
          .body.error,
        /'format'/,
      );

      const hls = await submit(http, {
        path: "/vod/films/film.mp4",
        profiles: ["144p", "90p", "audio", "720p"],
      });
      assert.equal(hls.status, 202);
      assert.equal(hls.body.job.state, "queued");
      assert.equal(hls.body.job.output, "/vod/films/film_abr/");
      const mp4 = await submit(http, {
        path: "films/film.mp4",
        profiles: ["144p", "90p"],
        format: "mp4",
        output: "film_mp4",
      });
      assert.equal(mp4.status, 202);
      // The same output twice is a conflict.
      assert.equal(
        (await submit(http, { path: "/vod/films/film.mp4" })).status,
        409,
      );

      const done = await waitState(http, hls.body.job.id, "done");
      assert.equal(done.progress.percent, 100);
      assert.equal(done.master, "/vod/films/film_abr/master.m3u8");
      assert.deepEqual(
        done.skipped.map((s: { profile: string }) => s.profile),
        ["720p"],
      );
      // The partial working folder is gone; the set is in the library.
      const entries = [...Deno.readDirSync(`${dir}/media/films`)].map((e) =>
        e.name
      ).sort();
      assert.deepEqual(
        entries.filter((n) =>
          !n.startsWith("film_mp4") && !n.startsWith(".film_mp4")
        ),
        ["film.mp4", "film_abr"],
      );

      const masterUrl = `${http}${done.master}`;
      const master = parseMasterPlaylist(await (await fetch(masterUrl)).text());
      assert.deepEqual(master.variants.map((v) => v.uri), [
        "144p/index.m3u8",
        "90p/index.m3u8",
        "audio/index.m3u8",
      ]);
      const starts: number[][] = [];
      for (const v of master.variants) {
        const url = new URL(v.uri, masterUrl).href;
        const text = await (await fetch(url)).text();
        const playlist = parseMediaPlaylist(text);
        assert.equal(playlist.ended, true);
        const streams = await probeStreams(url) as unknown as {
          codec_type: string;
          profile: string;
          level: number;
          width?: number;
          height?: number;
        }[];
        const video = streams.find((s) => s.codec_type === "video");
        const avc = v.codecs.map(parseCodecs).find((c) => c.kind === "avc1");
        if (video && avc?.kind === "avc1") {
          assert.equal(video.level, avc.levelIdc);
          assert.deepEqual(v.resolution, {
            width: video.width,
            height: video.height,
          });
          assert.equal(v.frameRate, 15);
          const s: number[] = [];
          for (const seg of segmentUrls(url, text)) {
            s.push((await probeSegmentVideo(seg)).startSeconds);
          }
          starts.push(s);
        } else {
          assert.equal(video, undefined);
          assert.deepEqual(v.codecs, ["mp4a.40.2"]);
        }
      }
      // Every rendition's segments start at the same times (a keyframe every 2 s from 0).
      assert.equal(starts.length, 2);
      assert.ok(starts[0]!.length >= 5);
      assert.deepEqual(
        starts[0]!.map((t) => t.toFixed(2)),
        starts[1]!.map((t) => t.toFixed(2)),
      );

      const m = await waitState(http, mp4.body.job.id, "done");
      assert.equal(m.master, "/vod/films/film_mp4/master.m3u8");
      const mp4Master = parseMasterPlaylist(
        await (await fetch(`${http}${m.master}`)).text(),
      );
      assert.deepEqual(mp4Master.variants.map((v) => v.uri), [
        "144p.m3u8",
        "90p.m3u8",
      ]);
      // The library serves each MP4 as a file and as HLS.
      const probed = await probeStreams(
        `${http}/vod/films/film_mp4/90p.mp4`,
      ) as unknown as { width?: number }[];
      assert.ok(probed.some((s) => s.width === 160));
      const hlsOfMp4 = await fetch(
        new URL(mp4Master.variants[0]!.uri, `${http}${m.master}`),
      );
      assert.equal(hlsOfMp4.status, 200);
      assert.match(await hlsOfMp4.text(), /#EXT-X-PLAYLIST-TYPE:VOD/);

      const list = (await (await admin(http, "/admin/jobs")).json()).jobs;
      assert.deepEqual(list.map((j: { id: string }) => j.id), [
        mp4.body.job.id,
        hls.body.job.id,
      ]);
    } finally {
      await origin.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "transcode jobs: progress (percent, fps, speed, ETA), a queue of one, cancel, and a running job started over after a restart",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await makeLibrary(60);
    let origin: OriginHandle | undefined;
    try {
      let started = await startOrigin(dir);
      origin = started.origin;
      let http = started.http;
      const a = (await submit(http, {
        path: "/vod/films/film.mp4",
        profiles: ["slow"],
        output: "a",
      })).body.job;
      const b = (await submit(http, {
        path: "/vod/films/film.mp4",
        profiles: ["slow"],
        output: "b",
      })).body.job;
      const running = await waitFor(
        "progress of the first job",
        async () => {
          const j = await job(http, a.id);
          return j.state === "running" && j.progress.percent > 0 &&
            j.progress.speed > 0 && j.progress.fps > 0 && j;
        },
        20_000,
        100,
      );
      assert.ok(running.progress.percent < 100);
      assert.ok(running.progress.fps > 0);
      assert.ok(running.progress.etaSeconds > 0);
      assert.equal((await job(http, b.id)).state, "queued"); // one at a time
      assert.match(
        started.metrics.render(),
        /meridian_origin_transcode_job_percent\{job="[0-9a-f]+"\} [\d.]+/,
      );

      // Cancel the running one: its ffmpeg is killed, nothing of it is left; the next starts.
      const cancel = await admin(http, `/admin/jobs/${a.id}`, {
        method: "DELETE",
      });
      assert.equal(cancel.status, 200);
      assert.equal((await cancel.json()).job.state, "cancelled");
      assert.deepEqual(
        [...Deno.readDirSync(`${dir}/media/films`)].map((e) => e.name).filter(
          (n) => n === "a" || n.startsWith(".a."),
        ),
        [],
      );
      assert.equal(
        (await admin(http, `/admin/jobs/${a.id}`, { method: "DELETE" })).status,
        409,
      );
      await waitState(http, b.id, "running");

      // A restart while b runs: the journal brings it back and it runs again.
      await origin.close();
      origin = undefined;
      started = await startOrigin(dir);
      origin = started.origin;
      http = started.http;
      const again = await waitState(http, b.id, "running");
      assert.equal(again.attempts, 2);
      assert.equal((await job(http, a.id)).state, "cancelled");
      const gone = await admin(http, `/admin/jobs/${b.id}`, {
        method: "DELETE",
      });
      assert.equal((await gone.json()).job.state, "cancelled");
      assert.equal(origin.registry.size, 0);
      assert.match(
        started.metrics.render(),
        /meridian_origin_transcode_children 0/,
      );
      assert.deepEqual(
        [...Deno.readDirSync(`${dir}/media/films`)].map((e) => e.name),
        ["film.mp4"],
      );
    } finally {
      await origin?.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
