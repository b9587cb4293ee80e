import assert from "node:assert/strict";
import { ByteQueue } from "../../../codec/bytes/queue.ts";

/** A seeded PRNG (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("ByteQueue.take() returns a large buffer itself and merges runs of small ones up to the bound", () => {
  const q = new ByteQueue();
  const big = new Uint8Array(20).fill(9);
  q.push(Uint8Array.of(1, 2));
  q.push(Uint8Array.of(3));
  q.push(Uint8Array.of(4, 5, 6, 7, 8, 9, 10, 11)); // would pass 10 with the two before it
  q.push(big);
  q.push(new Uint8Array(0)); // ignored
  q.push(Uint8Array.of(12));
  assert.equal(q.bytes, 32);
  assert.deepEqual([...q.take(10)!], [1, 2, 3]);
  assert.deepEqual([...q.take(10)!], [4, 5, 6, 7, 8, 9, 10, 11]);
  assert.equal(q.take(10), big, "shared, not copied");
  assert.deepEqual([...q.take(10)!], [12]);
  assert.equal(q.take(10), undefined);
  assert.equal(q.bytes, 0);
  assert.equal(q.isEmpty, true);
});

Deno.test("ByteQueue keeps order and bytes across random pushes and takes (seeded)", () => {
  const r = rng(99);
  for (let round = 0; round < 200; round++) {
    const q = new ByteQueue();
    const pushed: number[] = [];
    const taken: number[] = [];
    const originals = new Set<Uint8Array>();
    const bound = 1 + Math.floor(r() * 64);
    for (let step = 0; step < 300; step++) {
      if (r() < 0.6) {
        const b = Uint8Array.from(
          { length: Math.floor(r() * 100) },
          () => Math.floor(r() * 256),
        );
        originals.add(b);
        q.push(b);
        pushed.push(...b);
      } else {
        const t = q.take(bound);
        if (!t) {
          assert.equal(q.bytes, 0);
          continue;
        }
        assert.ok(t.byteLength > 0);
        // Either an original buffer (at least the bound, or alone) or a merge within the bound.
        assert.ok(originals.has(t) || t.byteLength <= bound, `round ${round}`);
        taken.push(...t);
      }
      assert.equal(q.bytes, pushed.length - taken.length);
    }
    for (let t = q.take(bound); t; t = q.take(bound)) taken.push(...t);
    assert.deepEqual(taken, pushed, `round ${round}`);
  }
});
