import assert from "node:assert/strict";
import {
  AacErrorCode,
  AacFormatError,
  buildAdtsFrame,
  decodeAdtsHeader,
  encodeAdtsHeader,
} from "../../../codec/aac/mod.ts";

/** [config, raw length, header bytes]; the first is what `ffmpeg -f lavfi -i sine -c:a aac -f adts` writes. */
const FIXTURES = [
  [{ objectType: 2, samplingFrequencyIndex: 4, channelConfiguration: 1 }, 258, [
    0xff,
    0xf1,
    0x50,
    0x40,
    0x21,
    0x3f,
    0xfc,
  ]],
  [{ objectType: 2, samplingFrequencyIndex: 4, channelConfiguration: 2 }, 100, [
    0xff,
    0xf1,
    0x50,
    0x80,
    0x0d,
    0x7f,
    0xfc,
  ]],
  [
    { objectType: 2, samplingFrequencyIndex: 3, channelConfiguration: 6 },
    8184,
    [0xff, 0xf1, 0x4d, 0x83, 0xff, 0xff, 0xfc],
  ],
] as const;

Deno.test("encodeAdtsHeader() writes known bytes", () => {
  for (const [config, raw, bytes] of FIXTURES) {
    assert.deepEqual(encodeAdtsHeader(config, raw), new Uint8Array(bytes));
  }
});

Deno.test("decodeAdtsHeader() reads known bytes", () => {
  for (const [config, raw, bytes] of FIXTURES) {
    assert.deepEqual(decodeAdtsHeader(new Uint8Array(bytes)), {
      ...config,
      frameBytes: raw + 7,
      headerBytes: 7,
    });
  }
  assert.equal(decodeAdtsHeader(new Uint8Array(6)), undefined);
});

Deno.test("buildAdtsFrame() prefixes the raw frame in one buffer", () => {
  const frame = buildAdtsFrame(FIXTURES[1][0], new Uint8Array(100).fill(9));
  assert.deepEqual(frame.subarray(0, 7), new Uint8Array(FIXTURES[1][2]));
  assert.equal(frame.byteLength, 107);
  assert.equal(frame[106], 9);
});

Deno.test("encodeAdtsHeader() rejects what ADTS cannot express", () => {
  const bad = [
    [{ objectType: 5, samplingFrequencyIndex: 4, channelConfiguration: 2 }, 10],
    [
      { objectType: 2, samplingFrequencyIndex: 15, channelConfiguration: 2 },
      10,
    ],
    [{ objectType: 2, samplingFrequencyIndex: 4, channelConfiguration: 8 }, 10],
    [
      { objectType: 2, samplingFrequencyIndex: 4, channelConfiguration: 2 },
      8185,
    ],
  ] as const;
  for (const [config, raw] of bad) {
    assert.throws(
      () => encodeAdtsHeader(config, raw),
      (e) => e instanceof AacFormatError && e.code === AacErrorCode.Unsupported,
    );
  }
  assert.throws(
    () => decodeAdtsHeader(new Uint8Array([0xff, 0xf7, 0, 0, 0, 0, 0])),
    AacFormatError,
  );
});
