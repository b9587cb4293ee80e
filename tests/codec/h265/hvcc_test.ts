import assert from "node:assert/strict";
import {
  buildHevcDecoderConfig,
  decodeHevcDecoderConfig,
  encodeHevcDecoderConfig,
  H265FormatError,
  parseHevcSps,
} from "../../../codec/h265/mod.ts";
import { createPrng, mutate } from "../../_helpers/prng.ts";
import { HEVC_PPS, HEVC_SPS, HEVC_VPS } from "../../fixtures/h265.ts";

Deno.test("parseHevcSps() reads x265's 320x240 Main-profile SPS", () => {
  const info = parseHevcSps(HEVC_SPS);
  assert.deepEqual(
    [
      info.profileIdc,
      info.levelIdc,
      info.width,
      info.height,
      info.chromaFormatIdc,
    ],
    [1, 60, 320, 240, 1],
  );
  assert.equal(info.bitDepthLumaMinus8, 0);
  // general_profile_tier_level with the emulation-prevention bytes removed.
  assert.deepEqual(
    [...info.generalProfileTierLevel],
    [0x01, 0x60, 0x00, 0x00, 0x00, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3c],
  );
});

Deno.test("buildHevcDecoderConfig() builds the hvcC header from the SPS, and it decodes back", () => {
  const record = buildHevcDecoderConfig({
    vps: [HEVC_VPS],
    sps: [HEVC_SPS],
    pps: [HEVC_PPS],
  });
  // The 23-byte header: version, profile_tier_level, reserved bits, chroma 4:2:0, 8-bit,
  // one temporal layer, nested, 4-byte lengths, three arrays.
  assert.deepEqual([...record.subarray(0, 23)], [
    0x01,
    0x01,
    0x60,
    0x00,
    0x00,
    0x00,
    0x90,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x3c,
    0xf0,
    0x00,
    0xfc,
    0xfd,
    0xf8,
    0xf8,
    0x00,
    0x00,
    0x0f,
    0x03,
  ]);
  const back = decodeHevcDecoderConfig(record);
  assert.deepEqual(back.vps, [HEVC_VPS]);
  assert.deepEqual(back.sps, [HEVC_SPS]);
  assert.deepEqual(back.pps, [HEVC_PPS]);
  assert.equal(back.naluLengthSize, 4);
  assert.deepEqual(encodeHevcDecoderConfig(back), record);
});

Deno.test("decodeHevcDecoderConfig() and parseHevcSps() throw H265FormatError or succeed on mutated input", () => {
  const next = createPrng(265);
  const record = buildHevcDecoderConfig({
    vps: [HEVC_VPS],
    sps: [HEVC_SPS],
    pps: [HEVC_PPS],
  });
  for (let i = 0; i < 2000; i++) {
    const input = mutate(next, i % 2 ? record : HEVC_SPS);
    try {
      if (i % 2) encodeHevcDecoderConfig(decodeHevcDecoderConfig(input));
      else parseHevcSps(input);
    } catch (e) {
      assert.ok(e instanceof H265FormatError, `case ${i}: ${e}`);
    }
  }
});
