import assert from "node:assert/strict";
import { concatBytes } from "../../../codec/bytes/concat.ts";

Deno.test("concatBytes() joins parts in order, with or without a known total", () => {
  const a = new Uint8Array([1, 2]);
  const b = new Uint8Array([]);
  const c = new Uint8Array([3, 4, 5]).subarray(1);
  assert.deepEqual(concatBytes([a, b, c]), new Uint8Array([1, 2, 4, 5]));
  assert.deepEqual(concatBytes([a, c], 4), new Uint8Array([1, 2, 4, 5]));
  assert.deepEqual(concatBytes([]), new Uint8Array(0));
});

Deno.test("concatBytes() hands a single part back without copying it", () => {
  const only = new Uint8Array([9, 9]);
  assert.equal(concatBytes([only]), only);
  const joined = concatBytes([only, only]);
  joined[0] = 1;
  assert.equal(only[0], 9, "a join is a copy");
});
