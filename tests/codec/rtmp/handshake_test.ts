import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import {
  digestOffset,
  GENUINE_FMS_KEY,
  GENUINE_FP_KEY,
  RtmpClientHandshake,
  RtmpProtocolError,
  RtmpServerHandshake,
} from "../../../codec/rtmp/mod.ts";
import { createPrng, randomBytes } from "../../_helpers/prng.ts";

const hmac = (key: Uint8Array, ...parts: Uint8Array[]): Uint8Array => {
  const h = createHmac("sha256", key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

/** Builds a digest C0+C1 by hand, independently of the code under test. */
function digestC0C1(
  schema: 0 | 1,
  seed: number,
): { c0c1: Uint8Array; digest: Uint8Array } {
  const c1 = randomBytes(createPrng(seed), 1536);
  c1.set([0, 0, 0, 0, 10, 0, 45, 2], 0); // time 0, Flash Player 10.0.45.2
  const base = schema === 0 ? 8 : 772;
  const offset =
    ((c1[base]! + c1[base + 1]! + c1[base + 2]! + c1[base + 3]!) % 728) + base +
    4;
  const digest = hmac(
    new TextEncoder().encode("Genuine Adobe Flash Player 001"),
    c1.subarray(0, offset),
    c1.subarray(offset + 32),
  );
  c1.set(digest, offset);
  return { c0c1: new Uint8Array([3, ...c1]), digest };
}

for (const schema of [0, 1] as const) {
  Deno.test(`RtmpServerHandshake answers a schema ${schema} digest C1 with signed S1 and S2`, () => {
    const { c0c1, digest } = digestC0C1(schema, 42 + schema);
    const server = new RtmpServerHandshake({
      randomBytes: (n) => randomBytes(createPrng(7), n),
    });
    const step = server.push(c0c1);
    assert.equal(step.done, false);
    assert.equal(server.usedDigest, true);
    const out = step.output!;
    assert.equal(out.byteLength, 1 + 1536 * 2);
    assert.equal(out[0], 3);
    const s1 = out.subarray(1, 1537);
    const s2 = out.subarray(1537);
    assert.ok(
      s1[4]! >= 3,
      "FFmpeg checks S1 digests only for server version >= 3",
    );

    // S1: digest at the same schema, keyed with the first 36 bytes of the FMS key.
    const off = digestOffset(s1, schema);
    const expectedS1 = hmac(
      new TextEncoder().encode("Genuine Adobe Flash Media Server 001"),
      s1.subarray(0, off),
      s1.subarray(off + 32),
    );
    assert.deepEqual(s1.subarray(off, off + 32), expectedS1);

    // S2: last 32 bytes = HMAC(HMAC(full FMS key, client digest), first 1504 bytes).
    const tempKey = hmac(GENUINE_FMS_KEY, digest);
    assert.deepEqual(s2.subarray(1504), hmac(tempKey, s2.subarray(0, 1504)));
  });
}

Deno.test("GENUINE keys have their documented lengths", () => {
  assert.equal(GENUINE_FP_KEY.byteLength, 62);
  assert.equal(GENUINE_FMS_KEY.byteLength, 68);
});

Deno.test("RtmpServerHandshake echoes C1 as S2 for a simple handshake", () => {
  const c1 = randomBytes(createPrng(1), 1536);
  c1.set([0, 0, 0, 0, 0, 0, 0, 0], 0);
  const server = new RtmpServerHandshake();
  const step = server.push(new Uint8Array([3, ...c1]));
  assert.equal(server.usedDigest, false);
  assert.deepEqual(step.output!.subarray(1537), c1);
  assert.deepEqual([...step.output!.subarray(5, 9)], [0, 0, 0, 0]);
});

Deno.test("RtmpServerHandshake treats a versioned C1 without a valid digest as simple", () => {
  const c1 = randomBytes(createPrng(2), 1536);
  c1.set([0, 0, 0, 0, 9, 0, 124, 2], 0);
  const server = new RtmpServerHandshake();
  const step = server.push(new Uint8Array([3, ...c1]));
  assert.equal(server.usedDigest, false);
  assert.deepEqual(step.output!.subarray(1537), c1);
});

Deno.test("RtmpServerHandshake accepts input in pieces and returns bytes after C2", () => {
  const client = new RtmpClientHandshake({ digest: true });
  const server = new RtmpServerHandshake();
  const c0c1 = client.start();
  assert.equal(server.push(c0c1.subarray(0, 1)).output, undefined);
  assert.equal(server.push(c0c1.subarray(1, 1000)).output, undefined);
  const s = server.push(c0c1.subarray(1000));
  const c = client.push(s.output!);
  assert.equal(client.serverDigestValid, true);
  const tail = new Uint8Array([0x03, 1, 2]);
  const done = server.push(new Uint8Array([...c.output!, ...tail]));
  assert.equal(done.done, true);
  assert.deepEqual(done.rest, tail);
  assert.equal(server.done, true);
});

Deno.test("RtmpClientHandshake completes a simple handshake with C2 = S1", () => {
  const client = new RtmpClientHandshake();
  const server = new RtmpServerHandshake();
  const s = server.push(client.start()).output!;
  const c = client.push(s);
  assert.equal(client.serverDigestValid, undefined);
  assert.deepEqual(c.output, s.subarray(1, 1537));
  assert.equal(server.push(c.output!).done, true);
});

Deno.test("RtmpServerHandshake rejects a C0 other than 3", () => {
  for (const version of [0x47, 6, 0]) {
    assert.throws(
      () => new RtmpServerHandshake().push(new Uint8Array([version])),
      (err: unknown) => {
        assert.ok(err instanceof RtmpProtocolError);
        assert.equal(err.code, "RTMP_BAD_VERSION");
        return true;
      },
    );
  }
});

Deno.test("RtmpServerHandshake rejects input after completion", () => {
  const client = new RtmpClientHandshake();
  const server = new RtmpServerHandshake();
  const c = client.push(server.push(client.start()).output!);
  server.push(c.output!);
  assert.throws(() => server.push(new Uint8Array(1)), RtmpProtocolError);
});
