import assert from "node:assert/strict";
import { RtpReorderBuffer } from "../../../origin/webrtc/reorder.ts";
import { createPrng } from "../../_helpers/prng.ts";

type P = { sequence: number };
const seqs = (out: { packet: P; lost: boolean }[]) =>
  out.map((o) => (o.lost ? `!${o.packet.sequence}` : `${o.packet.sequence}`));

Deno.test("reorder: in-order packets pass at once", () => {
  const r = new RtpReorderBuffer<P>({ maxWaitMs: 100, maxPackets: 8 });
  const out = [1, 2, 3].flatMap((s) => r.push({ sequence: s }, 0));
  assert.deepEqual(seqs(out), ["1", "2", "3"]);
  assert.equal(r.held, 0);
});

Deno.test("reorder: a late packet (a retransmission) fills its gap; order is restored", () => {
  const r = new RtpReorderBuffer<P>({ maxWaitMs: 100, maxPackets: 8 });
  const out = [10, 12, 13, 11, 14].flatMap((s) => r.push({ sequence: s }, 5));
  assert.deepEqual(seqs(out), ["10", "11", "12", "13", "14"]);
  assert.equal(r.stats.lost, 0);
  assert.equal(r.stats.reordered, 2); // 12 and 13 came ahead of the gap
});

Deno.test("reorder: a gap not repaired within maxWaitMs is given up as lost", () => {
  const r = new RtpReorderBuffer<P>({ maxWaitMs: 100, maxPackets: 8 });
  assert.deepEqual(seqs(r.push({ sequence: 1 }, 0)), ["1"]);
  assert.deepEqual(seqs(r.push({ sequence: 3 }, 10)), []);
  assert.deepEqual(seqs(r.poll(50)), []);
  assert.deepEqual(seqs(r.poll(110)), ["!3"]);
  assert.equal(r.stats.lost, 1);
  // 2 comes after all: too late, dropped.
  assert.deepEqual(seqs(r.push({ sequence: 2 }, 120)), []);
  assert.equal(r.stats.duplicate, 1);
});

Deno.test("reorder: more than maxPackets held gives up the gap at once", () => {
  const r = new RtpReorderBuffer<P>({ maxWaitMs: 10_000, maxPackets: 4 });
  r.push({ sequence: 0 }, 0);
  const out = [2, 3, 4, 5, 6].flatMap((s) => r.push({ sequence: s }, 0));
  assert.deepEqual(seqs(out), ["!2", "3", "4", "5", "6"]);
});

Deno.test("reorder: duplicates are dropped; sequence numbers wrap at 65535", () => {
  const r = new RtpReorderBuffer<P>({ maxWaitMs: 100, maxPackets: 8 });
  const out = [65534, 65535, 65535, 1, 0, 2].flatMap((s) =>
    r.push({ sequence: s }, 0)
  );
  assert.deepEqual(seqs(out), ["65534", "65535", "0", "1", "2"]);
  assert.equal(r.stats.duplicate, 1);
});

Deno.test("reorder: a far jump (a restarted sender) flushes and continues", () => {
  const r = new RtpReorderBuffer<P>({ maxWaitMs: 100, maxPackets: 8 });
  r.push({ sequence: 100 }, 0);
  r.push({ sequence: 102 }, 0);
  const out = r.push({ sequence: 30_000 }, 0);
  assert.deepEqual(seqs(out), ["!102", "30000"]);
});

Deno.test("reorder fuzz: shuffled, dropped and duplicated packets come out once each, in order", () => {
  const next = createPrng(7);
  for (let round = 0; round < 200; round++) {
    const r = new RtpReorderBuffer<P>({ maxWaitMs: 50, maxPackets: 32 });
    const start = next() & 0xffff;
    const sent: number[] = [];
    for (let i = 0; i < 300; i++) {
      if (next() % 10 === 0) continue; // lost
      sent.push((start + i) & 0xffff);
      if (next() % 20 === 0) sent.push((start + i) & 0xffff); // duplicate
    }
    // Local shuffles: each packet moves at most a few places.
    for (let i = 0; i + 1 < sent.length; i++) {
      if (next() % 4 === 0) {
        const j = Math.min(sent.length - 1, i + 1 + (next() % 6));
        [sent[i], sent[j]] = [sent[j]!, sent[i]!];
      }
    }
    const out: number[] = [];
    let now = 0;
    for (const s of sent) {
      now += next() % 5;
      for (const o of r.push({ sequence: s }, now)) out.push(o.packet.sequence);
    }
    for (const o of r.poll(now + 1000)) out.push(o.packet.sequence);
    assert.equal(r.held, 0);
    assert.equal(new Set(out).size, out.length, "each packet once");
    const offsets = out.map((s) => (s - start + 0x10000) & 0xffff);
    for (let i = 1; i < offsets.length; i++) {
      assert.ok(offsets[i]! > offsets[i - 1]!, `round ${round}: out of order`);
    }
  }
});
