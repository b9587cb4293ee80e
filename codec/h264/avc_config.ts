/**
 * AVCDecoderConfigurationRecord, the `avcC` box body that FLV/RTMP carry as the AVC
 * sequence header (ISO/IEC 14496-15 §5.3.3.1).
 *
 * @module
 */

import { H264ErrorCode, H264FormatError } from "./errors.ts";

/** configurationVersion is 1 in every published edition of ISO/IEC 14496-15. */
export const AVC_CONFIGURATION_VERSION = 1;
/** numOfSequenceParameterSets is a 5-bit field (§5.3.3.1.2). */
export const MAX_SPS_COUNT = 31;
/** numOfPictureParameterSets is an 8-bit field. */
export const MAX_PPS_COUNT = 255;
/** Each parameter set has a 16-bit length. */
export const MAX_PARAMETER_SET_BYTES = 0xffff;

/** The decoded record. */
export interface AvcDecoderConfig {
  /** AVCProfileIndication (profile_idc of the SPS). */
  readonly profileIndication: number;
  /** profile_compatibility (the constraint_set flags byte). */
  readonly profileCompatibility: number;
  /** AVCLevelIndication (level_idc). */
  readonly levelIndication: number;
  /** Size of the NALU length prefix in samples: 1, 2 or 4 bytes. */
  readonly naluLengthSize: 1 | 2 | 4;
  /** Sequence parameter set NALUs, without length or start code. */
  readonly sps: readonly Uint8Array[];
  /** Picture parameter set NALUs, without length or start code. */
  readonly pps: readonly Uint8Array[];
  /**
   * Bytes after the PPS list (the High-profile chroma/bit-depth extension), kept verbatim so
   * that the record re-encodes byte for byte.
   */
  readonly extension: Uint8Array;
}

function truncated(what: string, need: number, got: number): H264FormatError {
  return new H264FormatError(
    H264ErrorCode.Truncated,
    `Cannot decode AVCDecoderConfigurationRecord: ${what} needs ${need} bytes, got ${got}`,
  );
}

/**
 * Decodes an AVCDecoderConfigurationRecord.
 *
 * @param bytes The record (the FLV AVC sequence header payload after the 5-byte video header).
 * @returns The profile, level, NALU length size and parameter sets (views into `bytes`).
 * @throws {H264FormatError} `H264_BAD_CONFIG` for a wrong version or the invalid length size
 * 3, `H264_TRUNCATED` when a count or length runs past the end.
 *
 * @example
 * ```ts
 * import { decodeAvcDecoderConfig } from "./avc_config.ts";
 * import assert from "node:assert/strict";
 * const record = new Uint8Array([
 *   1, 0x64, 0, 0x1f, 0xff, // version, High profile, level 3.1, lengthSizeMinusOne = 3
 *   0xe1, 0, 3, 0x67, 0x64, 0x00, // one SPS of 3 bytes
 *   1, 0, 2, 0x68, 0xee, //          one PPS of 2 bytes
 * ]);
 * const config = decodeAvcDecoderConfig(record);
 * assert.equal(config.naluLengthSize, 4);
 * assert.deepEqual(config.sps, [new Uint8Array([0x67, 0x64, 0x00])]);
 * assert.deepEqual(config.pps, [new Uint8Array([0x68, 0xee])]);
 * ```
 */
