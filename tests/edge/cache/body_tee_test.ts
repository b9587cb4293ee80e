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
