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
