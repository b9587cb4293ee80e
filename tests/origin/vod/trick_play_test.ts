/**
 * Trick-play thumbnails through a real origin: a 20 s MP4 whose red level grows with time
 * (so a tile's colour says which moment it shows), `/vod/{path}.vtt` answered 202 while the
 * one ffmpeg job runs, then a WebVTT track whose every cue names the tile of the frame at its
 * start time, the sprite served, and after a restart both answered at once from the data
 * directory.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../../../config/mod.ts";
import { MetricsRegistry } from "../../../metrics/mod.ts";
import { silentLogger } from "../../../origin/log.ts";
import { startOrigin } from "../../../origin/mod.ts";
import {
  renderTrickPlayVtt,
  trickPlayInterval,
} from "../../../origin/vod/trick_play.ts";
import { hasBinary, runPeer, waitFor } from "../../_helpers/peers.ts";

const haveFfmpeg = await hasBinary("ffmpeg");
/** Red grows 12 levels a second: frame at t seconds has red ≈ 12·t (0..240 over 20 s). */
const RED_PER_SECOND = 12;

Deno.test("renderTrickPlayVtt() writes one cue per tile, from its frame's time to the next, tiles left to right then down", () => {
  const vtt = renderTrickPlayVtt({
    times: [0.02, 4, 8.5, 3600],
    durationSeconds: 3700.25,
    tileWidth: 160,
    tileHeight: 90,
    columns: 2,
  }, "f%20x.mp4.sprite.jpg?cred=a%2Bb");
  assert.equal(
    vtt,
    [
      "WEBVTT",
      "",
      "00:00:00.000 --> 00:00:04.000",
      "f%20x.mp4.sprite.jpg?cred=a%2Bb#xywh=0,0,160,90",
      "",
      "00:00:04.000 --> 00:00:08.500",
      "f%20x.mp4.sprite.jpg?cred=a%2Bb#xywh=160,0,160,90",
      "",
      "00:00:08.500 --> 01:00:00.000",
      "f%20x.mp4.sprite.jpg?cred=a%2Bb#xywh=0,90,160,90",
      "",
      "01:00:00.000 --> 01:01:40.250",
      "f%20x.mp4.sprite.jpg?cred=a%2Bb#xywh=160,90,160,90",
      "",
    ].join("\n"),
  );
});

Deno.test("trickPlayInterval() keeps the configured interval for short files and at most 200 tiles for long ones", () => {
  assert.equal(trickPlayInterval(120, 10), 10);
  assert.equal(trickPlayInterval(7200, 10), 37);
  assert.ok(7200 / trickPlayInterval(7200, 10) < 200);
});

