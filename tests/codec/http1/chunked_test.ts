import assert from "node:assert/strict";
import {
  decodeChunkedBody,
  Http1ErrorCode,
  Http1FormatError,
} from "../../../codec/http1/mod.ts";
import { createPrng, mutate, randomBytes } from "../../_helpers/prng.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("decodeChunkedBody() joins chunks, skips extensions and trailers, reports the end", () => {
  const wire = enc(
    "4\r\nWiki\r\n5;ext=1\r\npedia\r\nB\r\n in\r\nchunks\r\n0\r\nX-T: 1\r\n\r\nrest",
  );
  const r = decodeChunkedBody(wire, 1024)!;
  assert.equal(text(r.body), "Wikipedia in\r\nchunks");
  assert.equal(text(wire.subarray(r.end)), "rest");
});

Deno.test("decodeChunkedBody() returns undefined on every truncation of a whole body", () => {
  const wire = enc("3\r\nabc\r\n0\r\n\r\n");
  for (let n = 0; n < wire.length; n++) {
    assert.equal(
      decodeChunkedBody(wire.subarray(0, n), 64),
      undefined,
      `at ${n}`,
    );
  }
  assert.equal(text(decodeChunkedBody(wire, 64)!.body), "abc");
});

Deno.test("decodeChunkedBody() refuses bad sizes and bodies over the limit", () => {
  const code = (s: string, max = 64) => {
    try {
      decodeChunkedBody(enc(s), max);
    } catch (e) {
      assert.ok(e instanceof Http1FormatError);
      return e.code;
    }
    return "none";
  };
  assert.equal(code("zz\r\nab\r\n0\r\n\r\n"), Http1ErrorCode.BadFraming);
  assert.equal(code("\r\n"), Http1ErrorCode.BadFraming);
  assert.equal(code("3\r\nabcX\r\n0\r\n\r\n"), Http1ErrorCode.BadFraming);
  assert.equal(code("3\nabc"), Http1ErrorCode.BadFraming);
  assert.equal(code("fffffffffffffffff\r\n"), Http1ErrorCode.BodyTooLarge);
  assert.equal(code("40\r\n", 63), Http1ErrorCode.BodyTooLarge);
  assert.equal(
    code("20\r\n" + "a".repeat(32) + "\r\n20\r\n", 63),
    Http1ErrorCode.BodyTooLarge,
  );
});

Deno.test("decodeChunkedBody() fuzz: random and mutated bodies decode within the limit or throw Http1FormatError", () => {
  const next = createPrng(0xc4c4);
  const seed = enc(
    "5\r\nhello\r\n1;a=b\r\n \r\n6\r\nworld!\r\n0\r\nT: v\r\n\r\n",
  );
  for (let i = 0; i < 5000; i++) {
    const input = i % 4 === 0
      ? randomBytes(next, next() % 64)
      : mutate(next, seed);
    try {
      const r = decodeChunkedBody(input, 32);
      if (r) {
        assert.ok(r.body.length <= 32);
        assert.ok(r.end <= input.length);
      }
    } catch (e) {
      assert.ok(e instanceof Http1FormatError, `input ${i}: ${e}`);
    }
  }
});
