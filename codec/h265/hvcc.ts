/**
 * HEVCDecoderConfigurationRecord, the `hvcC` body that Enhanced RTMP's `hvc1` SequenceStart
 * carries (ISO/IEC 14496-15 §8.3.3.1), built from the VPS/SPS/PPS of an Annex B or RTP stream.
 *
 * @module
 */

import { H265ErrorCode, H265FormatError } from "./errors.ts";
import { HevcNaluType, hevcNaluType } from "./nalu.ts";
import { parseHevcSps } from "./sps.ts";

/** configurationVersion of every edition of ISO/IEC 14496-15. */
export const HVCC_CONFIGURATION_VERSION = 1;
/** Bytes before the NAL unit arrays. */
export const HVCC_HEADER_BYTES = 23;
/** Each NAL unit in the record has a 16-bit length. */
export const MAX_HVCC_NALU_BYTES = 0xffff;

/** The parts of a record we read and write. */
export interface HevcDecoderConfig {
  /** The 12 bytes of general_profile_tier_level (profile space/tier/idc .. level_idc). */
  readonly generalProfileTierLevel: Uint8Array;
  readonly chromaFormatIdc: number;
  readonly bitDepthLumaMinus8: number;
  readonly bitDepthChromaMinus8: number;
  /** Size of the NALU length prefix in samples. */
  readonly naluLengthSize: 1 | 2 | 4;
  readonly vps: readonly Uint8Array[];
  readonly sps: readonly Uint8Array[];
  readonly pps: readonly Uint8Array[];
}

function bad(why: string): H265FormatError {
  return new H265FormatError(
    H265ErrorCode.BadConfig,
    `Cannot decode HEVCDecoderConfigurationRecord: ${why}`,
  );
}

/**
 * Decodes a record; only the VPS, SPS and PPS arrays and the fields above are kept.
 *
 * @throws {H265FormatError} `H265_BAD_CONFIG` for a wrong version or lengths past the end.
 *
 * @example
 * ```ts
 * import { decodeHevcDecoderConfig, encodeHevcDecoderConfig } from "./hvcc.ts";
 * import assert from "node:assert/strict";
 * const record = encodeHevcDecoderConfig({
 *   generalProfileTierLevel: new Uint8Array(12), chromaFormatIdc: 1, bitDepthLumaMinus8: 0,
 *   bitDepthChromaMinus8: 0, naluLengthSize: 4, vps: [new Uint8Array([0x40, 1])],
 *   sps: [new Uint8Array([0x42, 1])], pps: [new Uint8Array([0x44, 1])],
 * });
 * assert.deepEqual(decodeHevcDecoderConfig(record).pps, [new Uint8Array([0x44, 1])]);
 * ```
 */
export function decodeHevcDecoderConfig(bytes: Uint8Array): HevcDecoderConfig {
  if (bytes.byteLength < HVCC_HEADER_BYTES) {
    throw bad(
      `header needs ${HVCC_HEADER_BYTES} bytes, got ${bytes.byteLength}`,
    );
  }
  if (bytes[0] !== HVCC_CONFIGURATION_VERSION) {
    throw bad(`configurationVersion must be 1, got ${bytes[0]}`);
  }
  const lengthSizeMinusOne = bytes[21]! & 0x03;
  if (lengthSizeMinusOne === 2) {
    throw bad("lengthSizeMinusOne must be 0, 1 or 3, got 2");
  }
  const sets: Record<number, Uint8Array[]> = {
    [HevcNaluType.Vps]: [],
    [HevcNaluType.Sps]: [],
    [HevcNaluType.Pps]: [],
  };
  let o = HVCC_HEADER_BYTES;
  const arrays = bytes[22]!;
  for (let a = 0; a < arrays; a++) {
    if (o + 3 > bytes.byteLength) throw bad(`array ${a} header is truncated`);
    const type = bytes[o]! & 0x3f;
    const count = (bytes[o + 1]! << 8) | bytes[o + 2]!;
    o += 3;
    for (let i = 0; i < count; i++) {
      if (o + 2 > bytes.byteLength) {
        throw bad(`NAL unit ${i} of array ${a} is truncated`);
      }
      const n = (bytes[o]! << 8) | bytes[o + 1]!;
      o += 2;
      if (o + n > bytes.byteLength) {
        throw bad(
          `NAL unit ${i} of array ${a} needs ${n} bytes, got ${
            bytes.byteLength - o
          }`,
        );
      }
      sets[type]?.push(bytes.subarray(o, o + n));
      o += n;
    }
  }
  return {
    generalProfileTierLevel: bytes.subarray(1, 13),
    chromaFormatIdc: bytes[16]! & 0x03,
    bitDepthLumaMinus8: bytes[17]! & 0x07,
    bitDepthChromaMinus8: bytes[18]! & 0x07,
    naluLengthSize: (lengthSizeMinusOne + 1) as 1 | 2 | 4,
    vps: sets[HevcNaluType.Vps]!,
    sps: sets[HevcNaluType.Sps]!,
    pps: sets[HevcNaluType.Pps]!,
  };
}

