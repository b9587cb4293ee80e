/**
 * The FLV regression the shared live hub fixes: a late viewer of HTTP-FLV through an edge gets
 * `onMetaData` stamped 0, as from the origin, so ffmpeg reads metadata as metadata. Stamped with
 * the first media timestamp (as the edge's own hub did), ffmpeg's FLV reader makes it a data
 * stream of its own.
 */
import assert from "node:assert/strict";
import { FlvReader, FlvTagType } from "../../codec/flv/mod.ts";
import { parseConfig } from "../../config/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { silentLogger } from "../../origin/log.ts";
import { startOrigin } from "../../origin/mod.ts";
import { hasBinary, runPeer } from "../_helpers/peers.ts";
import { edgeConfig, startTestEdge } from "../edge/_helpers/fixtures.ts";

const haveFfmpeg = await hasBinary("ffprobe");
const demo = new URL("../../media/demo.flv", import.meta.url).pathname;

Deno.test({
  name:
    "edge HTTP-FLV: a late viewer gets onMetaData at 0 and ffprobe sees exactly audio and video, as from the origin",
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
    const edge = await startTestEdge(
      edgeConfig([`http://127.0.0.1:${origin.httpPort}`]),
    );
    try {
      const url = `http://127.0.0.1:${edge.port}/live/demo.flv`;
      // A first viewer opens the upstream; the late one joins an upstream well past 0.
      const first = await fetch(url);
      await new Promise((r) => setTimeout(r, 2500));
      const res = await fetch(url);
      const reader = res.body!.getReader();
      const flv = new FlvReader();
      const tags = [];
      while (tags.length < 4) {
        const r = await reader.read();
        if (r.done) break;
        flv.push(r.value.slice());
        tags.push(...flv.pullAll());
      }
      await reader.cancel();
      const meta = tags.find((t) => t.type === FlvTagType.Script)!;
      assert.ok(meta, "onMetaData sent");
      const media = tags.find((t) => t.type !== FlvTagType.Script)!;
      assert.ok(
        media.timestampMs > 1000,
        `joined late (${media.timestampMs} ms)`,
      );
      assert.equal(meta.timestampMs, 0);
      for (
        const base of [
          `http://127.0.0.1:${origin.httpPort}`,
          `http://127.0.0.1:${edge.port}`,
        ]
      ) {
        const p = await runPeer("ffprobe", [
          "-v",
          "error",
          "-show_entries",
          "stream=codec_type",
          "-of",
          "csv=p=0",
          `${base}/live/demo.flv`,
        ], 20_000);
        assert.deepEqual(
          p.stdout.trim().split("\n").sort(),
          ["audio", "video"],
          `${base}: ${p.stdout}`,
        );
      }
      await first.body?.cancel();
    } finally {
      await edge.close();
      await origin.close();
    }
  },
});
