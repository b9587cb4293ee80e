/**
 * RTMP VOD play of library files: ffprobe/ffmpeg as the RTMP client (`rtmp://host/vod/film.mp4`,
 * which ffmpeg plays as `mp4:film.mp4`), and a raw client for what ffmpeg does not send:
 * `seek`, `pause`, the end (`NetStream.Play.Stop`, `onPlayStatus` Complete).
 */
import assert from "node:assert/strict";
import {
  decodeCommand,
  decodeDataMessage,
  type RtmpMessage,
} from "../../codec/rtmp/mod.ts";
import { parseConfig } from "../../config/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { silentLogger } from "../../origin/log.ts";
import { startOrigin } from "../../origin/mod.ts";
import { hasBinary, runPeer } from "../_helpers/peers.ts";
import { RawClient } from "../_helpers/rtmp_client.ts";

const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe");

function status(m: RtmpMessage): string | undefined {
  if (m.typeId !== 20) return undefined;
  const c = decodeCommand(m.payload, 20);
  if (c.name !== "onStatus") return undefined;
  return (c.args[0] as { code?: string } | undefined)?.code;
}

Deno.test({
  name:
    "vod rtmp: ffmpeg plays and seeks a library file over RTMP; seek, pause and the end as Flash players get them",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "meridian-vodrtmp-" });
    const made = await runPeer("ffmpeg", [
      "-v",
      "error",
      "-y",
      "-f",
      "lavfi",
      "-i",
      "testsrc2=size=320x240:rate=25",
      "-f",
      "lavfi",
      "-i",
      "sine=sample_rate=44100",
      "-t",
      "30",
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-g",
      "50",
      "-bf",
      "2",
      "-c:a",
      "aac",
      `${dir}/film.mp4`,
    ], 60_000);
    assert.equal(made.code, 0, made.stderr);
    await Deno.copyFile(`${dir}/film.mp4`, `${dir}/clip.mp4`);
    const config = parseConfig({
      origin: {
        rtmpPort: 0,
        httpPort: 0,
        virtualLive: [],
        vod: { libraries: [{ path: dir, prefix: "/vod/" }] },
      },
    });
    const origin = await startOrigin(config.origin, {
      log: silentLogger,
      metrics: new MetricsRegistry(),
    });
    const url = `rtmp://127.0.0.1:${origin.rtmpPort}/vod`;
    try {
      // ffprobe sees both tracks; ffmpeg decodes the first seconds without an error.
      const p = await runPeer("ffprobe", [
        "-v",
        "error",
        "-show_entries",
        "stream=codec_name",
        "-of",
        "csv=p=0",
        `${url}/film.mp4`,
      ], 30_000);
      assert.deepEqual(
        p.stdout.trim().split("\n").sort(),
        ["aac", "h264"],
        p.stderr,
      );
      const d = await runPeer("ffmpeg", [
        "-v",
        "error",
        "-i",
        `${url}/film.mp4`,
        "-t",
        "2",
        "-f",
        "null",
        "-",
      ], 30_000);
      assert.equal(d.code, 0, d.stderr);
      assert.equal(d.stderr.trim(), "");
      // Played without the extension; ffprobe asks for the interval from 20 s (the first frame
      // it shows must lie within a GOP of it).
      const seek = await runPeer("ffprobe", [
        "-v",
        "error",
        "-read_intervals",
        "20%+2",
        "-select_streams",
        "v",
        "-show_entries",
        "frame=pts_time",
        "-of",
        "csv=p=0",
        `${url}/film`,
      ], 30_000);
      const pts = seek.stdout.trim().split("\n").filter(Boolean).map(Number);
      assert.ok(pts.length > 0, seek.stderr);
      assert.ok(
        pts[0]! >= 19.9 - 2 && pts[0]! <= 21,
        `first frame after seek at ${pts[0]}`,
      );
      // Missing file: refused with StreamNotFound.
      const miss = await RawClient.connect(origin.rtmpPort);
      await miss.send("connect", 1, { app: "vod", tcUrl: url }, []);
      await miss.send("createStream", 2, null, []);
      await miss.send("play", 0, null, ["mp4:nope.mp4"], 1);
      assert.equal(
        status(await miss.until((m) => status(m) !== undefined)),
        "NetStream.Play.StreamNotFound",
      );
      miss.conn.close();

      // A raw Flash-like player: play from 5 s, seek to 20 s, pause, unpause, play to the end.
      const c = await RawClient.connect(origin.rtmpPort);
      await c.send("connect", 1, { app: "vod", tcUrl: url }, []);
      await c.send("createStream", 2, null, []);
      await c.send("play", 0, null, ["mp4:clip.mp4", 5000, -1], 1);
      assert.equal(
        status(await c.until((m) => status(m) === "NetStream.Play.Start")),
        "NetStream.Play.Start",
      );
      const firstVideo = await c.until((m) =>
        m.typeId === 9 && m.payload[1] === 1
      );
      assert.ok(
        firstVideo.timestampMs >= 4000 && firstVideo.timestampMs <= 5000,
        `starts at ${firstVideo.timestampMs}`,
      );
      // Paced: media runs at most the burst (3 s) ahead of the clock.
      const t0 = Date.now();
      const ahead = await c.until(
        (m) => m.typeId === 9 && m.timestampMs >= 10_000,
        15_000,
      );
      assert.ok(
        Date.now() - t0 >= 1000,
        `10 s of media came in ${Date.now() - t0} ms: not paced`,
      );
      assert.ok(ahead);
      await c.send("seek", 0, null, [20_000], 1);
      await c.until((m) => status(m) === "NetStream.Seek.Notify");
      const afterSeek = await c.until((m) =>
        m.typeId === 9 && m.payload[1] === 1 && (m.payload[0]! >> 4) === 1
      );
      assert.ok(
        afterSeek.timestampMs >= 18_000 && afterSeek.timestampMs <= 20_000,
        `after seek at ${afterSeek.timestampMs}`,
      );
      await c.send("pause", 0, null, [true, 21_000], 1);
      await c.until((m) => status(m) === "NetStream.Pause.Notify");
      await c.send("pause", 0, null, [false, 21_000], 1);
      await c.until((m) => status(m) === "NetStream.Unpause.Notify");
      await c.until((m) => status(m) === "NetStream.Play.Stop", 20_000);
      const done = await c.until((m) => m.typeId === 18, 5000);
      const values = decodeDataMessage(done.payload, 18);
      assert.equal(values[0], "onPlayStatus");
      assert.equal(
        (values[1] as { code: string }).code,
        "NetStream.Play.Complete",
      );
      c.conn.close();
    } finally {
      await origin.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
