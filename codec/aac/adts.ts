/**
 * ADTS framing (ISO/IEC 13818-7 §6.2 / ISO/IEC 14496-3 §1.A.2): the 7-byte header that makes
 * raw AAC frames self-describing, as MPEG-TS audio streams (stream type 0x0F) require.
 *
 * @module
 */

import { AacErrorCode, AacFormatError } from "./errors.ts";
import { SAMPLING_FREQUENCIES_HZ } from "./audio_specific_config.ts";

/** Size of an ADTS header without CRC (protection_absent = 1). */
export const ADTS_HEADER_BYTES = 7;
/** aac_frame_length is 13 bits and includes the header. */
export const MAX_ADTS_FRAME_BYTES = 0x1fff;
/** adts_buffer_fullness 0x7FF signals a variable-rate stream. */
const VBR_BUFFER_FULLNESS = 0x7ff;
/** The ADTS profile field is 2 bits: object types 1..4 (profile = object type - 1). */
const MAX_ADTS_OBJECT_TYPE = 4;

/** The ADTS header fields we write and read. */
export interface AdtsHeader {
  /** audioObjectType (1..4); written as profile = objectType - 1. */
  readonly objectType: number;
  /** sampling_frequency_index (0..12). */
  readonly samplingFrequencyIndex: number;
  /** channel_configuration (0..7). */
  readonly channelConfiguration: number;
}

/** A decoded ADTS header. */
export interface DecodedAdtsHeader extends AdtsHeader {
  /** aac_frame_length: header (and CRC) plus raw data, in bytes. */
  readonly frameBytes: number;
  /** Header size: 7, or 9 with CRC. */
  readonly headerBytes: number;
}

function validate(config: AdtsHeader, frameBytes: number): void {
  if (
    config.objectType < 1 || config.objectType > MAX_ADTS_OBJECT_TYPE ||
    config.samplingFrequencyIndex < 0 ||
    config.samplingFrequencyIndex >= SAMPLING_FREQUENCIES_HZ.length ||
    config.channelConfiguration < 0 || config.channelConfiguration > 7
  ) {
    throw new AacFormatError(
      AacErrorCode.Unsupported,
      `Cannot encode ADTS header: need object type 1..4, frequency index 0..12, channels 0..7, got ${config.objectType}, ${config.samplingFrequencyIndex}, ${config.channelConfiguration}`,
    );
  }
  if (frameBytes > MAX_ADTS_FRAME_BYTES) {
    throw new AacFormatError(
      AacErrorCode.Unsupported,
      `Cannot encode ADTS header: frame must be at most ${MAX_ADTS_FRAME_BYTES} bytes, got ${frameBytes}`,
    );
  }
}

function writeHeader(
  out: Uint8Array,
  config: AdtsHeader,
  frameBytes: number,
): void {
  const profile = config.objectType - 1;
  const sfi = config.samplingFrequencyIndex;
  const ch = config.channelConfiguration;
  out[0] = 0xff; // syncword 0xFFF ...
  out[1] = 0xf1; // ... ID 0 (MPEG-4), layer 00, protection_absent 1
  out[2] = (profile << 6) | (sfi << 2) | (ch >> 2); // private_bit 0
  out[3] = ((ch & 3) << 6) | (frameBytes >> 11); // original/home/copyright bits 0
  out[4] = (frameBytes >> 3) & 0xff;
  out[5] = ((frameBytes & 7) << 5) | (VBR_BUFFER_FULLNESS >> 6);
  out[6] = (VBR_BUFFER_FULLNESS & 0x3f) << 2; // number_of_raw_data_blocks_in_frame 0
}

/**
 * Encodes the 7-byte ADTS header for one raw AAC frame.
 *
 * @param config Object type, frequency index and channels (from the AudioSpecificConfig).
 * @param rawBytes Size of the raw AAC frame that follows.
 * @returns 7 bytes.
 * @throws {AacFormatError} `AAC_UNSUPPORTED` if the config or length does not fit ADTS.
 *
 * @example
 * ```ts
 * import { encodeAdtsHeader } from "./adts.ts";
 * import assert from "node:assert/strict";
 * // AAC LC, 44.1 kHz, stereo, 100-byte frame: aac_frame_length 107.
 * const h = encodeAdtsHeader({ objectType: 2, samplingFrequencyIndex: 4, channelConfiguration: 2 }, 100);
 * assert.deepEqual(h, new Uint8Array([0xff, 0xf1, 0x50, 0x80, 0x0d, 0x7f, 0xfc]));
 * ```
 */
