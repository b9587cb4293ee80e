import assert from "node:assert/strict";
import { FlvTagType } from "../../../codec/flv/mod.ts";
import { MetricsRegistry } from "../../../metrics/mod.ts";
import { silentLogger } from "../../../origin/log.ts";
import { StreamRegistry } from "../../../origin/stream/registry.ts";
import { LiveSnapshots } from "../../../origin/transcode/mod.ts";
import { Thumbnailer } from "../../../origin/vod/mod.ts";

const enc = { tag: (t: { data: Uint8Array }) => t.data };

function setUp() {
  const registry = new StreamRegistry({
    gopCache: true,
    maxGopCacheBytes: 1 << 20,
    flushIntervalMs: 0,
    encoders: { flv: enc, rtmp: enc },
    log: silentLogger,
  });
  const metrics = new MetricsRegistry();
  const snapshots = new LiveSnapshots({ intervalSeconds: 5, width: 160 }, {
    registry,
    // No ffmpeg: a decode fails, and says so.
    thumbnailer: new Thumbnailer("/nonexistent/ffmpeg"),
    metrics,
    log: silentLogger,
    protectedApp: (app) => app === "paid",
  });
  return { registry, metrics, snapshots };
}

Deno.test("LiveSnapshots.jpeg() refuses protected apps, unknown streams, streams without a keyframe and other codecs", async () => {
  const { registry, snapshots } = setUp();
  assert.deepEqual(await snapshots.jpeg("paid", "cam"), {
    status: 403,
    message: "Snapshots of token-protected app 'paid' are not served",
  });
  assert.deepEqual(await snapshots.jpeg("live", "none"), {
    status: 404,
    message: "Stream not found: live/none",
  });
  const hub = registry.startPublish("live", "cam", {
    peer: "t",
    protocol: "rtmp",
  });
  assert.equal(
    (await snapshots.jpeg("live", "cam") as { status: number }).status,
    404,
  );
  const hevc = registry.startPublish("live", "h", {
    peer: "t",
    protocol: "rtmp",
  });
  hevc.pushTag({
    type: FlvTagType.Video,
    timestampMs: 0,
    data: new Uint8Array([0x1c, 1, 0, 0, 0, 1]),
  });
  assert.deepEqual(await snapshots.jpeg("live", "h"), {
    status: 415,
    message: "No snapshots of hevc video (H.264 only)",
  });
  hub.end();
  hevc.end();
  assert.equal(
    (await snapshots.jpeg("live", "cam") as { status: number }).status,
    404,
  );
  snapshots.close();
});

Deno.test("LiveSnapshots.jpeg() answers 502 with the decoder's error when ffmpeg cannot run, and counts it", async () => {
  const { registry, metrics, snapshots } = setUp();
  const hub = registry.startPublish("live", "cam", {
    peer: "t",
    protocol: "rtmp",
  });
  hub.pushTag({
    type: FlvTagType.Video,
    timestampMs: 0,
    data: new Uint8Array([0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f]),
  });
  hub.pushTag({
    type: FlvTagType.Video,
    timestampMs: 40,
    data: new Uint8Array([0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65]),
  });
  const got = await snapshots.jpeg("live", "cam") as {
    status: number;
    message: string;
  };
  assert.equal(got.status, 502);
  assert.match(
    got.message,
    /ffmpeg \('\/nonexistent\/ffmpeg'\) is not installed/,
  );
  assert.match(
    metrics.render(),
    /meridian_origin_snapshots_total\{outcome="failed"\} 1/,
  );
  hub.end();
  snapshots.close();
});