Deno.test({
  name:
    "trick play: /vod/{path}.vtt is 202 while made, then cues whose tiles show the frame at their time; kept across a restart",
  ignore: !haveFfmpeg,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "meridian_trick_" });
    const lib = `${dir}/lib`;
    await Deno.mkdir(`${lib}/clips`, { recursive: true });
    const made = await runPeer("ffmpeg", [
      "-v",
      "error",
      "-y",
      "-f",
      "lavfi",
      "-i",
      `color=c=black:s=320x180:r=25:d=20,format=rgb24,geq=r='min(255,T*${RED_PER_SECOND})':g='0':b='0'`,
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-pix_fmt",
      "yuv420p",
      "-g",
      "50",
      "-keyint_min",
      "50",
      "-sc_threshold",
      "0",
      `${lib}/clips/ramp.mp4`,
    ], 60_000);
    assert.equal(made.code, 0, made.stderr);
    const config = parseConfig({
      dataDir: `${dir}/data`,
      origin: {
        rtmpPort: 0,
        httpPort: 0,
        virtualLive: [],
        vod: {
          libraries: [{ path: lib, prefix: "/vod/" }],
          trickPlayIntervalSeconds: 4,
        },
      },
    });
    const start = () =>
      startOrigin(config.origin, {
        log: silentLogger,
        metrics: new MetricsRegistry(),
        dataDir: `${dir}/data`,
      });
    let origin = await start();
    try {
      const base = () => `http://127.0.0.1:${origin.httpPort}/vod/clips`;
      const first = await fetch(`${base()}/ramp.vtt`);
      assert.equal(first.status, 202);
      assert.equal(first.headers.get("cache-control"), "no-store");
      const job = await first.json();
      assert.ok(["queued", "running"].includes(job.state), job.state);
      const vtt = await waitFor(
        "trick-play track",
        async () => {
          const r = await fetch(`${base()}/ramp.vtt`);
          if (r.status === 202) return void await r.body?.cancel();
          assert.equal(r.status, 200);
          assert.match(r.headers.get("content-type") ?? "", /^text\/vtt/);
          return await r.text();
        },
        60_000,
        100,
      );
      const cues = [
        ...vtt.matchAll(
          /(\d\d):(\d\d):(\d\d)\.(\d{3}) --> [^\n]+\n([^#\n]+)#xywh=(\d+),(\d+),(\d+),(\d+)/g,
        ),
      ].map((m) => ({
        start: Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) +
          Number(m[4]) / 1000,
        url: m[5]!,
        x: Number(m[6]),
        y: Number(m[7]),
        w: Number(m[8]),
        h: Number(m[9]),
      }));
      // Keyframes every 2 s, one kept every 4 s: 0, 4, 8, 12, 16.
      assert.deepEqual(cues.map((c) => Math.round(c.start)), [0, 4, 8, 12, 16]);
      assert.equal(cues[0]!.url, "ramp.mp4.sprite.jpg");
      assert.deepEqual([cues[0]!.w, cues[0]!.h], [160, 90]);

      // The sprite: decode to RGB and read each cue's tile's red level.
      const spriteRes = await fetch(`${base()}/${cues[0]!.url}`);
      assert.equal(spriteRes.status, 200);
      assert.equal(spriteRes.headers.get("content-type"), "image/jpeg");
      const spritePath = `${dir}/sprite.jpg`;
      await Deno.writeFile(
        spritePath,
        new Uint8Array(await spriteRes.arrayBuffer()),
      );
      const probe = await runPeer("ffprobe", [
        "-v",
        "error",
        "-show_entries",
        "stream=width,height",
        "-of",
        "csv=p=0",
        spritePath,
      ]);
      const [width, height] = probe.stdout.trim().split(",").map(Number);
      assert.equal(width, 1600);
      assert.ok(height! >= 90);
      const raw = await new Deno.Command("ffmpeg", {
        args: [
          "-v",
          "error",
          "-i",
          spritePath,
          "-f",
          "rawvideo",
          "-pix_fmt",
          "rgb24",
          "pipe:1",
        ],
        stdout: "piped",
        stderr: "null",
      }).output();
      const rgb = raw.stdout;
      for (const c of cues) {
        let red = 0;
        let n = 0;
        for (let y = c.y + 10; y < c.y + c.h - 10; y += 4) {
          for (let x = c.x + 10; x < c.x + c.w - 10; x += 4) {
            red += rgb[(y * width! + x) * 3]!;
            n++;
          }
        }
        const seen = red / n / RED_PER_SECOND;
        assert.ok(
          Math.abs(seen - c.start) < 1,
          `tile of the cue at ${c.start} s shows ${seen.toFixed(2)} s`,
        );
      }

      // Made once: after a restart both are answered at once from the data directory.
      await origin.close();
      origin = await start();
      const again = await fetch(`${base()}/ramp.mp4.vtt`);
      assert.equal(again.status, 200);
      assert.equal(await again.text(), vtt);
      const bad = await fetch(`${base()}/missing.vtt`);
      assert.equal(bad.status, 404);
      await bad.body?.cancel();
    } finally {
      await origin.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
