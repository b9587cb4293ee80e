import assert from "node:assert/strict";
import {
  frameMessage,
  TcpFramer,
} from "../../../scheduler/server/tcp_framing.ts";

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
