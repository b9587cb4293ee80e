/**
 * Just enough of the H.265 sequence parameter set (ITU-T H.265 §7.3.2.2) to build an `hvcC`
 * and report the picture: general_profile_tier_level, chroma format, bit depths, size.
 *
 * @module
 */

import { H265ErrorCode, H265FormatError } from "./errors.ts";

/** Longest Exp-Golomb prefix we decode (ue(v) in an SPS fits 32 bits). */
const MAX_EXP_GOLOMB_LEADING_ZEROS = 31;
/** Largest picture side we report, pixels (level 6.2 allows 8192x4320). */
export const MAX_HEVC_PICTURE_PIXELS = 16_384;

/** What we read from an SPS. */
export interface HevcSpsInfo {
  /** general_profile_space .. general_level_idc: 12 bytes, as hvcC repeats them. */
  readonly generalProfileTierLevel: Uint8Array;
  readonly profileIdc: number;
  readonly levelIdc: number;
  readonly chromaFormatIdc: number;
  readonly bitDepthLumaMinus8: number;
  readonly bitDepthChromaMinus8: number;
  /** Displayed size (after the conformance window). */
  readonly width: number;
  readonly height: number;
}

/**
 * The RBSP of a NALU: emulation_prevention_three_byte removed (§7.4.2).
 *
 * @example
 * ```ts
 * import { unescapeRbsp } from "./sps.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(unescapeRbsp(new Uint8Array([0, 0, 3, 1])), new Uint8Array([0, 0, 1]));
 * ```
 */
export function unescapeRbsp(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  let n = 0;
  let zeros = 0;
  for (const b of bytes) {
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    zeros = b === 0 ? zeros + 1 : 0;
    out[n++] = b;
  }
  return out.subarray(0, n);
}

class Bits {
  #bit = 0;
  constructor(readonly bytes: Uint8Array) {}
  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.bytes[this.#bit >> 3];
      if (byte === undefined) {
        throw new H265FormatError(
          H265ErrorCode.BadSps,
          "Cannot parse SPS: ran out of bits",
        );
      }
      v = v * 2 + ((byte >> (7 - (this.#bit & 7))) & 1);
      this.#bit++;
    }
    return v;
  }
  ue(field: string, max: number): number {
    let zeros = 0;
    while (this.u(1) === 0) {
      if (++zeros > MAX_EXP_GOLOMB_LEADING_ZEROS) {
        throw new H265FormatError(
          H265ErrorCode.BadSps,
          `Cannot parse SPS: ${field} has an Exp-Golomb code over ${MAX_EXP_GOLOMB_LEADING_ZEROS} leading zeros`,
        );
      }
    }
    const v = 2 ** zeros - 1 + this.u(zeros);
    if (v > max) {
      throw new H265FormatError(
        H265ErrorCode.BadSps,
        `Cannot parse SPS: ${field} must be 0..${max}, got ${v}`,
      );
    }
    return v;
  }
}

/**
 * Parses an SPS NALU (with its two-byte NAL header).
 *
 * @throws {H265FormatError} `H265_BAD_SPS` when it runs out of bits or a field is out of range.
 *
 * @example
 * ```ts
 * import { parseHevcSps } from "./sps.ts";
 * import assert from "node:assert/strict";
 * // The SPS x265 writes for 320x240 Main profile (ffmpeg -c:v libx265).
 * const sps = new Uint8Array([
 *   0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00,
 *   0x03, 0x00, 0x3c, 0xa0, 0x0a, 0x08, 0x0f, 0x16, 0x59, 0x59, 0x52, 0x93, 0x0b, 0xc0, 0x5a,
 * ]);
 * const info = parseHevcSps(sps);
 * assert.deepEqual([info.profileIdc, info.width, info.height, info.chromaFormatIdc], [1, 320, 240, 1]);
 * ```
 */
export function parseHevcSps(sps: Uint8Array): HevcSpsInfo {
  const rbsp = unescapeRbsp(sps.subarray(2));
  if (rbsp.byteLength < 13) {
    throw new H265FormatError(
      H265ErrorCode.BadSps,
      `Cannot parse SPS: needs at least 15 bytes, got ${sps.byteLength}`,
    );
  }
  const r = new Bits(rbsp);
  r.u(4); // sps_video_parameter_set_id
  const maxSubLayersMinus1 = r.u(3);
  r.u(1); // sps_temporal_id_nesting_flag
  const ptl = rbsp.slice(1, 13);
  r.u(96); // general_profile_tier_level: 2+1+5+32+48+8 bits
  // §7.3.3 profile_tier_level(1, sps_max_sub_layers_minus1): sub-layer flags, then their data.
  const profilePresent: boolean[] = [];
  const levelPresent: boolean[] = [];
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    profilePresent.push(r.u(1) === 1);
    levelPresent.push(r.u(1) === 1);
  }
  if (maxSubLayersMinus1 > 0) {
    for (let i = maxSubLayersMinus1; i < 8; i++) r.u(2); // reserved_zero_2bits
  }
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    if (profilePresent[i]) r.u(88);
    if (levelPresent[i]) r.u(8);
  }
  r.ue("sps_seq_parameter_set_id", 15);
  const chromaFormatIdc = r.ue("chroma_format_idc", 3);
  if (chromaFormatIdc === 3) r.u(1); // separate_colour_plane_flag
  const codedWidth = r.ue("pic_width_in_luma_samples", MAX_HEVC_PICTURE_PIXELS);
  const codedHeight = r.ue(
    "pic_height_in_luma_samples",
    MAX_HEVC_PICTURE_PIXELS,
  );
  let width = codedWidth;
  let height = codedHeight;
  if (r.u(1) === 1) {
    // conformance_window offsets are in chroma units (Table 6-1: SubWidthC, SubHeightC).
    const subW = chromaFormatIdc === 1 || chromaFormatIdc === 2 ? 2 : 1;
    const subH = chromaFormatIdc === 1 ? 2 : 1;
    const l = r.ue("conf_win_left_offset", MAX_HEVC_PICTURE_PIXELS);
    const rt = r.ue("conf_win_right_offset", MAX_HEVC_PICTURE_PIXELS);
    const t = r.ue("conf_win_top_offset", MAX_HEVC_PICTURE_PIXELS);
    const b = r.ue("conf_win_bottom_offset", MAX_HEVC_PICTURE_PIXELS);
    width -= subW * (l + rt);
    height -= subH * (t + b);
  }
  const bitDepthLumaMinus8 = r.ue("bit_depth_luma_minus8", 8);
  const bitDepthChromaMinus8 = r.ue("bit_depth_chroma_minus8", 8);
  if (width < 1 || height < 1) {
    throw new H265FormatError(
      H265ErrorCode.BadSps,
      `Cannot parse SPS: picture must be at least 1x1, got ${width}x${height}`,
    );
  }
  return {
    generalProfileTierLevel: ptl,
    profileIdc: ptl[0]! & 0x1f,
    levelIdc: ptl[11]!,
    chromaFormatIdc,
    bitDepthLumaMinus8,
    bitDepthChromaMinus8,
    width,
    height,
  };
}
