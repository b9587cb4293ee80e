/**
 * Bad input to the transcoder: ffmpeg missing, a source ffmpeg cannot decode. Each is a clear
 * error in `/api/streams` and a metric; the source plays on, and other streams' ladders run.
 */
import assert from "node:assert/strict";
import { FlvTagType } from "../../codec/flv/mod.ts";
import { parseMasterPlaylist } from "../../codec/hls/mod.ts";
import { hasBinary, probeStreams, waitFor } from "../_helpers/peers.ts";
import {
  publishSource,
  renditionsOf,
  startTranscodingOrigin,
} from "./_transcode.ts";

const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe");

Deno.test({
  name:
    "transcode bad input: a missing ffmpeg fails the renditions with a clear error and metric; the source plays on, its master listing only itself",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { origin, metrics, http } = await startTranscodingOrigin({
      apps: [{ name: "live", start: "always", profiles: ["144p", "90p"] }],
      ffmpegPath: "/nonexistent/ffmpeg",
    });
    const pub = publishSource(`rtmp://127.0.0.1:${origin.rtmpPort}/live/cam`);
    try {
      const failed = await waitFor("the renditions failed", async () => {
        const r = await renditionsOf(http, "cam");
        return r.length === 2 && r.every((x) => x.state === "failed") && r;
      }, 15_000);
      for (const r of failed) {
        assert.match(
          r.error ?? "",
          /Cannot start ffmpeg: '\/nonexistent\/ffmpeg' is not installed/,
        );
      }
      assert.match(
        metrics.render(),
        /meridian_origin_transcode_crashes_total\{reason="ffmpeg_missing"\} 2/,
      );
      assert.match(
        metrics.render(),
        /meridian_origin_transcode_processes\{state="failed"\} 2/,
      );
      const master = await waitFor("the master", async () => {
        const res = await fetch(`${http}/live/cam.m3u8`);
        return res.ok && await res.text();
      });
      assert.deepEqual(parseMasterPlaylist(master).variants.map((v) => v.uri), [
        "cam/cam.m3u8",
      ]);
      const streams = await probeStreams(`${http}/live/cam.m3u8`);
      assert.deepEqual(streams.map((s) => s.codec_name).sort(), [
        "aac",
        "h264",
      ]);
    } finally {
      await pub.stop();
      await origin.close();
    }
  },
});

Deno.test({
  name:
    "transcode bad input: a source ffmpeg cannot decode is given up after maxRestarts with ffmpeg's own words; another stream's ladder runs on",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { origin, metrics, http } = await startTranscodingOrigin({
      apps: [{ name: "live", start: "always", profiles: ["90p"] }],
      restartBackoffSeconds: 0.1,
      stallTimeoutSeconds: 2,
      maxRestarts: 2,
    });
    const pub = publishSource(`rtmp://127.0.0.1:${origin.rtmpPort}/live/good`);
    // An H.264 stream whose configuration and frames are noise: a keyframe every 66 ms.
    const bad = origin.registry.startPublish("live", "bad", {
      peer: "test",
      protocol: "rtmp",
    });
    bad.pushTag({
      type: FlvTagType.Video,
      timestampMs: 0,
      data: new Uint8Array([
        0x17,
        0,
        0,
        0,
        0,
        1,
        0x64,
        0,
        0x1f,
        0xff,
        0xe1,
        0,
        4,
        0x67,
        1,
        2,
        3,
      ]),
    });
    let t = 0;
    const noise = setInterval(() => {
      const frame = new Uint8Array(200).map((_, i) => (i * 73 + t) & 0xff);
      frame.set([0x17, 1, 0, 0, 0, 0, 0, 0, 190]);
      bad.pushTag({
        type: FlvTagType.Video,
        timestampMs: t += 66,
        data: frame,
      });
    }, 66);
    try {
      const [r] = await waitFor(
        "the bad source's rendition given up",
        async () => {
          const x = await renditionsOf(http, "bad");
          return x.length === 1 && x[0]!.state === "failed" && x;
        },
        20_000,
      );
      assert.match(
        r!.error ?? "",
        /Rendition live\/bad_90p given up after 3 crashes in a row: Rendition live\/bad_90p ffmpeg wrote nothing for 2 s: ./,
      );
      assert.equal(r!.restarts, 2);
      assert.match(
        metrics.render(),
        /meridian_origin_transcode_crashes_total\{reason="stalled"\} 3/,
      );
      // The bad source itself is untouched, and the good stream's rendition runs.
      assert.ok(origin.registry.get("live", "bad")?.live);
      await waitFor("the good stream's rendition", async () => {
        const x = await renditionsOf(http, "good");
        return x[0]?.state === "running";
      }, 15_000);
      const flv = await probeStreams(`${http}/live/good_90p.flv`);
      assert.deepEqual(flv.map((s) => s.codec_name).sort(), ["aac", "h264"]);
    } finally {
      clearInterval(noise);
      bad.end();
      await pub.stop();
      await origin.close();
    }
  },
});

Deno.test({
  name:
    "transcode bad input: past origin.transcode.maxProcesses a rendition waits (backoff, named limit) while the others run",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { origin, metrics, http } = await startTranscodingOrigin({
      apps: [{ name: "live", start: "always", profiles: ["144p", "90p"] }],
      maxProcesses: 1,
    });
    const pub = publishSource(`rtmp://127.0.0.1:${origin.rtmpPort}/live/cam`);
    try {
      const r = await waitFor("one running, one waiting", async () => {
        const x = await renditionsOf(http, "cam");
        return x.length === 2 && x[0]!.state === "running" &&
          x[1]!.state === "backoff" && x;
      }, 15_000);
      assert.match(
        r[1]!.error ?? "",
        /Cannot start rendition live\/cam_90p: origin\.transcode\.maxProcesses children run already/,
      );
      assert.match(
        metrics.render(),
        /meridian_origin_transcode_crashes_total\{reason="limit"\} 1/,
      );
      assert.ok(origin.registry.get("live", "cam_144p")?.live);
    } finally {
      await pub.stop();
      await origin.close();
    }
  },
});
