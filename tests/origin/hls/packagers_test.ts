import assert from "node:assert/strict";
import { HlsPackagers } from "../../../origin/hls/mod.ts";
import type { HlsSegment } from "../../../origin/hls/mod.ts";
import { StreamRegistry } from "../../../origin/stream/registry.ts";
import type { Hub } from "../../../origin/stream/hub.ts";
import { MetricsRegistry } from "../../../metrics/mod.ts";
import { silentLogger } from "../../../origin/log.ts";

const enc = { tag: (t: { data: Uint8Array }) => t.data };

/** AAC LC 44.1 kHz: a sequence header, then `frames` frames (about 23.2 ms each). */
function publishAac(hub: Hub, frames: number, fromMs = 0): void {
  hub.pushTag({
    type: 8,
    timestampMs: fromMs,
    data: new Uint8Array([0xaf, 0, 0x12, 0x10]),
  });
  for (let i = 0; i < frames; i++) {
    hub.pushTag({
      type: 8,
      timestampMs: fromMs + Math.round((i * 1024000) / 44100),
      data: new Uint8Array([0xaf, 1, 0x21, 0x10, i & 0xff]),
    });
  }
}

Deno.test("HlsPackagers tell the observer every finished segment with its publish and media start, then the publish's end", async () => {
  const registry = new StreamRegistry({
    gopCache: true,
    maxGopCacheBytes: 1 << 20,
    flushIntervalMs: 0,
    encoders: { flv: enc, rtmp: enc },
    log: silentLogger,
  });
  const told: (string | [Hub, HlsSegment])[] = [];
  const hls = new HlsPackagers({
    targetDurationMs: 1000,
    keyframeTolerance: 0.1,
    windowSegments: 3,
    endGraceMs: 10_000,
    endedRetentionMs: 60_000,
    maxHeldRequests: 10,
  }, {
    registry,
    metrics: new MetricsRegistry(),
    log: silentLogger,
    observer: {
      onSegment: (hub, segment) => told.push([hub, segment]),
      onPublishEnd: (hub) => told.push(`end ${hub.startedAtMs}`),
    },
  });
  const first = registry.startPublish("live", "a", {
    peer: "t",
    protocol: "rtmp",
  });
  publishAac(first, 130); // about 3 s: two segments closed live, the third at the end
  first.end();
  const second = registry.startPublish("live", "a", {
    peer: "t",
    protocol: "rtmp",
  });
  publishAac(second, 50, 10_000);
  second.end();
  const segments = told.filter((t) => typeof t !== "string") as [
    Hub,
    HlsSegment,
  ][];
  assert.ok(segments.length >= 4, `got ${segments.length}`);
  const ofFirst = segments.filter(([h]) => h === first).map(([, s]) => s);
  const ofSecond = segments.filter(([h]) => h === second).map(([, s]) => s);
  assert.equal(ofFirst.length + ofSecond.length, segments.length);
  assert.equal(ofFirst[0]!.mediaStartMs, 0);
  assert.ok(
    ofFirst[1]!.mediaStartMs! >= 900 && ofFirst[1]!.mediaStartMs! <= 1100,
  );
  assert.equal(ofSecond[0]!.mediaStartMs, 10_000);
  assert.equal(ofSecond[0]!.discontinuity, true, "the republish");
  // Each publish's end comes after its last segment.
  const ends = told.map((t, i) => typeof t === "string" ? i : -1).filter((i) =>
    i >= 0
  );
  assert.equal(ends.length, 2);
  const lastOfFirst = told.findIndex((t) =>
    Array.isArray(t) && t[1] === ofFirst[ofFirst.length - 1]
  );
  assert.ok(
    lastOfFirst < ends[0]! &&
      ends[0]! < told.findIndex((t) => Array.isArray(t) && t[0] === second),
  );
  assert.equal(ends[1], told.length - 1);
  await hls.close();
});
