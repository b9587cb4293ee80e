import assert from "node:assert/strict";
import { Thumbnailer, VodError } from "../../../origin/vod/mod.ts";
import { hasBinary } from "../../_helpers/peers.ts";

const demo = new URL("../../../media/demo.flv", import.meta.url).pathname;
const haveFfmpeg = await hasBinary("ffmpeg");

Deno.test({
  name:
    "Thumbnailer.frameAt() makes a JPEG of a file's frame; frameOfFlv() one of an FLV in memory",
  ignore: !haveFfmpeg,
  async fn() {
    const t = new Thumbnailer("ffmpeg");
    const jpeg = await t.frameAt(demo, 2);
    assert.deepEqual([...jpeg.subarray(0, 2)], [0xff, 0xd8]);
    // The same file through stdin (an FLV held in memory).
    const fromStdin = await t.frameOfFlv(await Deno.readFile(demo), 96);
    assert.deepEqual([...fromStdin.subarray(0, 2)], [0xff, 0xd8]);
    assert.ok(fromStdin.byteLength < jpeg.byteLength);
    await assert.rejects(
      () => t.frameOfFlv(new Uint8Array([1, 2, 3]), 96),
      (e: unknown) =>
        e instanceof VodError && e.code === "VOD_BAD_MEDIA" &&
        /Cannot make a thumbnail of the keyframe: /.test(e.message),
    );
    await assert.rejects(
      () => new Thumbnailer("/nonexistent/ffmpeg").frameAt(demo, 1),
      (e: unknown) => e instanceof VodError && e.code === "VOD_NOT_IMPLEMENTED",
    );
  },
});