export function encodeAdtsHeader(
  config: AdtsHeader,
  rawBytes: number,
): Uint8Array {
  const frameBytes = ADTS_HEADER_BYTES + rawBytes;
  validate(config, frameBytes);
  const out = new Uint8Array(ADTS_HEADER_BYTES);
  writeHeader(out, config, frameBytes);
  return out;
}

/**
 * Builds a complete ADTS frame (header + raw frame) in one allocation.
 *
 * @param config Object type, frequency index and channels.
 * @param raw One raw AAC frame (FLV AAC raw payload after `0xAF 0x01`).
 * @returns `7 + raw.byteLength` bytes.
 * @throws {AacFormatError} `AAC_UNSUPPORTED` as {@link encodeAdtsHeader}.
 *
 * @example
 * ```ts
 * import { buildAdtsFrame } from "./adts.ts";
 * import assert from "node:assert/strict";
 * const frame = buildAdtsFrame({ objectType: 2, samplingFrequencyIndex: 3, channelConfiguration: 1 }, new Uint8Array(9));
 * assert.equal(frame.byteLength, 16);
 * ```
 */
export function buildAdtsFrame(
  config: AdtsHeader,
  raw: Uint8Array,
): Uint8Array {
  const frameBytes = ADTS_HEADER_BYTES + raw.byteLength;
  validate(config, frameBytes);
  const out = new Uint8Array(frameBytes);
  writeHeader(out, config, frameBytes);
  out.set(raw, ADTS_HEADER_BYTES);
  return out;
}

/**
 * Decodes an ADTS header.
 *
 * @param bytes Bytes starting at an ADTS frame.
 * @returns The header, or `undefined` if fewer than 7 bytes are available.
 * @throws {AacFormatError} `AAC_BAD_ADTS` for a missing sync word, a non-zero layer, a
 * reserved sampling frequency index (13..15) or a frame length shorter than its header.
 *
 * @example
 * ```ts
 * import { decodeAdtsHeader } from "./adts.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(decodeAdtsHeader(new Uint8Array([0xff, 0xf1, 0x50, 0x80, 0x0d, 0x7f, 0xfc])), {
 *   objectType: 2, samplingFrequencyIndex: 4, channelConfiguration: 2, frameBytes: 107,
 *   headerBytes: 7,
 * });
 * ```
 */
export function decodeAdtsHeader(
  bytes: Uint8Array,
): DecodedAdtsHeader | undefined {
  if (bytes.byteLength < ADTS_HEADER_BYTES) return undefined;
  if (bytes[0] !== 0xff || (bytes[1]! & 0xf6) !== 0xf0) {
    throw new AacFormatError(
      AacErrorCode.BadAdts,
      `Cannot decode ADTS header: expected sync word 0xFFF and layer 0, got 0x${
        ((bytes[0]! << 8) | bytes[1]!).toString(16)
      }`,
    );
  }
  const headerBytes = bytes[1]! & 0x01
    ? ADTS_HEADER_BYTES
    : ADTS_HEADER_BYTES + 2;
  const frameBytes = ((bytes[3]! & 0x03) << 11) | (bytes[4]! << 3) |
    (bytes[5]! >> 5);
  if (frameBytes < headerBytes) {
    throw new AacFormatError(
      AacErrorCode.BadAdts,
      `Cannot decode ADTS header: aac_frame_length must be at least ${headerBytes}, got ${frameBytes}`,
    );
  }
  const samplingFrequencyIndex = (bytes[2]! >> 2) & 0x0f;
  // ISO/IEC 14496-3 Table 1.18: 13 and 14 are reserved, 15 (an explicit frequency) has no
  // room in an ADTS header.
  if (samplingFrequencyIndex >= SAMPLING_FREQUENCIES_HZ.length) {
    throw new AacFormatError(
      AacErrorCode.BadAdts,
      `Cannot decode ADTS header: sampling_frequency_index must be 0..${
        SAMPLING_FREQUENCIES_HZ.length - 1
      }, got ${samplingFrequencyIndex}`,
    );
  }
  return {
    objectType: (bytes[2]! >> 6) + 1,
    samplingFrequencyIndex,
    channelConfiguration: ((bytes[2]! & 0x01) << 2) | (bytes[3]! >> 6),
    frameBytes,
    headerBytes,
  };
}
