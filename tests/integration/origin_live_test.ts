/**
 * End to end: ffmpeg publishes to the origin's RTMP port; ffprobe reads the stream back as
 * HTTP-FLV, HLS and RTMP; a republish yields a discontinuity; the demo channel plays.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../../config/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { silentLogger } from "../../origin/log.ts";
import { startOrigin } from "../../origin/mod.ts";
import {
  hasBinary,
  probeStreams,
  publishArgs,
  runPeer,
  startPeer,
  waitFor,
} from "../_helpers/peers.ts";

const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe");
const demo = new URL("../../media/demo.flv", import.meta.url).pathname;

function codecs(streams: { codec_name: string }[]): string[] {
  return streams.map((s) => s.codec_name).sort();
}

async function fetchText(url: string): Promise<string | undefined> {
  const res = await fetch(url);
  const text = await res.text();
  return res.ok ? text : undefined;
}

Deno.test({
  name:
    "origin: ffmpeg publish → ffprobe reads HTTP-FLV, HLS and RTMP; republish adds a discontinuity",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const config = parseConfig({
      origin: { rtmpPort: 0, httpPort: 0, virtualLive: [] },
    });
    const origin = await startOrigin(config.origin, {
      log: silentLogger,
      metrics: new MetricsRegistry(),
    });
    const http = `http://127.0.0.1:${origin.httpPort}`;
    const rtmp = `rtmp://127.0.0.1:${origin.rtmpPort}/live/t`;
    let pub = startPeer("ffmpeg", publishArgs(rtmp, 30));
    try {
      const playlist = await waitFor("first HLS segments", async () => {
        const text = await fetchText(`${http}/live/t.m3u8`);
        return text && (text.match(/#EXTINF/g) ?? []).length >= 2
          ? text
          : undefined;
      }, 20_000);
      // Segments are whole GOPs: 50 frames at 25 fps = 2 s.
      const durations = [...playlist.matchAll(/#EXTINF:([\d.]+)/g)].map((m) =>
        Number(m[1])
      );
      for (const d of durations) {
        assert.ok(
          Math.abs(d - 2) < 0.1,
          `segment duration ${d} in\n${playlist}`,
        );
      }
      assert.match(playlist, /#EXT-X-PROGRAM-DATE-TIME:/);
      assert.deepEqual(codecs(await probeStreams(`${http}/live/t.m3u8`)), [
        "aac",
        "h264",
      ]);
      assert.deepEqual(codecs(await probeStreams(`${http}/live/t.flv`)), [
        "aac",
        "h264",
      ]);
      assert.deepEqual(codecs(await probeStreams(rtmp)), ["aac", "h264"]);

      // A full second of HTTP-FLV decodes cleanly from the GOP-cache start.
      const play = await runPeer("ffmpeg", [
        "-v",
        "error",
        "-i",
        `${http}/live/t.flv`,
        "-t",
        "1",
        "-f",
        "null",
        "-",
      ], 20_000);
      assert.equal(play.code, 0, play.stderr);

      // Republish: the playlist goes on with a discontinuity and a monotonic media sequence.
      const seqBefore = Number(
        playlist.match(/#EXT-X-MEDIA-SEQUENCE:(\d+)/)![1],
      );
      await pub.stop();
      await waitFor(
        "stream to end",
        () => (origin.registry.get("live", "t") ? undefined : true),
        10_000,
      );
      pub = startPeer("ffmpeg", publishArgs(rtmp, 30));
      const after = await waitFor("discontinuity after republish", async () => {
        const text = await fetchText(`${http}/live/t.m3u8`);
        return text && /#EXT-X-DISCONTINUITY\n/.test(text) &&
            text.split("#EXT-X-DISCONTINUITY\n")[1]!.includes("#EXTINF")
          ? text
          : undefined;
      }, 20_000);
      assert.ok(
        Number(after.match(/#EXT-X-MEDIA-SEQUENCE:(\d+)/)![1]) >= seqBefore,
      );
      assert.deepEqual(codecs(await probeStreams(`${http}/live/t.m3u8`)), [
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
  name: "origin: the virtual-live demo channel plays over HLS and HTTP-FLV",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const config = parseConfig({
      origin: {
        rtmpPort: 0,
        httpPort: 0,
        virtualLive: [{ app: "live", stream: "demo", file: demo }],
      },
    });
    const origin = await startOrigin(config.origin, {
      log: silentLogger,
      metrics: new MetricsRegistry(),
    });
    const http = `http://127.0.0.1:${origin.httpPort}`;
    try {
      assert.deepEqual(codecs(await probeStreams(`${http}/live/demo.flv`)), [
        "aac",
        "h264",
      ]);
      await waitFor(
        "demo playlist",
        () => fetchText(`${http}/live/demo.m3u8`),
        10_000,
      );
      assert.deepEqual(codecs(await probeStreams(`${http}/live/demo.m3u8`)), [
        "aac",
        "h264",
      ]);
      const list = await (await fetch(`${http}/api/streams`)).json();
      assert.equal(list.streams[0].publisher.protocol, "virtual");
    } finally {
      await origin.close();
    }
  },
});