export function decodeAvcDecoderConfig(bytes: Uint8Array): AvcDecoderConfig {
  if (bytes.byteLength < 6) {
    throw truncated("the fixed header", 6, bytes.byteLength);
  }
  if (bytes[0] !== AVC_CONFIGURATION_VERSION) {
    throw new H264FormatError(
      H264ErrorCode.BadConfig,
      `Cannot decode AVCDecoderConfigurationRecord: configurationVersion must be 1, got ${
        bytes[0]
      }`,
    );
  }
  // bit(6) reserved '111111', unsigned int(2) lengthSizeMinusOne; 3 is not allowed.
  const lengthSizeMinusOne = bytes[4]! & 0x03;
  if (lengthSizeMinusOne === 2) {
    throw new H264FormatError(
      H264ErrorCode.BadConfig,
      "Cannot decode AVCDecoderConfigurationRecord: lengthSizeMinusOne must be 0, 1 or 3, got 2",
    );
  }
  let offset = 6; // after bit(3) reserved, unsigned int(5) numOfSequenceParameterSets
  const readSets = (count: number, what: string): Uint8Array[] => {
    const sets: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      if (offset + 2 > bytes.byteLength) {
        throw truncated(`${what} ${i} length`, 2, bytes.byteLength - offset);
      }
      const length = (bytes[offset]! << 8) | bytes[offset + 1]!;
      offset += 2;
      if (offset + length > bytes.byteLength) {
        throw truncated(`${what} ${i}`, length, bytes.byteLength - offset);
      }
      sets.push(bytes.subarray(offset, offset + length));
      offset += length;
    }
    return sets;
  };
  const sps = readSets(bytes[5]! & 0x1f, "SPS");
  if (offset + 1 > bytes.byteLength) {
    throw truncated("numOfPictureParameterSets", 1, 0);
  }
  const ppsCount = bytes[offset]!;
  offset += 1;
  const pps = readSets(ppsCount, "PPS");
  return {
    profileIndication: bytes[1]!,
    profileCompatibility: bytes[2]!,
    levelIndication: bytes[3]!,
    naluLengthSize: (lengthSizeMinusOne + 1) as 1 | 2 | 4,
    sps,
    pps,
    extension: bytes.subarray(offset),
  };
}

/**
 * Encodes an AVCDecoderConfigurationRecord; the inverse of {@link decodeAvcDecoderConfig}.
 *
 * @param config The record's fields.
 * @returns The record bytes, reserved bits set to 1 as the spec requires.
 * @throws {H264FormatError} `H264_BAD_VALUE` for too many or too large parameter sets.
 *
 * @example
 * ```ts
 * import { decodeAvcDecoderConfig, encodeAvcDecoderConfig } from "./avc_config.ts";
 * import assert from "node:assert/strict";
 * const bytes = encodeAvcDecoderConfig({
 *   profileIndication: 0x42, profileCompatibility: 0xc0, levelIndication: 0x1e,
 *   naluLengthSize: 4, sps: [new Uint8Array([0x67, 0x42])], pps: [new Uint8Array([0x68])],
 *   extension: new Uint8Array(0),
 * });
 * assert.equal(decodeAvcDecoderConfig(bytes).levelIndication, 0x1e);
 * ```
 */
export function encodeAvcDecoderConfig(config: AvcDecoderConfig): Uint8Array {
  if (config.sps.length > MAX_SPS_COUNT || config.pps.length > MAX_PPS_COUNT) {
    throw new H264FormatError(
      H264ErrorCode.BadValue,
      `Cannot encode AVCDecoderConfigurationRecord: at most ${MAX_SPS_COUNT} SPS and ${MAX_PPS_COUNT} PPS, got ${config.sps.length} and ${config.pps.length}`,
    );
  }
  let size = 7 + config.extension.byteLength;
  for (const set of [...config.sps, ...config.pps]) {
    if (set.byteLength > MAX_PARAMETER_SET_BYTES) {
      throw new H264FormatError(
        H264ErrorCode.BadValue,
        `Cannot encode AVCDecoderConfigurationRecord: parameter set must be at most ${MAX_PARAMETER_SET_BYTES} bytes, got ${set.byteLength}`,
      );
    }
    size += 2 + set.byteLength;
  }
  const out = new Uint8Array(size);
  out[0] = AVC_CONFIGURATION_VERSION;
  out[1] = config.profileIndication;
  out[2] = config.profileCompatibility;
  out[3] = config.levelIndication;
  out[4] = 0xfc | (config.naluLengthSize - 1);
  out[5] = 0xe0 | config.sps.length;
  let offset = 6;
  const writeSet = (set: Uint8Array): void => {
    out[offset] = set.byteLength >>> 8;
    out[offset + 1] = set.byteLength & 0xff;
    out.set(set, offset + 2);
    offset += 2 + set.byteLength;
  };
  config.sps.forEach(writeSet);
  out[offset++] = config.pps.length;
  config.pps.forEach(writeSet);
  out.set(config.extension, offset);
  return out;
}
