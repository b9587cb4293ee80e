import assert from "node:assert/strict";
import { type HlsSegment, SegmentWindow } from "../../../origin/hls/mod.ts";

function seg(sequence: number, discontinuity = false): HlsSegment {
  return {
    name: `p-${sequence}.ts`,
    sequence,
    durationMs: 2000,
    programDateTimeMs: 0,
    discontinuity,
    bytes: new Uint8Array(10),
  };
}

Deno.test("SegmentWindow lists the last N, retains extra, and counts discontinuities that leave", () => {
  const w = new SegmentWindow(3, 2);
  assert.equal(w.mediaSequence, 0);
  const flagged = new Set([2, 4, 5]);
  const expectedDiscSeq = [0, 0, 0, 0, 0, 1, 1, 2, 3, 3];
  for (let i = 0; i < 10; i++) {
    w.push(seg(i, flagged.has(i)));
    assert.equal(w.discontinuitySequence, expectedDiscSeq[i], `after ${i}`);
    assert.equal(w.mediaSequence, Math.max(0, i - 2));
    assert.ok(w.size <= 5);
  }
  assert.deepEqual(w.listed.map((s) => s.sequence), [7, 8, 9]);
  assert.ok(w.find("p-5.ts")); // retained beyond the window
  assert.ok(w.find("p-5")); // the HTTP app strips ".ts"
  assert.equal(w.find("p-4.ts"), undefined);
  assert.equal(w.retainedBytes, 50);
});

Deno.test("SegmentWindow starts from a given discontinuity sequence and retires every listed segment at once", () => {
  const w = new SegmentWindow(3, 2, 5);
  assert.equal(w.discontinuitySequence, 5);
  for (let i = 0; i < 4; i++) w.push(seg(i, i === 2 || i === 3));
  assert.deepEqual(w.listed.map((s) => s.sequence), [1, 2, 3]);
  w.retireAll();
  assert.equal(w.listed.length, 0);
  assert.equal(w.listedCount, 0);
  assert.equal(w.discontinuitySequence, 7, "the two flagged ones left");
  assert.ok(w.find("p-1"), "retired segments stay downloadable");
  w.push(seg(4, true));
  assert.deepEqual(w.listed.map((s) => s.sequence), [4]);
  assert.equal(w.mediaSequence, 4);
  // At most window + extras in all: the oldest retired ones go as new ones come.
  w.push(seg(5));
  assert.equal(w.size, 5);
  assert.equal(w.find("p-0"), undefined);
  assert.ok(w.find("p-1"));
  w.push(seg(6));
  assert.equal(w.find("p-1"), undefined);
  for (let i = 7; i < 9; i++) w.push(seg(i));
  assert.deepEqual(w.listed.map((s) => s.sequence), [6, 7, 8]);
  assert.equal(w.discontinuitySequence, 8, "p-4 left the window");
});
