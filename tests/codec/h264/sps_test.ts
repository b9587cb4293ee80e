import assert from "node:assert/strict";
import { H264FormatError, parseSps } from "../../../codec/h264/mod.ts";
import { MAX_SPS_PICTURE_PIXELS } from "../../../codec/h264/sps.ts";
import { SPS_320X240_BASELINE } from "../../fixtures/h264.ts";
import { createPrng, mutate, randomBytes } from "../../_helpers/prng.ts";

/** SPS of an x264 1920x1080 High-profile stream (1088 coded lines, 8 cropped). */
const HIGH_1080P = new Uint8Array([
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
  0x00,
  0x00,
  0x03,
  0x00,
  0x04,
  0x00,
  0x00,
  0x03,
  0x00,
  0xc8,
  0x3c,
  0x60,
  0xc6,
  0x58,
]);

Deno.test("parseSps() reads x264 Baseline 320x240 and High 1920x1080 (cropped)", () => {
  // Produced by: ffmpeg -f lavfi -i testsrc2=size=WxH -c:v libx264 [-profile:v high] -f h264
  const baseline = SPS_320X240_BASELINE;
  assert.deepEqual(parseSps(baseline), {
    profileIdc: 66,
    levelIdc: 13,
    width: 320,
    height: 240,
  });
  const high = HIGH_1080P;
  assert.deepEqual(parseSps(high), {
    profileIdc: 100,
    levelIdc: 40,
    width: 1920,
    height: 1080,
  });
});

Deno.test("parseSps() throws H264FormatError for non-SPS and truncated input", () => {
  assert.throws(
    () => parseSps(new Uint8Array([0x68, 0, 0, 0])),
    H264FormatError,
  );
  assert.throws(
    () => parseSps(new Uint8Array([0x67, 0x64, 0, 0x28])),
    H264FormatError,
  );
  assert.throws(
    () => parseSps(new Uint8Array([0x67, 0x42, 0, 0x28, 0, 0, 0, 0, 0])),
    H264FormatError,
  );
});

Deno.test("parseSps() refuses damaged SPS it used to read as a picture (found by the fuzz)", () => {
  const refused = (message: RegExp) => (e: unknown) =>
    e instanceof H264FormatError && e.code === "H264_BAD_SPS" &&
    message.test(e.message);
  // The 320x240 SPS with two bits flipped (size and cropping): read as 316x-536875170.
  const cropped = new Uint8Array([
    103,
    66,
    192,
    13,
    218,
    5,
    15,
    236,
    4,
    64,
    0,
    0,
    3,
    0,
    64,
    0,
    32,
    12,
    131,
    197,
    10,
    168,
  ]);
  assert.throws(() => parseSps(cropped), refused(/got 316x-536875170$/));
  // A mutated High SPS: read as 16x-12; log2_max_frame_num_minus4 is out of range first.
  const high = new Uint8Array([
    103,
    100,
    24,
    48,
    255,
    91,
    168,
    177,
    33,
    152,
    0,
    40,
    172,
    217,
    64,
    120,
    2,
    39,
    229,
    192,
    68,
    0,
    0,
    3,
    0,
    4,
    0,
    0,
    3,
    255,
    255,
    60,
    96,
    198,
    88,
  ]);
  assert.throws(
    () => parseSps(high),
    refused(/log2_max_frame_num_minus4 must be 0\.\.12, got 33$/),
  );
});

Deno.test("parseSps() fuzz: mutated real SPS give H264FormatError or a sane picture size", () => {
  const next = createPrng(0x5b5);
  const seeds = [SPS_320X240_BASELINE, HIGH_1080P];
  const inputs: Uint8Array[] = [];
  for (let i = 0; i < 2500; i++) {
    let m: Uint8Array = seeds[next() % seeds.length]!;
    for (let k = 1 + (next() % 3); k > 0; k--) m = mutate(next, m);
    // Keep the NAL header an SPS most of the time, so the fields behind it get parsed.
    if (m.byteLength > 0 && next() % 4 !== 0) m[0] = 0x67;
    inputs.push(m);
  }
  for (let i = 0; i < 500; i++) {
    const r = randomBytes(next, 4 + (next() % 40));
    r[0] = 0x67;
    inputs.push(r);
  }
  let parsed = 0;
  for (const input of inputs) {
    let info;
    try {
      info = parseSps(input);
    } catch (e) {
      assert.ok(e instanceof H264FormatError, `${e} for ${input}`);
      continue;
    }
    parsed++;
    for (const side of [info.width, info.height]) {
      assert.ok(
        Number.isInteger(side) && side >= 1 && side <= MAX_SPS_PICTURE_PIXELS,
        `${info.width}x${info.height} for ${input}`,
      );
    }
    assert.ok(info.profileIdc >= 0 && info.profileIdc <= 255);
    assert.ok(info.levelIdc >= 0 && info.levelIdc <= 255);
  }
  assert.ok(parsed > 300, `only ${parsed} inputs parsed`);
});
