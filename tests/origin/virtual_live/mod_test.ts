import assert from "node:assert/strict";
import { encodeFlvHeader } from "../../../codec/flv/header.ts";
import { encodeFlvTag } from "../../../codec/flv/tag.ts";
import type { FlvTag } from "../../../codec/flv/types.ts";
import { silentLogger } from "../../../origin/log.ts";
import { StreamRegistry } from "../../../origin/stream/registry.ts";
import {
  prepareClip,
  startVirtualLive,
} from "../../../origin/virtual_live/mod.ts";

const demo = new URL("../../../media/demo.flv", import.meta.url);

Deno.test("prepareClip() splits the demo clip into config tags and rebased media", async () => {
  const clip = prepareClip(await Deno.readFile(demo), "demo.flv");
  assert.deepEqual(
    clip.config.map((t) => t.type),
    [18, 9, 8],
    "metadata, AVC and AAC sequence headers",
  );
  assert.equal(clip.media[0]!.timestampMs, 0);
  // 10 s clip at 25 fps: the loop covers every frame and never goes backwards.
  assert.ok(
    clip.loopDurationMs >= 10_000 && clip.loopDurationMs <= 10_100,
    `loop ${clip.loopDurationMs}`,
  );
  const last = Math.max(...clip.media.map((t) => t.timestampMs));
  assert.ok(clip.loopDurationMs > last);
});

Deno.test("prepareClip() refuses a file without media", () => {
  const file = new Uint8Array([
    ...encodeFlvHeader({ hasAudio: false, hasVideo: true }),
    ...encodeFlvTag({
      type: 18,
      timestampMs: 0,
      data: new Uint8Array([2, 0, 0]),
    }),
  ]);
  assert.throws(
    () => prepareClip(file, "empty.flv"),
    /holds no audio or video tags/,
  );
});

Deno.test("startVirtualLive() loops the clip with continuous timestamps", async () => {
  // A 3-frame clip, 40 ms apart, and a fake clock that jumps forward.
  const frame = (ts: number, k: boolean): FlvTag => ({
    type: 9,
    timestampMs: ts,
    data: new Uint8Array([k ? 0x17 : 0x27, 1, 0, 0, 0]),
  });
  const bytes = new Uint8Array([
    ...encodeFlvHeader({ hasAudio: false, hasVideo: true }),
    ...encodeFlvTag({
      type: 9,
      timestampMs: 0,
      data: new Uint8Array([0x17, 0, 0, 0, 0]),
    }),
    ...encodeFlvTag(frame(1000, true)),
    ...encodeFlvTag(frame(1040, false)),
    ...encodeFlvTag(frame(1080, false)),
  ]);
  const dir = await Deno.makeTempDir();
  const file = `${dir}/clip.flv`;
  await Deno.writeFile(file, bytes);
  let clock = 0;
  const registry = new StreamRegistry({
    gopCache: true,
    maxGopCacheBytes: 1 << 20,
    flushIntervalMs: 0,
    encoders: { flv: { tag: (t) => t.data }, rtmp: { tag: (t) => t.data } },
    log: silentLogger,
  });
  const seen: number[] = [];
  registry.onPublish((h) =>
    h.addListener({ onTag: (t) => seen.push(t.timestampMs), onEnd() {} })
  );
  const ch = await startVirtualLive({ app: "live", stream: "v", file }, {
    registry,
    log: silentLogger,
    now: () => clock,
  });
  try {
    clock = 250; // two loops of 120 ms and a bit
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(seen.slice(0, 8), [0, 0, 40, 80, 120, 160, 200, 240]);
    assert.equal(registry.get("live", "v")?.publisher.protocol, "virtual");
  } finally {
    ch.stop();
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(registry.get("live", "v"), undefined);
});

Deno.test("startVirtualLive() skips a missing file without throwing", async () => {
  const registry = new StreamRegistry({
    gopCache: true,
    maxGopCacheBytes: 1,
    flushIntervalMs: 0,
    encoders: { flv: { tag: (t) => t.data }, rtmp: { tag: (t) => t.data } },
    log: silentLogger,
  });
  const ch = await startVirtualLive({
    app: "live",
    stream: "x",
    file: "/nonexistent/x.flv",
  }, { registry, log: silentLogger });
  assert.equal(registry.size, 0);
  ch.stop();
});
