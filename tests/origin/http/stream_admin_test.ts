/**
 * Live streams as operators see them, with a real ffmpeg publisher: the stream directory
 * names the publisher's address and encoder, the picture (size, frame rate) and the viewers by
 * protocol; `DELETE /admin/streams/{app}/{stream}` closes the publisher's connection (ffmpeg
 * exits) and ends the stream; refusals without a token, for a stream not live, and for a
 * virtual-live channel no connection publishes.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../../../config/mod.ts";
import { MetricsRegistry } from "../../../metrics/mod.ts";
import { silentLogger } from "../../../origin/log.ts";
import { startOrigin } from "../../../origin/mod.ts";
import { describeLiveMetadata } from "../../../origin/stream/media_info.ts";
import { encodeAmf0 } from "../../../codec/amf0/mod.ts";
import { KvStore } from "../../../store/mod.ts";
import {
  hasBinary,
  publishArgs,
  startPeer,
  waitFor,
} from "../../_helpers/peers.ts";

const haveFfmpeg = await hasBinary("ffmpeg");
const TOKEN = "origin-admin-token-0123456789";
const demo = new URL("../../../media/demo.flv", import.meta.url).pathname;

Deno.test("describeLiveMetadata() reads size, rate, encoder and bit rates; ignores junk", () => {
  assert.deepEqual(
    describeLiveMetadata(
      encodeAmf0("@setDataFrame", "onMetaData", {
        width: 1920,
        height: 1080,
        framerate: 29.97,
        encoder: "obs-output module (libobs version 30.1)",
        videodatarate: 6000,
        audiodatarate: 160,
        duration: 0,
      }),
    ),
    {
      width: 1920,
      height: 1080,
      fps: 29.97,
      encoder: "obs-output module (libobs version 30.1)",
      videoKbps: 6000,
      audioKbps: 160,
    },
  );
  assert.deepEqual(describeLiveMetadata(new Uint8Array([2, 0, 9, 1])), {});
  assert.deepEqual(describeLiveMetadata(encodeAmf0("onCuePoint", {})), {});
  assert.equal(
    describeLiveMetadata(encodeAmf0("onMetaData", { encoder: "x".repeat(500) }))
      .encoder?.length,
    64,
  );
});

Deno.test({
  name:
    "stream admin: the directory names publisher, encoder, picture and viewers; a kick closes the publisher's connection",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "meridian_kick_" });
    const store = await KvStore.open(`${dir}/m.kv`);
    const config = parseConfig({
      origin: {
        rtmpPort: 0,
        httpPort: 0,
        adminToken: TOKEN,
        virtualLive: [{ app: "live", stream: "loop", file: demo }],
      },
    });
    const origin = await startOrigin(config.origin, {
      log: silentLogger,
      metrics: new MetricsRegistry(),
      store,
    });
    const base = `http://127.0.0.1:${origin.httpPort}`;
    const ffmpeg = startPeer(
      "ffmpeg",
      publishArgs(`rtmp://127.0.0.1:${origin.rtmpPort}/live/cam`, 60),
      90_000,
    );
    const viewer = new AbortController();
    try {
      await waitFor("publish", () => origin.registry.get("live", "cam"));
      // An HTTP-FLV viewer, counted by protocol.
      const flv = await fetch(`${base}/live/cam.flv`, {
        signal: viewer.signal,
      });
      assert.equal(flv.status, 200);
      const listed = await waitFor("listing", async () => {
        const all = await store.streams.list(Date.now());
        const s = all[0]?.streams.find((x) => x.name === "cam");
        return s && s.viewersByProtocol?.flv === 1 && s.video?.width
          ? s
          : undefined;
      });
      assert.match(listed.publisher?.address ?? "", /^127\.0\.0\.1:\d+$/);
      assert.match(listed.publisher?.software ?? "", /^Lavf/);
      assert.deepEqual(listed.video, { width: 320, height: 240, fps: 25 });
      assert.deepEqual(listed.codecs, { video: "avc", audio: "aac" });

      const kick = (path: string, headers: Record<string, string>) =>
        fetch(`${base}/admin/streams/${path}`, { method: "DELETE", headers });
      const auth = { Authorization: `Bearer ${TOKEN}` };
      let res = await kick("live/cam", {});
      assert.equal(res.status, 401);
      await res.body?.cancel();
      res = await kick("live/none", auth);
      assert.equal(res.status, 404);
      await res.body?.cancel();
      res = await kick("live/loop", auth);
      assert.equal(res.status, 409);
      assert.match((await res.json()).error, /virtual/);

      res = await kick("live/cam", auth);
      assert.equal(res.status, 204);
      // The publisher's connection is closed: ffmpeg gives up on its own.
      const status = await Promise.race([
        ffmpeg.child.status,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000)),
      ]);
      assert.ok(status !== undefined, "ffmpeg still publishing after a kick");
      assert.notEqual(status.code, 0);
      assert.equal(origin.registry.get("live", "cam"), undefined);
      // The viewer's response ends with the stream.
      await flv.body?.cancel().catch(() => {});
      // The channel plays on.
      assert.ok(origin.registry.get("live", "loop"));
    } finally {
      viewer.abort();
      await ffmpeg.stop();
      await origin.close();
      await store.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
