import assert from "node:assert/strict";
import { H264FormatError, parseSps } from "../../../codec/h264/mod.ts";
import { SPS_320X240_BASELINE } from "../../fixtures/h264.ts";

Deno.test("parseSps() reads x264 Baseline 320x240 and High 1920x1080 (cropped)", () => {
  // Produced by: ffmpeg -f lavfi -i testsrc2=size=WxH -c:v libx264 [-profile:v high] -f h264
  const baseline = SPS_320X240_BASELINE;
  assert.deepEqual(parseSps(baseline), {
    profileIdc: 66,
    levelIdc: 13,
    width: 320,
    height: 240,
  });
  const high = new Uint8Array([
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
