import assert from "node:assert/strict";
import {
  AacFormatError,
  decodeAudioSpecificConfig,
  encodeAudioSpecificConfig,
} from "../../../codec/aac/mod.ts";

Deno.test("decodeAudioSpecificConfig() and encodeAudioSpecificConfig() round-trip literal configs", () => {
  const cases = [
    [[0x12, 0x10], {
      objectType: 2,
      samplingFrequencyIndex: 4,
      sampleRateHz: 44100,
      channelConfiguration: 2,
    }],
    [[0x11, 0x88], {
      objectType: 2,
      samplingFrequencyIndex: 3,
      sampleRateHz: 48000,
      channelConfiguration: 1,
    }],
    [[0x11, 0x90], {
      objectType: 2,
      samplingFrequencyIndex: 3,
      sampleRateHz: 48000,
      channelConfiguration: 2,
    }],
    [[0x13, 0x90], {
      objectType: 2,
      samplingFrequencyIndex: 7,
      sampleRateHz: 22050,
      channelConfiguration: 2,
    }],
  ] as const;
  for (const [bytes, config] of cases) {
    assert.deepEqual(decodeAudioSpecificConfig(new Uint8Array(bytes)), {
      ...config,
      sbr: false,
    });
    assert.deepEqual(encodeAudioSpecificConfig(config), new Uint8Array(bytes));
  }
});

Deno.test("decodeAudioSpecificConfig() reads explicit HE-AAC as its AAC LC core", () => {
  // SBR (5), 24 kHz core (6), stereo, extension 48 kHz (3), core object type 2.
  const bytes = new Uint8Array([0x2b, 0x11, 0x8a, 0x00]);
  assert.deepEqual(decodeAudioSpecificConfig(bytes), {
    objectType: 2,
    samplingFrequencyIndex: 6,
    sampleRateHz: 24000,
    channelConfiguration: 2,
    sbr: true,
  });
});

Deno.test("decodeAudioSpecificConfig() rejects short input and reserved indexes", () => {
  assert.throws(
    () => decodeAudioSpecificConfig(new Uint8Array([0x12])),
    AacFormatError,
  );
  assert.throws(
    () => decodeAudioSpecificConfig(new Uint8Array([0x16, 0x90])),
    AacFormatError,
  ); // index 13
  assert.throws(
    () =>
      encodeAudioSpecificConfig({
        objectType: 31,
        samplingFrequencyIndex: 0,
        channelConfiguration: 0,
      }),
    AacFormatError,
  );
});
