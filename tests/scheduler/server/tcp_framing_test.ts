import assert from "node:assert/strict";
import {
  frameMessage,
  TcpFramer,
} from "../../../scheduler/server/tcp_framing.ts";
import { createPrng, randomBytes } from "../../_helpers/prng.ts";

Deno.test("TcpFramer reassembles pipelined and split messages", () => {
  const f = new TcpFramer();
  const stream = new Uint8Array([
    ...frameMessage(new Uint8Array([1, 2, 3])),
    ...frameMessage(new Uint8Array([4])),
  ]);
  assert.deepEqual(f.push(stream.subarray(0, 1)), []);
  assert.deepEqual(f.push(stream.subarray(1, 4)).map((m) => [...m]), []);
  assert.deepEqual(f.push(stream.subarray(4)).map((m) => [...m]), [[1, 2, 3], [
    4,
  ]]);
  assert.equal(f.pending, 0);
  assert.deepEqual([...frameMessage(new Uint8Array(0))], [0, 0]);
});

Deno.test("TcpFramer fuzz: any split of a pipelined stream gives back the same messages", () => {
  const next = createPrng(0x7cf2);
  for (let round = 0; round < 300; round++) {
    const messages = Array.from(
      { length: 1 + (next() % 6) },
      () => randomBytes(next, next() % 3 === 0 ? 0 : next() % 700),
    );
    const stream = new Uint8Array(
      messages.flatMap((m) => [...frameMessage(m)]),
    );
    const f = new TcpFramer();
    const got: Uint8Array[] = [];
    for (let p = 0; p < stream.length;) {
      // Mostly single bytes (a trickle), sometimes larger reads.
      const n = next() % 4 === 0 ? 1 + (next() % 300) : 1;
      got.push(...f.push(stream.subarray(p, p + n)));
      p += n;
      assert.ok(f.pending <= 2 + 700);
    }
    assert.deepEqual(got.map((m) => [...m]), messages.map((m) => [...m]));
    assert.equal(f.pending, 0);
  }
});
