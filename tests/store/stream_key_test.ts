import assert from "node:assert/strict";
import {
  boundEdgeStreams,
  MAX_EDGE_STREAMS,
  MAX_STREAM_VIEWERS,
  streamKey,
  streamKeyOfPath,
} from "../../store/mod.ts";

Deno.test("streamKey() is FNV-1a 64 of the lower-cased app/stream (vectors from an independent implementation)", () => {
  // Python: h = 0xcbf29ce484222325; for b in text.encode(): h ^= b; h = h * 0x100000001b3 % 2**64
  assert.equal(streamKey("live", "demo"), "c3339c2f366e3c47");
  assert.equal(streamKey("A", "B"), "e620c3190468cf61");
  assert.equal(streamKey("live", "直播"), "1d8d29790c67701d");
  assert.equal(streamKey("", ""), "af63a24c860189fe");
});

Deno.test("streamKeyOfPath() reads /app/stream.ext and /app/stream/file, nothing else", () => {
  const k = streamKey("live", "demo");
  for (
    const p of [
      "/live/demo.flv",
      "/live/demo.m3u8",
      "/live/demo/index.m3u8",
      "/live/demo/seg-1.ts?token=x",
      "/LIVE/Demo.flv",
    ]
  ) assert.equal(streamKeyOfPath(p), k, p);
  for (const p of ["/", "/live", "/live/.flv", ""]) {
    assert.equal(streamKeyOfPath(p), undefined, p);
  }
});

Deno.test("boundEdgeStreams() drops junk, merges keys, keeps the busiest, and reads a bounded prefix", () => {
  const key = (i: number) => i.toString(16).padStart(16, "0");
  assert.deepEqual(boundEdgeStreams("nope"), []);
  assert.deepEqual(
    boundEdgeStreams([
      { key: key(1), viewers: 2 },
      { key: key(1), viewers: 3.7 },
      { key: key(2), viewers: Infinity },
      { key: "ABCDEF0123456789", viewers: 1 },
      { key: key(3), viewers: -5 },
      { key: key(4), viewers: 1e12 },
      null,
      7,
    ]),
    [
      { key: key(4), viewers: MAX_STREAM_VIEWERS },
      { key: key(1), viewers: 5 },
      { key: key(3), viewers: 0 },
    ],
  );
  // A million entries: only a bounded prefix is read, and MAX_EDGE_STREAMS come out.
  const huge = Array.from(
    { length: 1_000_000 },
    (_, i) => ({ key: key(i), viewers: i }),
  );
  const kept = boundEdgeStreams(huge);
  assert.equal(kept.length, MAX_EDGE_STREAMS);
  assert.ok(kept[0]!.viewers < MAX_EDGE_STREAMS * 64, "prefix only");
});
