import assert from "node:assert/strict";
import {
  decodeAvcDecoderConfig,
  encodeAvcDecoderConfig,
  H264ErrorCode,
  H264FormatError,
} from "../../../codec/h264/mod.ts";
import { mulberry32, randBytes, randInt } from "../../_helpers/prng.ts";
import {
  PPS_320X240_BASELINE,
  SPS_320X240_BASELINE,
} from "../../fixtures/h264.ts";

/** x264 320x240 Constrained Baseline: SPS and PPS as ffmpeg writes them into avcC. */
const SPS = SPS_320X240_BASELINE;
const PPS = PPS_320X240_BASELINE;
const RECORD = new Uint8Array([
  0x01,
  0x42,
  0xc0,
  0x0d,
  0xff,
  0xe1,
  0x00,
  SPS.byteLength,
  ...SPS,
  0x01,
  0x00,
  PPS.byteLength,
  ...PPS,
]);

Deno.test("decodeAvcDecoderConfig() reads a literal record", () => {
  assert.deepEqual(decodeAvcDecoderConfig(RECORD), {
    profileIndication: 0x42,
    profileCompatibility: 0xc0,
    levelIndication: 0x0d,
    naluLengthSize: 4,
    sps: [SPS],
    pps: [PPS],
    extension: new Uint8Array(0),
  });
});

Deno.test("encodeAvcDecoderConfig() writes the literal record", () => {
  assert.deepEqual(
    encodeAvcDecoderConfig(decodeAvcDecoderConfig(RECORD)),
    RECORD,
  );
});

Deno.test("decodeAvcDecoderConfig() keeps the High-profile extension bytes", () => {
  const withExt = new Uint8Array([...RECORD, 0xfd, 0xf8, 0xf8, 0x00]);
  const config = decodeAvcDecoderConfig(withExt);
  assert.deepEqual(config.extension, new Uint8Array([0xfd, 0xf8, 0xf8, 0x00]));
  assert.deepEqual(encodeAvcDecoderConfig(config), withExt);
});

Deno.test("decodeAvcDecoderConfig() rejects a bad version, length size 3 and truncation", () => {
  const cases: [Uint8Array, string][] = [
    [new Uint8Array([0, ...RECORD.subarray(1)]), H264ErrorCode.BadConfig],
    [
      new Uint8Array([1, 0x42, 0xc0, 0x0d, 0xfe, 0xe0, 0]),
      H264ErrorCode.BadConfig,
    ],
    [RECORD.subarray(0, 5), H264ErrorCode.Truncated],
    [RECORD.subarray(0, 10), H264ErrorCode.Truncated],
    [RECORD.subarray(0, 8 + SPS.byteLength), H264ErrorCode.Truncated],
    [RECORD.subarray(0, RECORD.byteLength - 1), H264ErrorCode.Truncated],
  ];
  for (const [bytes, code] of cases) {
    assert.throws(
      () => decodeAvcDecoderConfig(bytes),
      (e) => e instanceof H264FormatError && e.code === code,
    );
  }
});

Deno.test("decodeAvcDecoderConfig() fuzz: only H264FormatError or a record that re-encodes", () => {
  const rand = mulberry32(0xa7c);
  const inputs: Uint8Array[] = [];
  for (let i = 0; i < 500; i++) inputs.push(randBytes(rand, randInt(rand, 64)));
  for (let i = 0; i < 500; i++) {
    inputs.push(RECORD.subarray(0, randInt(rand, RECORD.byteLength + 1)));
  }
  for (let i = 0; i < 700; i++) {
    const m = RECORD.slice();
    for (let k = 1 + randInt(rand, 3); k > 0; k--) {
      const at = randInt(rand, m.byteLength);
      m[at] = m[at]! ^ (1 << randInt(rand, 8));
    }
    inputs.push(m);
  }
  for (let i = 0; i < 300; i++) {
    // Huge SPS/PPS counts and lengths.
    const m = RECORD.slice();
    m[5] = 0xe0 | randInt(rand, 32);
    m[6] = 0xff;
    m[7] = randInt(rand, 256);
    inputs.push(m);
  }
  let ok = 0;
  for (const input of inputs) {
    try {
      const config = decodeAvcDecoderConfig(input);
      const again = encodeAvcDecoderConfig(config);
      // Reserved bits are normalised on encode; the fields must survive.
      const back = decodeAvcDecoderConfig(again);
      assert.deepEqual(back.sps, config.sps);
      assert.deepEqual(back.pps, config.pps);
      assert.equal(back.naluLengthSize, config.naluLengthSize);
      ok++;
    } catch (e) {
      assert.ok(e instanceof H264FormatError, `unexpected ${e}`);
    }
  }
  assert.equal(inputs.length, 2000);
  assert.ok(ok > 0);
});
