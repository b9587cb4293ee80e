import assert from "node:assert/strict";
import {
  aacCodecs,
  aacCodecsOfConfig,
  avcCodecs,
  avcCodecsOfSps,
  CodecsFormatError,
  parseCodecs,
} from "../../../codec/rfc6381/mod.ts";
import { createPrng, mutate, randomBytes } from "../../_helpers/prng.ts";

/** SPS of an x264 1920x1080 High-profile stream (as in codec/h264/sps.ts). */
const SPS_HIGH_40 = new Uint8Array([
  0x67,
  0x64,
  0x00,
  0x28,
  0xac,
  0xd9,
  0x40,
  0x78,
  0x02,
  0x27,
  0xe5,
  0xc0,
  0x44,
]);

Deno.test("avcCodecs() and parseCodecs() round-trip a table of profiles and levels", () => {
  const table: [number, number, number, string][] = [
    [66, 0xc0, 30, "avc1.42c01e"], // Constrained Baseline 3.0 (Apple's example)
    [77, 0x40, 31, "avc1.4d401f"], // Main 3.1
    [100, 0x00, 31, "avc1.64001f"], // High 3.1
    [100, 0x00, 40, "avc1.640028"],
    [100, 0x0c, 51, "avc1.640c33"],
    [244, 0x00, 62, "avc1.f4003e"],
  ];
  for (const [profileIdc, constraintFlags, levelIdc, text] of table) {
    assert.equal(avcCodecs({ profileIdc, constraintFlags, levelIdc }), text);
    assert.deepEqual(parseCodecs(text), {
      kind: "avc1",
      profileIdc,
      constraintFlags,
      levelIdc,
    });
    // Hex case is not significant when reading (RFC 6381 leaves it open).
    assert.deepEqual(parseCodecs(text.toUpperCase().replace("AVC1", "avc1")), {
      kind: "avc1",
      profileIdc,
      constraintFlags,
      levelIdc,
    });
  }
});

Deno.test("avcCodecsOfSps() reads bytes 1..3 of a real SPS", () => {
  assert.equal(avcCodecsOfSps(SPS_HIGH_40), "avc1.640028");
  assert.throws(
    () => avcCodecsOfSps(new Uint8Array([0x68, 0x64, 0, 0x28])), // a PPS
    (e: unknown) =>
      e instanceof CodecsFormatError && e.code === "CODECS_BAD_VALUE" &&
      /got type 8 and 4 bytes/.test(e.message),
  );
  assert.throws(
    () => avcCodecsOfSps(new Uint8Array([0x67, 0x64])),
    CodecsFormatError,
  );
});

Deno.test("aacCodecsOfConfig() names the first audioObjectType, escapes included", () => {
  const table: [number[], string][] = [
    [[0x12, 0x10], "mp4a.40.2"], // AAC LC 44.1 kHz stereo
    [[0x11, 0x90], "mp4a.40.2"], // AAC LC 48 kHz stereo
    [[0x2b, 0x92, 0x08, 0x00], "mp4a.40.5"], // HE-AAC, explicit SBR
    [[0xeb, 0x92, 0x08, 0x00], "mp4a.40.29"], // HE-AAC v2 (PS)
    [[0x0a, 0x10], "mp4a.40.1"], // AAC Main
    [[0xf8, 0x20, 0x00], "mp4a.40.33"], // escape: 32 + 1
    [[0xff, 0xe0, 0x00], "mp4a.40.95"], // escape: 32 + 63
  ];
  for (const [bytes, text] of table) {
    assert.equal(aacCodecsOfConfig(new Uint8Array(bytes)), text, text);
    const parsed = parseCodecs(text);
    assert.equal(parsed.kind, "mp4a");
    assert.equal(
      aacCodecs((parsed as { audioObjectType: number }).audioObjectType),
      text,
    );
  }
  assert.throws(() => aacCodecsOfConfig(new Uint8Array([])), CodecsFormatError);
  assert.throws(() => aacCodecsOfConfig(new Uint8Array([0x00, 0x10])), /got 0/);
  assert.throws(
    () => aacCodecsOfConfig(new Uint8Array([0xf8])),
    /needs 2 bytes/,
  );
});

Deno.test("builders refuse values outside their fields, naming the value", () => {
  assert.throws(
    () => avcCodecs({ profileIdc: 256, constraintFlags: 0, levelIdc: 31 }),
    /profile_idc must be 0\.\.255, got 256/,
  );
  assert.throws(
    () => avcCodecs({ profileIdc: 100, constraintFlags: -1, levelIdc: 31 }),
    CodecsFormatError,
  );
  assert.throws(() => aacCodecs(0), /got 0/);
  assert.throws(() => aacCodecs(96), /got 96/);
  assert.throws(() => aacCodecs(2.5), CodecsFormatError);
  for (
    const bad of [
      "",
      "avc1",
      "avc1.6400",
      "avc1.64001fz",
      "hvc1.1.6.L93",
      "mp4a.40.0",
      "mp4a.40.96",
      "mp4a.6B",
    ]
  ) {
    assert.throws(
      () => parseCodecs(bad),
      (e: unknown) =>
        e instanceof CodecsFormatError && e.code === "CODECS_BAD_STRING",
      bad,
    );
  }
});

Deno.test("fuzz: avcCodecsOfSps() and aacCodecsOfConfig() throw CodecsFormatError or build a string that parses back", () => {
  const next = createPrng(6381);
  const seeds = [
    SPS_HIGH_40,
    new Uint8Array([0x12, 0x10]),
    new Uint8Array([0xf8, 0x20, 0]),
  ];
  for (let i = 0; i < 3000; i++) {
    const input = i % 3 === 0
      ? randomBytes(next, next() % 8)
      : mutate(next, seeds[i % seeds.length]!);
    for (const build of [avcCodecsOfSps, aacCodecsOfConfig]) {
      let text: string;
      try {
        text = build(input);
      } catch (e) {
        assert.ok(e instanceof CodecsFormatError, `${e} for ${input}`);
        continue;
      }
      const parsed = parseCodecs(text);
      const again = parsed.kind === "avc1"
        ? avcCodecs(parsed)
        : aacCodecs(parsed.audioObjectType);
      assert.equal(again, text);
    }
  }
});