/**
 * Encodes a record with one array each of VPS, SPS and PPS (array_completeness 1).
 *
 * @throws {H265FormatError} `H265_BAD_VALUE` for a profile_tier_level that is not 12 bytes or
 *   a NAL unit over 65535 bytes.
 */
export function encodeHevcDecoderConfig(config: HevcDecoderConfig): Uint8Array {
  if (config.generalProfileTierLevel.byteLength !== 12) {
    throw new H265FormatError(
      H265ErrorCode.BadValue,
      `Cannot encode HEVCDecoderConfigurationRecord: profile_tier_level must be 12 bytes, got ${config.generalProfileTierLevel.byteLength}`,
    );
  }
  const arrays = [
    [HevcNaluType.Vps, config.vps],
    [HevcNaluType.Sps, config.sps],
    [HevcNaluType.Pps, config.pps],
  ] as const;
  let size = HVCC_HEADER_BYTES;
  for (const [, list] of arrays) {
    size += 3;
    for (const n of list) {
      if (n.byteLength > MAX_HVCC_NALU_BYTES) {
        throw new H265FormatError(
          H265ErrorCode.BadValue,
          `Cannot encode HEVCDecoderConfigurationRecord: NAL unit must be at most ${MAX_HVCC_NALU_BYTES} bytes, got ${n.byteLength}`,
        );
      }
      size += 2 + n.byteLength;
    }
  }
  const out = new Uint8Array(size);
  out[0] = HVCC_CONFIGURATION_VERSION;
  out.set(config.generalProfileTierLevel, 1);
  out[13] = 0xf0; // reserved '1111', min_spatial_segmentation_idc 0
  out[14] = 0x00;
  out[15] = 0xfc; // reserved '111111', parallelismType 0 (unknown)
  out[16] = 0xfc | (config.chromaFormatIdc & 0x03);
  out[17] = 0xf8 | (config.bitDepthLumaMinus8 & 0x07);
  out[18] = 0xf8 | (config.bitDepthChromaMinus8 & 0x07);
  // avgFrameRate 0 (unspecified); constantFrameRate 0, numTemporalLayers 1, temporalIdNested 1.
  out[21] = (1 << 3) | (1 << 2) | (config.naluLengthSize - 1);
  out[22] = arrays.length;
  let o = HVCC_HEADER_BYTES;
  for (const [type, list] of arrays) {
    out[o] = 0x80 | type; // array_completeness 1
    out[o + 1] = list.length >> 8;
    out[o + 2] = list.length & 0xff;
    o += 3;
    for (const n of list) {
      out[o] = n.byteLength >> 8;
      out[o + 1] = n.byteLength & 0xff;
      out.set(n, o + 2);
      o += 2 + n.byteLength;
    }
  }
  return out;
}

/**
 * Builds the record of a stream from its parameter sets (profile, chroma format and bit depths
 * read from the first SPS), with 4-byte NALU lengths.
 *
 * @throws {H265FormatError} `H265_BAD_SPS` when the SPS cannot be parsed; `H265_BAD_CONFIG`
 *   when a set is missing.
 *
 * @example
 * ```ts ignore
 * const hvcC = buildHevcDecoderConfig({ vps: [vps], sps: [sps], pps: [pps] });
 * ```
 */
export function buildHevcDecoderConfig(
  sets: {
    readonly vps: readonly Uint8Array[];
    readonly sps: readonly Uint8Array[];
    readonly pps: readonly Uint8Array[];
  },
): Uint8Array {
  const sps = sets.sps[0];
  if (!sps || sets.vps.length === 0 || sets.pps.length === 0) {
    throw new H265FormatError(
      H265ErrorCode.BadConfig,
      `Cannot build HEVCDecoderConfigurationRecord: needs a VPS, an SPS and a PPS, got ${sets.vps.length}, ${sets.sps.length} and ${sets.pps.length}`,
    );
  }
  if (hevcNaluType(sps) !== HevcNaluType.Sps) {
    throw new H265FormatError(
      H265ErrorCode.BadSps,
      `Cannot build HEVCDecoderConfigurationRecord: SPS has NAL type ${
        hevcNaluType(sps)
      }`,
    );
  }
  const info = parseHevcSps(sps);
  return encodeHevcDecoderConfig({
    generalProfileTierLevel: info.generalProfileTierLevel,
    chromaFormatIdc: info.chromaFormatIdc,
    bitDepthLumaMinus8: info.bitDepthLumaMinus8,
    bitDepthChromaMinus8: info.bitDepthChromaMinus8,
    naluLengthSize: 4,
    vps: sets.vps,
    sps: sets.sps,
    pps: sets.pps,
  });
}
