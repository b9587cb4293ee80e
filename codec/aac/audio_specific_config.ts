/**
 * AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1), the AAC sequence header in FLV/RTMP.
 *
 * @module
 */

import { AacErrorCode, AacFormatError } from "./errors.ts";

/** samplingFrequencyIndex to Hz (ISO/IEC 14496-3 Table 1.18); 13 and 14 are reserved. */
export const SAMPLING_FREQUENCIES_HZ: readonly number[] = [
  96000,
  88200,
  64000,
  48000,
  44100,
  32000,
  24000,
  22050,
  16000,
  12000,
  11025,
  8000,
  7350,
];

/** samplingFrequencyIndex 15 means a 24-bit explicit frequency follows. */
const EXPLICIT_FREQUENCY_INDEX = 15;
/** audioObjectType 31 means a 6-bit extension follows (type = 32 + extension). */
const ESCAPE_OBJECT_TYPE = 31;

/** audioObjectType values we name (ISO/IEC 14496-3 Table 1.17). */
export const AudioObjectType = {
  AacMain: 1,
  AacLc: 2,
  AacSsr: 3,
  AacLtp: 4,
  /** SBR: HE-AAC; the core object type follows (explicit hierarchical signalling). */
  Sbr: 5,
  /** PS: HE-AAC v2. */
  Ps: 29,
} as const;

/** Samples per AAC frame for the usual 1024-sample frame length (frameLengthFlag 0). */
export const AAC_SAMPLES_PER_FRAME = 1024;

/** The decoded configuration. For HE-AAC, the core (AAC LC) layer is described. */
export interface AudioSpecificConfig {
  /** Core audioObjectType: 2 for AAC LC, also for HE-AAC whose SBR is signalled explicitly. */
  readonly objectType: number;
  /** Core samplingFrequencyIndex, or 15 when the frequency was explicit. */
  readonly samplingFrequencyIndex: number;
  /** Core sampling rate in Hz (the rate AAC frames of 1024 samples are counted in). */
  readonly sampleRateHz: number;
  /** channelConfiguration (0 = defined in the stream, 1..7 fixed layouts). */
  readonly channelConfiguration: number;
  /** True when the config explicitly signals SBR or PS (HE-AAC v1/v2). */
  readonly sbr: boolean;
}

class BitReader {
  #bit = 0;
  constructor(readonly bytes: Uint8Array) {}

  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.bytes[this.#bit >> 3];
      if (byte === undefined) {
        throw new AacFormatError(
          AacErrorCode.BadConfig,
          `Cannot decode AudioSpecificConfig: needs more than ${this.bytes.byteLength} bytes`,
        );
      }
      v = v * 2 + ((byte >> (7 - (this.#bit & 7))) & 1);
      this.#bit++;
    }
    return v;
  }
}

function readObjectType(r: BitReader): number {
  const type = r.u(5);
  return type === ESCAPE_OBJECT_TYPE ? 32 + r.u(6) : type;
}

function readFrequency(r: BitReader): { index: number; hz: number } {
  const index = r.u(4);
  if (index === EXPLICIT_FREQUENCY_INDEX) return { index, hz: r.u(24) };
  const hz = SAMPLING_FREQUENCIES_HZ[index];
  if (hz === undefined) {
    throw new AacFormatError(
      AacErrorCode.BadConfig,
      `Cannot decode AudioSpecificConfig: samplingFrequencyIndex ${index} is reserved`,
    );
  }
  return { index, hz };
}

/**
 * Decodes an AudioSpecificConfig (the FLV AAC sequence header payload after `0xAF 0x00`).
 *
 * @param bytes The config, usually 2 bytes (5 for explicit HE-AAC).
 * @returns Object type, rate and channels of the core layer.
 * @throws {AacFormatError} `AAC_BAD_CONFIG` when too short or a reserved index is used.
 *
 * @example
 * ```ts
 * import { decodeAudioSpecificConfig } from "./audio_specific_config.ts";
 * import assert from "node:assert/strict";
 * // 0x12 0x10: AAC LC, 44100 Hz, stereo.
 * assert.deepEqual(decodeAudioSpecificConfig(new Uint8Array([0x12, 0x10])), {
 *   objectType: 2, samplingFrequencyIndex: 4, sampleRateHz: 44100, channelConfiguration: 2,
 *   sbr: false,
 * });
 * ```
 */
export function decodeAudioSpecificConfig(
  bytes: Uint8Array,
): AudioSpecificConfig {
  const r = new BitReader(bytes);
  let objectType = readObjectType(r);
  const frequency = readFrequency(r);
  const channelConfiguration = r.u(4);
  let sbr = false;
  if (objectType === AudioObjectType.Sbr || objectType === AudioObjectType.Ps) {
    // §1.6.2.1: extensionSamplingFrequencyIndex, then the core audioObjectType. The core
    // layer runs at the rate signalled first; the extension rate is the SBR output rate.
    sbr = true;
    readFrequency(r);
    objectType = readObjectType(r);
  }
  if (frequency.hz === 0) {
    throw new AacFormatError(
      AacErrorCode.BadConfig,
      "Cannot decode AudioSpecificConfig: explicit sampling frequency is 0",
    );
  }
  return {
    objectType,
    samplingFrequencyIndex: frequency.index,
    sampleRateHz: frequency.hz,
    channelConfiguration,
    sbr,
  };
}

/**
 * Encodes the two-byte AudioSpecificConfig for a plain (non-SBR) object type.
 *
 * @param config Object type (1..30), sampling frequency index (0..12) and channels (0..15).
 * @returns Two bytes.
 * @throws {AacFormatError} `AAC_UNSUPPORTED` for values that need escapes.
 *
 * @example
 * ```ts
 * import { encodeAudioSpecificConfig } from "./audio_specific_config.ts";
 * import assert from "node:assert/strict";
 * const asc = encodeAudioSpecificConfig({ objectType: 2, samplingFrequencyIndex: 3, channelConfiguration: 1 });
 * assert.deepEqual(asc, new Uint8Array([0x11, 0x88])); // AAC LC, 48 kHz, mono
 * ```
 */
export function encodeAudioSpecificConfig(
  config: Pick<
    AudioSpecificConfig,
    "objectType" | "samplingFrequencyIndex" | "channelConfiguration"
  >,
): Uint8Array {
  const { objectType, samplingFrequencyIndex: sfi, channelConfiguration: ch } =
    config;
  if (
    objectType < 1 || objectType >= ESCAPE_OBJECT_TYPE || sfi < 0 ||
    sfi >= SAMPLING_FREQUENCIES_HZ.length || ch < 0 || ch > 15
  ) {
    throw new AacFormatError(
      AacErrorCode.Unsupported,
      `Cannot encode AudioSpecificConfig: got object type ${objectType}, frequency index ${sfi}, channels ${ch}`,
    );
  }
  return new Uint8Array([
    (objectType << 3) | (sfi >> 1),
    ((sfi & 1) << 7) | (ch << 3),
  ]);
}
