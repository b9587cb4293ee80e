import assert from "node:assert/strict";
import type { MediaIndex, TrackIndex } from "../../../codec/samples/mod.ts";
import { ItemCursor } from "../../../origin/virtual_live/item_cursor.ts";

/** A track of `count` samples `step` ticks apart, sync every `gop` (all when undefined). */
function track(
  kind: "video" | "audio",
  opts: {
    count: number;
    step: number;
    timescale?: number;
    mediaTime?: number;
    gop?: number;
    cts?: number;
  },
): TrackIndex {
  const n = opts.count;
  const dts = new Float64Array(n).map((_, i) => i * opts.step);
  const sync = opts.gop === undefined
    ? undefined
    : new Uint8Array(n).map((_, i) => (i % opts.gop! === 0 ? 1 : 0));
  return {
    kind,
    codec: kind === "video" ? "h264" : "aac",
    timescale: opts.timescale ?? 1000,
    config: undefined,
    sampleEntry: undefined,
    mediaTime: opts.mediaTime ?? 0,
    samples: {
      count: n,
      offset: new Float64Array(n).map((_, i) => i * 100),
      size: new Uint32Array(n).fill(10),
      dts,
      duration: new Uint32Array(n).fill(opts.step),
      cts: new Int32Array(n).fill(opts.cts ?? 0),
      sync,
    },
  };
}

function index(...tracks: TrackIndex[]): MediaIndex {
  return { container: "mp4", fileSize: 1 << 20, durationMs: 0, tracks };
}

function drain(c: ItemCursor): { kind: string; ts: number }[] {
  const out: { kind: string; ts: number }[] = [];
  for (let f = c.peek(); f; f = c.peek()) {
    out.push({ kind: f.track.kind, ts: f.timestampMs });
    c.advance();
  }
  return out;
}

Deno.test("ItemCursor merges tracks by decoding time from the item's base, video first on ties", () => {
  const c = new ItemCursor(
    index(
      track("video", { count: 3, step: 40, gop: 2 }),
      track("audio", { count: 4, step: 30 }),
    ),
    5000,
  );
  assert.deepEqual(drain(c), [
    { kind: "video", ts: 5000 },
    { kind: "audio", ts: 5000 },
    { kind: "audio", ts: 5030 },
    { kind: "video", ts: 5040 },
    { kind: "audio", ts: 5060 },
    { kind: "video", ts: 5080 },
    { kind: "audio", ts: 5090 },
  ]);
  assert.equal(c.endMs, 5120); // the last video frame's end
});

Deno.test("ItemCursor keeps audio and video on one presentation clock across edit lists", () => {
  // MP4 from ffmpeg with B-frames: video edit list starts at 2 frames (1024 ticks of 12800),
  // AAC priming of 1024 samples at 44.1 kHz. Both tracks present time 0 at dts = mediaTime.
  const c = new ItemCursor(
    index(
      track("video", {
        count: 3,
        step: 512,
        timescale: 12800,
        mediaTime: 1024,
        gop: 3,
      }),
      track("audio", {
        count: 3,
        step: 1024,
        timescale: 44100,
        mediaTime: 1024,
      }),
    ),
    1000,
  );
  const out = drain(c);
  // Video presents 80 ms after its first dts, audio 23 ms after: audio starts 57 ms later.
  assert.deepEqual(out.filter((f) => f.kind === "video").map((f) => f.ts), [
    1000,
    1040,
    1080,
  ]);
  assert.deepEqual(out.filter((f) => f.kind === "audio").map((f) => f.ts), [
    1057,
    1080,
    1103,
  ]);
});

Deno.test("ItemCursor.cutAtNextKeyframe() stops video before its next keyframe and audio with it", () => {
  const c = new ItemCursor(
    index(
      track("video", { count: 10, step: 40, gop: 4 }), // keyframes at 0, 160, 320
      track("audio", { count: 20, step: 20 }),
    ),
    0,
  );
  // Send the first two video frames and what lies between.
  while (c.peek()!.timestampMs < 60) c.advance();
  c.cutAtNextKeyframe();
  const rest = drain(c);
  assert.ok(rest.length > 0);
  assert.ok(rest.every((f) => f.ts < 160), JSON.stringify(rest));
  assert.equal(rest.filter((f) => f.kind === "video").at(-1)!.ts, 120);
  assert.equal(c.endMs, 160);
  assert.ok(c.fullEndMs >= 400);

  // Audio only: the cut is at once.
  const a = new ItemCursor(index(track("audio", { count: 5, step: 20 })), 0);
  a.advance();
  a.cutAtNextKeyframe();
  assert.equal(a.peek(), undefined);
  assert.equal(a.endMs, 20);
});
