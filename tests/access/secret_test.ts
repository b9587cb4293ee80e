import assert from "node:assert/strict";
import {
  constantTimeEqual,
  generateToken,
  isTokenFormat,
  TOKEN_ALPHABET,
} from "../../access/mod.ts";

Deno.test("generateToken() makes 16 characters of [A-Za-z0-9] by default", () => {
  for (let i = 0; i < 200; i++) {
    const t = generateToken();
    assert.match(t, /^[A-Za-z0-9]{16}$/);
    assert.ok(isTokenFormat(t));
  }
  assert.match(generateToken(32), /^[A-Za-z0-9]{32}$/);
});

Deno.test("generateToken() uses every character about equally (no modulo bias)", () => {
  const counts = new Map<string, number>();
  const n = 62 * 2000;
  const text = generateToken(n);
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  assert.equal(counts.size, TOKEN_ALPHABET.length);
  // Expected 2000 each (σ ≈ 44). `byte % 62` without rejection would give the first 8
  // characters 5/256 instead of 4/256, about 2460 each. Bounds at ~6.7σ never flake.
  for (const [ch, c] of counts) assert.ok(c > 1700 && c < 2300, `${ch}: ${c}`);
});

Deno.test("isTokenFormat() refuses anything but 16 of [A-Za-z0-9]", () => {
  for (
    const s of [
      "",
      "short",
      "AbCdEfGh1234567",
      "AbCdEfGh123456789",
      "AbCdEfGh1234567-",
      "AbCdEfGh1234567é",
    ]
  ) {
    assert.equal(isTokenFormat(s), false, s);
  }
});

Deno.test("constantTimeEqual() compares exactly", () => {
  assert.equal(constantTimeEqual("secret-value", "secret-value"), true);
  assert.equal(constantTimeEqual("secret-valuf", "secret-value"), false);
  assert.equal(constantTimeEqual("secret-valu", "secret-value"), false);
  assert.equal(constantTimeEqual("secret-value!", "secret-value"), false);
  assert.equal(constantTimeEqual("", "secret-value"), false);
  // An empty expected secret never matches (a missing secret is not "no password").
  assert.equal(constantTimeEqual("", ""), false);
});
