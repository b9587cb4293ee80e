import assert from "node:assert/strict";
import { parseMediaPlaylist } from "../../../codec/hls/mod.ts";
import { MetricsRegistry } from "../../../metrics/mod.ts";
import { HlsPackagers } from "../../../origin/hls/mod.ts";
import { silentLogger } from "../../../origin/log.ts";
import { StreamRegistry } from "../../../origin/stream/registry.ts";
import { synthStream } from "../../_helpers/synth_flv.ts";

const enc = { tag: (t: { data: Uint8Array }) => t.data };

function setup() {
  const registry = new StreamRegistry({
    gopCache: true,
    maxGopCacheBytes: 1 << 20,
    flushIntervalMs: 0,
    encoders: { flv: enc, rtmp: enc },
    log: silentLogger,
  });
  const hls = new HlsPackagers({
    targetDurationMs: 2000,
    keyframeTolerance: 0.1,
    windowSegments: 6,
    endGraceMs: 10_000,
    endedRetentionMs: 60_000,
    maxHeldRequests: 10,
  }, { registry, metrics: new MetricsRegistry(), log: silentLogger });
  return { registry, hls };
}

Deno.test("HlsPackagers: a hub's source break (a relay's new upstream) is an EXT-X-DISCONTINUITY at the join, the playlist live and numbering going on", async () => {
  const { registry, hls } = setup();
  try {
    const hub = registry.startPublish("live", "r", {
      peer: "up-a",
      protocol: "relay",
    });
    for (const t of synthStream(6000)) hub.pushTag(t);
    const before = parseMediaPlaylist(hls.playlist("live", "r")!);
    assert.ok(before.segments.length >= 2);
    assert.ok(before.segments.every((s) => !s.discontinuity));
    // The new upstream: the same encoding (identical sequence headers), timestamps rebased
    // past the old ones, as the relay's rebaser hands them.
    hub.breakSource();
    for (const t of synthStream(6000, 50, 6040)) hub.pushTag(t);
    const after = parseMediaPlaylist(hls.playlist("live", "r")!);
    assert.equal(hls.phase("live", "r"), "live");
    assert.equal(after.ended, false);
    const flagged = after.segments.filter((s) => s.discontinuity);
    assert.equal(flagged.length, 1, hls.playlist("live", "r"));
    // The segment before the join ends at the break; the one after starts the new source.
    const joinAt = after.segments.indexOf(flagged[0]!);
    assert.ok(joinAt > 0);
    assert.ok(after.segments.length > before.segments.length);
    assert.ok(after.mediaSequence >= before.mediaSequence);
    const uris = after.segments.map((s) => s.uri);
    assert.equal(new Set(uris).size, uris.length, "no segment name reused");
    hub.end();
  } finally {
    registry.endAll();
    await hls.close();
  }
});
