/**
 * Live snapshots: `/{app}/{stream}.jpg` is a JPEG of the latest keyframe, decoded once per
 * period however many ask (origin or edge), with a short max-age the edge honours.
 */
import assert from "node:assert/strict";
import type { EdgeHandle } from "../../edge/mod.ts";
import { edgeConfig, startTestEdge } from "../edge/_helpers/fixtures.ts";
import { hasBinary, runPeer, waitFor } from "../_helpers/peers.ts";
import { publishSource, startTranscodingOrigin } from "./_transcode.ts";

const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe");

async function jpegSize(bytes: Uint8Array): Promise<string> {
  const file = await Deno.makeTempFile({ suffix: ".jpg" });
  try {
    await Deno.writeFile(file, bytes);
    const out = await runPeer("ffprobe", [
      "-v",
      "error",
      "-show_entries",
      "stream=codec_name,width,height",
      "-of",
      "csv=p=0",
      file,
    ]);
    return out.stdout.trim();
  } finally {
    await Deno.remove(file);
  }
}

Deno.test({
  name:
    "transcode snapshots: /{app}/{stream}.jpg is the latest keyframe as a JPEG, one decode per period, cached briefly by the edge; an unknown stream is 404",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { origin, metrics, http } = await startTranscodingOrigin({
      apps: [],
      snapshotSeconds: 2,
      snapshotWidth: 160,
    });
    let edge: EdgeHandle | undefined;
    const pub = publishSource(`rtmp://127.0.0.1:${origin.rtmpPort}/live/cam`);
    try {
      edge = await startTestEdge(edgeConfig([http]));
      const first = await waitFor("a snapshot", async () => {
        const res = await fetch(`${http}/live/cam.jpg`);
        if (res.status !== 200) {
          await res.body?.cancel();
          return undefined;
        }
        return { res, bytes: new Uint8Array(await res.arrayBuffer()) };
      });
      assert.equal(first.res.headers.get("content-type"), "image/jpeg");
      assert.equal(first.res.headers.get("cache-control"), "public, max-age=2");
      assert.deepEqual([...first.bytes.subarray(0, 2)], [0xff, 0xd8]); // JPEG SOI
      assert.equal(await jpegSize(first.bytes), "mjpeg,160,90");
      // Asked again within the period: the same JPEG, no decode.
      const again = new Uint8Array(
        await (await fetch(`${http}/live/cam.jpg`)).arrayBuffer(),
      );
      assert.deepEqual(again, first.bytes);
      const text = metrics.render();
      assert.match(text, /meridian_origin_snapshots_total\{outcome="made"\} 1/);
      assert.match(
        text,
        /meridian_origin_snapshots_total\{outcome="cached"\} 1/,
      );

      // Through the edge: stored, then a hit.
      const atEdge = `http://127.0.0.1:${edge.port}/live/cam.jpg`;
      const miss = await fetch(atEdge);
      await miss.arrayBuffer();
      assert.match(miss.headers.get("cache-status") ?? "", /stored/);
      const hit = await fetch(atEdge);
      await hit.arrayBuffer();
      assert.match(hit.headers.get("cache-status") ?? "", /hit/);

      // After the period and a newer keyframe: a new picture (the test pattern moves).
      const later = await waitFor(
        "a newer snapshot",
        async () => {
          const b = new Uint8Array(
            await (await fetch(`${http}/live/cam.jpg`)).arrayBuffer(),
          );
          return b.byteLength > 0 && b.some((x, i) => x !== first.bytes[i]) &&
            b;
        },
        10_000,
        500,
      );
      assert.equal(await jpegSize(later), "mjpeg,160,90");

      const none = await fetch(`${http}/live/nope.jpg`);
      assert.equal(none.status, 404);
      assert.match(await none.text(), /Stream not found: live\/nope/);
    } finally {
      await edge?.close();
      await pub.stop();
      await origin.close();
    }
  },
});
