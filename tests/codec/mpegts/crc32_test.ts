import assert from "node:assert/strict";
import { crc32Mpeg2 } from "../../../codec/mpegts/mod.ts";

Deno.test("crc32Mpeg2() matches the CRC-32/MPEG-2 check value and checks sections to 0", () => {
  assert.equal(crc32Mpeg2(new TextEncoder().encode("123456789")), 0x0376e6e7);
  assert.equal(crc32Mpeg2(new Uint8Array(0)), 0xffffffff);
  // ffmpeg's PAT section including its CRC checks to zero.
  const pat = new Uint8Array([
    0x00,
    0xb0,
    0x0d,
    0x00,
    0x01,
    0xc1,
    0x00,
    0x00,
    0x00,
    0x01,
    0xf0,
    0x00,
    0x2a,
    0xb1,
    0x04,
    0xb2,
  ]);
  assert.equal(crc32Mpeg2(pat), 0);
});
