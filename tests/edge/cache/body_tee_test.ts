import assert from "node:assert/strict";
import { BodyTee } from "../../../edge/cache/body_tee.ts";

Deno.test("BodyTee: readers joining at any time get every byte; ranges slice across chunks", async () => {
  const tee = new BodyTee();
  const early = new Response(tee.reader()).arrayBuffer();
  tee.push(new Uint8Array([0, 1, 2]));
  const late = new Response(tee.reader()).arrayBuffer();
  const range = new Response(tee.reader(2, 5)).arrayBuffer();
  tee.push(new Uint8Array([3, 4, 5, 6]));
  tee.end();
  assert.deepEqual(
    new Uint8Array(await early),
    new Uint8Array([0, 1, 2, 3, 4, 5, 6]),
  );
  assert.deepEqual(
    new Uint8Array(await late),
    new Uint8Array([0, 1, 2, 3, 4, 5, 6]),
  );
  assert.deepEqual(new Uint8Array(await range), new Uint8Array([2, 3, 4]));
  assert.deepEqual(tee.concat(), new Uint8Array([0, 1, 2, 3, 4, 5, 6]));
});

Deno.test("BodyTee: a failure errors every reader", async () => {
  const tee = new BodyTee();
  const r = new Response(tee.reader()).arrayBuffer();
  tee.push(new Uint8Array(1));
  tee.fail(new Error("broke"));
  await assert.rejects(r, /broke/);
});

Deno.test("BodyTee: small upstream chunks reach a reader in few large pieces, byte for byte", async () => {
  const tee = new BodyTee();
  tee.expect(2 * 1024 * 1024);
  const sizes: number[] = [];
  const got = new Response(
    tee.reader(0, Number.POSITIVE_INFINITY, (n) => sizes.push(n)),
  ).arrayBuffer();
  const want = new Uint8Array(2 * 1024 * 1024);
  for (let i = 0; i < want.length; i++) want[i] = (i * 7) & 255;
  for (let o = 0; o < want.length; o += 16 * 1024) {
    tee.push(want.subarray(o, o + 16 * 1024));
    await new Promise((r) => setTimeout(r, 0)); // let the reader run between chunks
  }
  tee.end();
  assert.deepEqual(new Uint8Array(await got), want);
  assert.ok(
    sizes.length <= 80,
    `${sizes.length} pieces for 128 upstream chunks`,
  );
  assert.equal(tee.concat().byteLength, want.length);
  assert.equal(
    tee.concat(),
    tee.concat(),
    "the announced-size buffer, not a copy",
  );
});

Deno.test("BodyTee: a trickle is handed on within a few ms, not held for a full piece", async () => {
  const tee = new BodyTee();
  const reader = tee.reader().getReader();
  tee.push(new Uint8Array([1, 2, 3]));
  const t0 = performance.now();
  const first = await reader.read();
  assert.deepEqual(first.value, new Uint8Array([1, 2, 3]));
  assert.ok(performance.now() - t0 < 1000, "released by the hold timeout");
  tee.end();
  assert.equal((await reader.read()).done, true);
});

Deno.test("BodyTee: ranges across growing blocks of an unannounced body", async () => {
  const tee = new BodyTee();
  const all = new Uint8Array(300_000).map((_, i) => i % 251);
  const mid = new Response(tee.reader(40_000, 260_000)).arrayBuffer();
  for (let o = 0; o < all.length; o += 7_000) {
    tee.push(all.subarray(o, o + 7_000));
  }
  tee.end();
  assert.deepEqual(new Uint8Array(await mid), all.subarray(40_000, 260_000));
  assert.deepEqual(tee.concat(), all);
});
