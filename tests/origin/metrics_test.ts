/**
 * The origin's stream series and access log, with a real publisher (ffmpeg over RTMP) and real
 * viewers (HTTP-FLV and HLS over fetch, RTMP play by ffprobe).
 */
import assert from "node:assert/strict";
import { parseConfig } from "../../config/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { silentLogger } from "../../origin/log.ts";
import { startOrigin } from "../../origin/mod.ts";
import { parseJsonLines } from "../_helpers/access_lines.ts";
import {
  hasBinary,
  probeStreams,
  publishArgs,
  startPeer,
  waitFor,
} from "../_helpers/peers.ts";
import {
  hasPromtool,
  parsePromText,
  promtoolCheckMetrics,
  sumOf,
} from "../_helpers/prom_text.ts";

const HAVE_FFMPEG = await hasBinary("ffmpeg") && await hasBinary("ffprobe");

Deno.test({
  name:
    "origin: publishes, connects, viewers by protocol and app, bytes by protocol, HLS segments and the access log of HTTP and RTMP",
  ignore: !HAVE_FFMPEG,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "meridian-origin-metrics-" });
    const logPath = `${dir}/origin.log`;
    const config = parseConfig({
      origin: {
        rtmpPort: 0,
        httpPort: 0,
        virtualLive: [],
        hls: { targetDurationSeconds: 1 },
        accessLog: { enabled: true, format: "json", destination: logPath },
      },
    });
    const metrics = new MetricsRegistry();
    const origin = await startOrigin(config.origin, {
      log: silentLogger,
      metrics,
    });
    const http = `http://127.0.0.1:${origin.httpPort}`;
    const rtmp = `rtmp://127.0.0.1:${origin.rtmpPort}/live/m`;
    const scrape = () => parsePromText(metrics.render());
    let pub = startPeer(
      "ffmpeg",
      publishArgs(`${rtmp}?key=PUBSECRET`, 30, { gop: 25 }),
    );
    let flv: ReadableStreamDefaultReader<Uint8Array> | undefined;
    try {
      await waitFor(
        "a segment",
        async () => {
          const r = await fetch(`${http}/live/m.m3u8?token=PLAYSECRET`);
          const t = await r.text();
          return r.ok && t.includes("#EXTINF");
        },
        20_000,
        100,
      );
      // An HTTP-FLV viewer that stays.
      const res = await fetch(`${http}/live/m.flv`);
      flv = res.body!.getReader();
      await flv.read();
      await waitFor(
        "the FLV viewer",
        () =>
          sumOf(scrape(), "meridian_origin_viewers", {
            protocol: "flv",
            app: "live",
          }) === 1,
      );
      let s = scrape();
      assert.equal(sumOf(s, "meridian_origin_streams"), 1);
      assert.equal(
        sumOf(s, "meridian_origin_stream_viewers", { stream: "live/m" }),
        1,
      );
      assert.equal(
        sumOf(s, "meridian_origin_viewers", { protocol: "hls", app: "live" }),
        1,
      );
      assert.equal(
        sumOf(s, "meridian_origin_publishes_total", { protocol: "rtmp" }),
        1,
      );
      assert.ok(sumOf(s, "meridian_origin_rtmp_connects_total") >= 1);
      assert.ok(
        sumOf(s, "meridian_origin_ingest_bytes_total", { protocol: "rtmp" }) >
          10_000,
      );
      assert.ok(
        sumOf(s, "meridian_origin_egress_bytes_total", { protocol: "flv" }) > 0,
      );
      assert.ok(
        sumOf(s, "meridian_origin_egress_bytes_total", { protocol: "hls" }) > 0,
      );
      assert.ok(sumOf(s, "meridian_origin_gop_cache_bytes") > 0);
      const segments = sumOf(s, "meridian_origin_hls_segments_total");
      assert.ok(segments >= 1);
      assert.equal(
        sumOf(s, "meridian_origin_hls_segment_duration_seconds_count"),
        segments,
      );
      // GOPs of 25 frames at 25 fps: every segment is 1 s, in the le="1" bucket.
      assert.equal(
        sumOf(s, "meridian_origin_hls_segment_duration_seconds_bucket", {
          le: "1",
        }),
        segments,
      );
      // RTMP play by ffprobe: a viewer of protocol rtmp while it reads.
      assert.ok((await probeStreams(rtmp)).length >= 2);
      if (await hasPromtool()) {
        assert.equal(await promtoolCheckMetrics(metrics.render()), "");
      }

      // The publisher leaves and comes back: a republish; counters do not go down.
      const egressBefore = sumOf(s, "meridian_origin_egress_bytes_total", {
        protocol: "flv",
      });
      await pub.stop();
      await waitFor(
        "the stream gone",
        () => sumOf(scrape(), "meridian_origin_streams") === 0,
      );
      s = scrape();
      assert.ok(
        sumOf(s, "meridian_origin_egress_bytes_total", { protocol: "flv" }) >=
          egressBefore,
      );
      pub = startPeer("ffmpeg", publishArgs(rtmp, 30, { gop: 25 }));
      await waitFor(
        "the republish",
        () => sumOf(scrape(), "meridian_origin_republishes_total") === 1,
        20_000,
      );
      assert.equal(
        sumOf(scrape(), "meridian_origin_publishes_total", {
          protocol: "rtmp",
        }),
        2,
      );
    } finally {
      await flv?.cancel().catch(() => {});
      await pub.stop();
      await origin.close();
    }
    try {
      const lines = parseJsonLines(await Deno.readTextFile(logPath));
      const text = JSON.stringify(lines);
      assert.ok(!text.includes("PUBSECRET") && !text.includes("PLAYSECRET"));
      const http = lines.filter((l) => l.type === "http");
      assert.ok(
        http.some((l) =>
          l.path === "/live/m.m3u8?token=<redacted>" && l.status === 200
        ),
        JSON.stringify(http.slice(0, 5)),
      );
      const flvLine = http.find((l) => l.path === "/live/m.flv");
      assert.ok(flvLine && (flvLine.bytes as number) > 1000, "the FLV session");
      const rtmpLines = lines.filter((l) => l.type === "rtmp");
      const publishes = rtmpLines.filter((l) => l.kind === "publish");
      assert.equal(publishes.length, 2, JSON.stringify(rtmpLines));
      assert.equal(publishes[0]!.app, "live");
      assert.equal(publishes[0]!.stream, "m");
      assert.ok((publishes[0]!.bytesIn as number) > 10_000);
      assert.ok(rtmpLines.some((l) => l.kind === "play"), "ffprobe's play");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
