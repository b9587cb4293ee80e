/**
 * Pulled RTSP sources: ffmpeg publishes to a second in-process origin's RTSP port (the
 * "camera"); the first origin pulls it into `cams/door` (TCP), serves it over HTTP-FLV, shows
 * the camera down in /api/streams and /metrics when ffmpeg dies, and pulls again when it is
 * back; the admin API adds (UDP), lists and removes sources behind the admin token.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../../config/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { silentLogger } from "../../origin/log.ts";
import { startOrigin } from "../../origin/mod.ts";
import {
  hasBinary,
  probeStreams,
  startPeer,
  waitFor,
} from "../_helpers/peers.ts";

const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe");
const ADMIN = "admin-token-for-sources-1";

function publish(url: string, seconds: number) {
  return startPeer("ffmpeg", [
    "-v",
    "error",
    "-nostdin",
    "-re",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=320x240:rate=25",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=1000:sample_rate=44100",
    "-t",
    String(seconds),
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-tune",
    "zerolatency",
    "-g",
    "25",
    "-c:a",
    "aac",
    "-b:a",
    "64k",
    "-f",
    "rtsp",
    "-rtsp_transport",
    "tcp",
    url,
  ]);
}

Deno.test({
  name:
    "origin/rtsp sources: a camera is pulled into a live stream, shown down when it dies, pulled again when it is back; /admin/sources adds and removes",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const camera = await startOrigin(
      parseConfig({
        origin: {
          rtmpPort: 0,
          httpPort: 0,
          virtualLive: [],
          srt: { enabled: false },
          rtsp: { port: 0, rtpPort: 0, rtcpPort: 0 },
        },
      }).origin,
      { log: silentLogger, metrics: new MetricsRegistry() },
    );
    const cam = `rtsp://127.0.0.1:${camera.rtspPort}/live/cam`;
    const metrics = new MetricsRegistry();
    const origin = await startOrigin(
      parseConfig({
        origin: {
          rtmpPort: 0,
          httpPort: 0,
          virtualLive: [],
          adminToken: ADMIN,
          srt: { enabled: false },
          rtsp: {
            port: 0,
            rtpPort: 0,
            rtcpPort: 0,
            retryMinMs: 200,
            retryMaxMs: 1000,
            sources: [{ name: "cams/door", url: cam }],
          },
        },
      }).origin,
      { log: silentLogger, metrics },
    );
    const http = `http://127.0.0.1:${origin.httpPort}`;
    const sourceOf = async (name: string) => {
      const body = await (await fetch(`${http}/api/streams`)).json();
      return (body.sources as {
        name: string;
        state: string;
        lastError?: string;
      }[])
        .find((s) => s.name === name);
    };
    let pub = publish(cam, 30);
    try {
      // The camera is not up at first: the source retries, and says why.
      const hub = await waitFor("the pulled stream", () => {
        const h = origin.registry.get("cams", "door");
        return h?.codecs.video && h.codecs.audio ? h : undefined;
      }, 20_000);
      assert.equal(hub.publisher.protocol, "rtsp");
      assert.equal((await sourceOf("cams/door"))?.state, "live");
      assert.deepEqual(
        (await probeStreams(`${http}/cams/door.flv`)).map((s) => s.codec_name)
          .sort(),
        ["aac", "h264"],
      );
      assert.match(
        metrics.render(),
        /meridian_origin_rtsp_source_up\{source="cams\/door"\} 1/,
      );

      // The camera dies: its stream ends, the source shows it down with the reason.
      await pub.stop();
      await waitFor(
        "the source down",
        async () => (await sourceOf("cams/door"))?.state === "retrying",
        15_000,
      );
      assert.equal(origin.registry.get("cams", "door"), undefined);
      const down = await sourceOf("cams/door");
      assert.ok(
        down?.lastError && down.lastError.length > 0,
        JSON.stringify(down),
      );
      assert.match(
        metrics.render(),
        /meridian_origin_rtsp_source_up\{source="cams\/door"\} 0/,
      );
      assert.match(
        metrics.render(),
        /meridian_origin_rtsp_source_failures_total\{source="cams\/door"\} [1-9]/,
      );

      // Back: pulled again.
      pub = publish(cam, 30);
      await waitFor(
        "the stream pulled again",
        () => origin.registry.get("cams", "door")?.codecs.video !== undefined,
        20_000,
      );

      // The admin API: a second source over UDP, listed, then removed (its stream ends).
      const auth = { Authorization: `Bearer ${ADMIN}` };
      const noAuth = await fetch(`${http}/admin/sources`);
      await noAuth.body?.cancel();
      assert.equal(noAuth.status, 401);
      const bad = await fetch(`${http}/admin/sources`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ name: "cams/x", url: "http://nope" }),
      });
      assert.equal(bad.status, 400);
      assert.equal((await bad.json()).field, "url");
      const added = await fetch(`${http}/admin/sources`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ name: "cams/udp", url: cam, transport: "udp" }),
      });
      assert.equal(added.status, 201);
      await added.body?.cancel();
      const dup = await fetch(`${http}/admin/sources`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ name: "cams/udp", url: cam }),
      });
      assert.equal(dup.status, 409);
      await dup.body?.cancel();
      await waitFor(
        "the UDP pull",
        () => origin.registry.get("cams", "udp")?.codecs.video !== undefined,
        20_000,
      );
      const list =
        await (await fetch(`${http}/admin/sources`, { headers: auth })).json();
      assert.deepEqual(
        list.sources.map((s: { name: string }) => s.name).sort(),
        ["cams/door", "cams/udp"],
      );
      const del = await fetch(`${http}/admin/sources/cams/udp`, {
        method: "DELETE",
        headers: auth,
      });
      assert.equal(del.status, 204);
      assert.equal(origin.registry.get("cams", "udp"), undefined);
      const gone = await fetch(`${http}/admin/sources/cams/udp`, {
        headers: auth,
      });
      assert.equal(gone.status, 404);
      await gone.body?.cancel();
    } finally {
      await pub.stop();
      await origin.close();
      await camera.close();
    }
  },
});
