/**
 * On-demand ladders: nothing runs until a viewer asks; the first master playlist request (here
 * through an edge) starts the renditions and is answered once they have segments; the edge
 * caches the master as the origin wrote it; the ladder stops when nobody asks any more; asking
 * for a rendition by name starts it again.
 */
import assert from "node:assert/strict";
import { parseMasterPlaylist } from "../../codec/hls/mod.ts";
import type { EdgeHandle } from "../../edge/mod.ts";
import { edgeConfig, startTestEdge } from "../edge/_helpers/fixtures.ts";
import { hasBinary, probeStreams, waitFor } from "../_helpers/peers.ts";
import {
  publishSource,
  renditionsOf,
  segmentUrls,
  startTranscodingOrigin,
} from "./_transcode.ts";

const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe");

Deno.test({
  name:
    "transcode on demand: the first master request (through an edge) starts the ladder, the edge caches the master unchanged, the ladder stops when idle, a rendition URL starts it again",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { origin, metrics, http } = await startTranscodingOrigin({
      apps: [{ name: "live", profiles: ["144p", "90p"] }],
      idleStopSeconds: 1,
    });
    let edge: EdgeHandle | undefined;
    const pub = publishSource(`rtmp://127.0.0.1:${origin.rtmpPort}/live/cam`);
    try {
      edge = await startTestEdge(
        edgeConfig([http], { upstream: { timeoutMs: 10_000 } }),
      );
      const atEdge = `http://127.0.0.1:${edge.port}`;
      // Planned once the source's first keyframe is in, but not started: no viewer yet.
      const idle = await waitFor("the ladder planned", async () => {
        const r = await renditionsOf(http, "cam");
        return r.length === 2 && r;
      });
      assert.deepEqual(idle.map((r) => r.state), ["stopped", "stopped"]);
      assert.equal(origin.registry.get("live", "cam_144p"), undefined);
      assert.match(metrics.render(), /meridian_origin_transcode_children 0/);

      // The first request waits for the renditions' first segments.
      const t0 = Date.now();
      const miss = await fetch(`${atEdge}/live/cam.m3u8`);
      const missText = await miss.text();
      assert.equal(miss.status, 200);
      assert.match(miss.headers.get("cache-status") ?? "", /fwd=miss.*stored/);
      const m = parseMasterPlaylist(missText);
      assert.deepEqual(m.variants.map((v) => v.uri), [
        "cam/cam.m3u8",
        "cam/cam_144p.m3u8",
        "cam/cam_90p.m3u8",
      ]);
      assert.ok(Date.now() - t0 < 8_500);
      // The held answer is older than its max-age when it arrives (RFC 9111 §4.2.3 counts the
      // wait), so the edge refetches once, now at once, and serves that copy from its cache:
      // the same bytes the origin sent.
      const stored = await fetch(`${atEdge}/live/cam.m3u8`);
      const storedText = await stored.text();
      assert.match(
        stored.headers.get("cache-status") ?? "",
        /fwd=(miss|stale).*stored/,
      );
      assert.deepEqual(
        parseMasterPlaylist(storedText).variants.map((v) => v.uri),
        m.variants.map((v) => v.uri),
      );
      const hit = await fetch(`${atEdge}/live/cam.m3u8`);
      assert.match(hit.headers.get("cache-status") ?? "", /hit/);
      assert.equal(await hit.text(), storedText);
      // Every URI resolves through the edge, the variants' segments too.
      for (const v of m.variants) {
        const url = new URL(v.uri, `${atEdge}/live/cam.m3u8`).href;
        const res = await fetch(url);
        const text = await res.text();
        assert.equal(res.status, 200, url);
        const seg = await fetch(segmentUrls(url, text)[0]!);
        assert.equal(seg.status, 200);
        assert.equal(seg.headers.get("content-type"), "video/mp2t");
        await seg.body?.cancel();
      }
      assert.deepEqual((await renditionsOf(http, "cam")).map((r) => r.state), [
        "running",
        "running",
      ]);

      // Nobody asks for a second and more: stopped, children gone, rendition streams ended.
      await waitFor("the idle ladder stopped", async () => {
        const r = await renditionsOf(http, "cam");
        return r.every((x) => x.state === "stopped") &&
          !origin.registry.get("live", "cam_144p");
      }, 10_000);
      await waitFor(
        "no children",
        () => /meridian_origin_transcode_children 0/.test(metrics.render()),
      );
      // The source played on meanwhile.
      assert.ok(origin.registry.get("live", "cam")?.live);

      // A rendition asked for by name starts its ladder (first viewer of a rendition).
      const flv = await probeStreams(`${http}/live/cam_90p.flv`);
      assert.deepEqual(flv.map((s) => s.codec_name).sort(), ["aac", "h264"]);
    } finally {
      await edge?.close();
      await pub.stop();
      await origin.close();
    }
  },
});
