/**
 * Clips with real peers, through the admin API: ffmpeg publishes 12 s (1 s GOPs); a 6 s clip of
 * the DVR window is created (202 at once, progress reported, then the library path), plays in
 * ffprobe from the library within one GOP of what was asked, and exactly with `exact: true`; an
 * HLS package of the range and a clip of that clip (a library file, by path) play too.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../../config/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { silentLogger } from "../../origin/log.ts";
import { type OriginHandle, startOrigin } from "../../origin/mod.ts";
import {
  type BackgroundPeer,
  hasBinary,
  publishArgs,
  runPeer,
  startPeer,
  waitFor,
} from "../_helpers/peers.ts";
import { probedSeconds } from "./_archive.ts";

const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe");
const ADMIN = "clips-admin-token-0123456789";
const GOP_S = 1;

Deno.test({
  name:
    "clips: a 6 s clip of the DVR window through the admin API (202, progress, path) plays from the library within one GOP, and exactly with exact: true",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "meridian-clips-it-" });
    const config = parseConfig({
      origin: {
        rtmpPort: 0,
        httpPort: 0,
        virtualLive: [],
        adminToken: ADMIN,
        vod: { libraries: [{ path: `${dir}/lib`, prefix: "/vod/" }] },
        hls: { targetDurationSeconds: 1, endGraceSeconds: 0.5 },
        defaultApp: { dvr: { windowSeconds: 120 } },
      },
    });
    let origin: OriginHandle | undefined;
    let pub: BackgroundPeer | undefined;
    try {
      origin = await startOrigin(config.origin, {
        log: silentLogger,
        metrics: new MetricsRegistry(),
        dataDir: `${dir}/data`,
      });
      const o = origin;
      const http = `http://127.0.0.1:${o.httpPort}`;
      const auth = { Authorization: `Bearer ${ADMIN}` };
      pub = startPeer(
        "ffmpeg",
        publishArgs(`rtmp://127.0.0.1:${o.rtmpPort}/live/cl`, 12, { gop: 25 }),
      );
      await pub.child.status;
      await pub.stop();
      pub = undefined;
      await waitFor(
        "the publish to end",
        () => o.registry.get("live", "cl") === undefined,
      );
      const programs = await (await fetch(`${http}/live/cl/programs`)).json();
      const s0 = programs.programs[0].recorded.startUnix as number;

      const clip = async (body: Record<string, unknown>) => {
        const res = await fetch(`${http}/admin/clips`, {
          method: "POST",
          headers: { ...auth, "Content-Type": "application/json" },
          body: JSON.stringify(body),
        });
        assert.equal(res.status, 202, await res.clone().text());
        const job = await res.json();
        assert.equal(res.headers.get("location"), `/admin/clips/${job.id}`);
        const seen = new Set<string>();
        const done = await waitFor(
          `clip ${job.id}`,
          async () => {
            const j = await (await fetch(`${http}/admin/clips/${job.id}`, {
              headers: auth,
            })).json();
            seen.add(`${j.state}:${j.percent}`);
            return ["done", "failed"].includes(j.state) ? j : undefined;
          },
          60_000,
          5,
        );
        assert.equal(done.state, "done", JSON.stringify(done.error));
        return { done, seen };
      };
      const asked = {
        app: "live",
        stream: "cl",
        start: s0 + 2.5,
        end: s0 + 8.5,
      };

      const { done, seen } = await clip({ ...asked, format: "mp4" });
      assert.equal(done.percent, 100);
      assert.ok(seen.size >= 2, `progress seen: ${[...seen].join(" ")}`);
      assert.match(done.path, /^clips\/live\/cl\/.+_6s\.mp4$/);
      const probe = async (url: string) => {
        const out = await runPeer("ffprobe", [
          "-v",
          "error",
          "-select_streams",
          "v:0",
          "-count_frames",
          "-show_entries",
          "stream=nb_read_frames,duration",
          "-of",
          "json",
          url,
        ]);
        assert.equal(out.code, 0, out.stderr);
        assert.equal(out.stderr, "");
        const s = JSON.parse(out.stdout).streams[0];
        return {
          frames: Number(s.nb_read_frames),
          seconds: Number(s.duration),
        };
      };
      const keyframed = await probe(`${http}${done.url}`);
      assert.ok(
        Math.abs(keyframed.seconds - 6) <= GOP_S,
        `keyframe cut: ${keyframed.seconds} s for 6 s`,
      );

      const exact = await clip({
        ...asked,
        format: "mp4",
        exact: true,
        name: "exact",
      });
      assert.equal(exact.done.path, "clips/live/cl/exact.mp4");
      const e = await probe(`${http}${exact.done.url}`);
      assert.equal(e.frames, 150, "6 s at 25 fps, exactly");
      assert.ok(Math.abs(e.seconds - 6) < 0.041, `exact: ${e.seconds} s`);

      // An HLS package of the same range (the kept segments reused): plays over HTTP.
      const hls = await clip({ ...asked, format: "hls", name: "pkg" });
      assert.equal(hls.done.path, "clips/live/cl/pkg.m3u8");
      const h = await probedSeconds(`${http}${hls.done.url}`);
      assert.ok(Math.abs(h - 6) <= GOP_S, `HLS package: ${h} s for 6 s`);

      // A clip of a library file (the first clip, now VOD): seconds of the file, as FLV.
      const fromFile = await clip({
        path: done.path,
        start: 1,
        end: 4,
        format: "flv",
        name: "from-file",
      });
      assert.match(
        fromFile.done.path,
        /^clips\/vod\/[^/]+_6s\/from-file\.flv$/,
      );
      const f = await probedSeconds(`${http}${fromFile.done.url}`);
      assert.ok(
        Math.abs(f - 3) <= GOP_S,
        `library-file cut: ${f} s for 3 s`,
      );

      // A finished job cannot be cancelled; an unknown one is 404; the list has both.
      const del = await fetch(`${http}/admin/clips/${done.id}`, {
        method: "DELETE",
        headers: auth,
      });
      assert.equal(del.status, 409);
      await del.body?.cancel();
      const missing = await fetch(`${http}/admin/clips/nope`, {
        headers: auth,
      });
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
      const list = await (await fetch(`${http}/admin/clips`, { headers: auth }))
        .json();
      assert.equal(list.jobs.length, 4);
      const metrics = await (await fetch(`${http}/metrics`)).text();
      assert.match(metrics, /meridian_origin_clip_jobs\{state="done"\} 4/);
    } finally {
      await pub?.stop();
      await origin?.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
