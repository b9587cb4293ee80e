import assert from "node:assert/strict";
import {
  AacErrorCode,
  AacFormatError,
  buildAdtsFrame,
  decodeAdtsHeader,
  encodeAdtsHeader,
} from "../../../codec/aac/mod.ts";
import { createPrng, mutate, randomBytes } from "../../_helpers/prng.ts";

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

Deno.test("decodeAdtsHeader() refuses a reserved sampling frequency index (found by the fuzz)", () => {
  // 0xFFF1, then profile 1, sampling_frequency_index 15, channels 2: encodeAdtsHeader refuses it.
  assert.throws(
    () =>
      decodeAdtsHeader(
        new Uint8Array([0xff, 0xf1, 0x7c, 0x80, 0x0d, 0x7f, 0xfc]),
      ),
    (e) =>
      e instanceof AacFormatError && e.code === AacErrorCode.BadAdts &&
      /got 15$/.test(e.message),
  );
});

Deno.test("decodeAdtsHeader() fuzz: AacFormatError, undefined for short input, or a header that re-encodes", () => {
  const next = createPrng(0xad75);
  const seeds = FIXTURES.map(([, , bytes]) => new Uint8Array(bytes));
  const inputs: Uint8Array[] = [];
  for (let i = 0; i < 1500; i++) {
    inputs.push(mutate(next, seeds[next() % seeds.length]!));
  }
  // Random headers behind a valid sync word (and layer 0), so every field gets hit.
  for (let i = 0; i < 1500; i++) {
    const b = randomBytes(next, 7 + (next() % 3));
    b[0] = 0xff;
    b[1] = 0xf0 | (b[1]! & 0x09);
    inputs.push(b);
  }
  let decoded = 0;
  for (const input of inputs) {
    let h;
    try {
      h = decodeAdtsHeader(input);
    } catch (e) {
      assert.ok(e instanceof AacFormatError, `${e} for ${input}`);
      continue;
    }
    if (h === undefined) {
      assert.ok(input.byteLength < 7);
      continue;
    }
    decoded++;
    assert.ok(h.frameBytes >= h.headerBytes && h.frameBytes <= 0x1fff);
    // The fields fit ADTS, so they encode again and decode to the same values.
    const again = encodeAdtsHeader(h, h.frameBytes - 7);
    assert.deepEqual(decodeAdtsHeader(again), { ...h, headerBytes: 7 });
  }
  assert.ok(decoded > 500, `only ${decoded} inputs decoded`);
});
