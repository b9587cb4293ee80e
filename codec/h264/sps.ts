/**
 * Just enough of the H.264 sequence parameter set (ITU-T H.264 §7.3.2.1.1) to report the
 * coded picture size: profile, level, width and height after cropping.
 *
 * @module
 */

import { H264ErrorCode, H264FormatError } from "./errors.ts";

/**
 * Largest picture side we report (pixels). H.264's largest levels (6.x, Annex A Table A-1)
 * allow 139,264 macroblocks a frame, 8192x4320; a side past twice that is not a picture but a
 * damaged SPS, and is refused rather than reported.
 */
export const MAX_SPS_PICTURE_PIXELS = 16_384;
/** Longest Exp-Golomb prefix we decode; ue(v) values in an SPS fit in 32 bits (§9.1). */
const MAX_EXP_GOLOMB_LEADING_ZEROS = 31;
/** profile_idc values whose SPS carries chroma_format_idc and scaling lists (§7.3.2.1.1). */
const HIGH_PROFILES: ReadonlySet<number> = new Set([
  100,
  110,
  122,
  244,
  44,
  83,
  86,
  118,
  128,
  138,
  139,
  134,
  135,
]);

/** What we read from an SPS. */
export interface SpsInfo {
  readonly profileIdc: number;
  readonly levelIdc: number;
  /** Displayed width in pixels (after frame cropping). */
  readonly width: number;
  /** Displayed height in pixels (after frame cropping). */
  readonly height: number;
}

/** RBSP reader: drops emulation_prevention_three_byte (§7.4.1) while reading bits. */
class RbspBitReader {
  readonly #bytes: Uint8Array;
  #byte = 0;
  #bit = 0;
  #zeros = 0;
  #current = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#load();
  }

  #load(): void {
    let b = this.#bytes[this.#byte];
    // 0x000003 -> the 0x03 is emulation prevention, not data.
    if (this.#zeros >= 2 && b === 0x03) {
      this.#byte++;
      this.#zeros = 0;
      b = this.#bytes[this.#byte];
    }
    if (b === undefined) {
      this.#current = -1;
      return;
    }
    this.#zeros = b === 0 ? this.#zeros + 1 : 0;
    this.#current = b;
  }

  u1(): number {
    if (this.#current < 0) {
      throw new H264FormatError(
        H264ErrorCode.BadSps,
        "Cannot parse SPS: ran out of bits",
      );
    }
    const v = (this.#current >> (7 - this.#bit)) & 1;
    if (++this.#bit === 8) {
      this.#bit = 0;
      this.#byte++;
      this.#load();
    }
    return v;
  }

  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.u1();
    return v;
  }

  ue(): number {
    let zeros = 0;
    while (this.u1() === 0) {
      if (++zeros > MAX_EXP_GOLOMB_LEADING_ZEROS) {
        throw new H264FormatError(
          H264ErrorCode.BadSps,
          `Cannot parse SPS: Exp-Golomb code longer than ${MAX_EXP_GOLOMB_LEADING_ZEROS} leading zeros`,
        );
      }
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }

  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }

  /** ue(v) of a field whose range §7.4.2.1.1 bounds: a value past it is a damaged SPS. */
  ueIn(field: string, max: number): number {
    const v = this.ue();
    if (v > max) {
      throw new H264FormatError(
        H264ErrorCode.BadSps,
        `Cannot parse SPS: ${field} must be 0..${max}, got ${v}`,
      );
    }
    return v;
  }
}

/**
 * Parses profile, level and picture size from an SPS NALU.
 *
 * @param sps The SPS NALU including its one-byte NAL header (type 7).
 * @returns Profile, level and cropped size.
 * @throws {H264FormatError} `H264_BAD_SPS` if the NALU is not an SPS, runs out of bits, has
 *   a field out of its range, or describes no picture of 1..{@link MAX_SPS_PICTURE_PIXELS}
 *   pixels a side.
 *
 * @example
 * ```ts
 * import { parseSps } from "./sps.ts";
 * import assert from "node:assert/strict";
 * // SPS of an x264 1920x1080 High-profile stream (1088 coded lines, 8 cropped).
 * const sps = new Uint8Array([
 *   0x67, 0x64, 0x00, 0x28, 0xac, 0xd9, 0x40, 0x78, 0x02, 0x27, 0xe5, 0xc0, 0x44, 0x00,
 *   0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xc8, 0x3c, 0x60, 0xc6, 0x58,
 * ]);
 * assert.deepEqual(parseSps(sps), { profileIdc: 100, levelIdc: 40, width: 1920, height: 1080 });
 * ```
 */
export function parseSps(sps: Uint8Array): SpsInfo {
  if (sps.byteLength < 4 || (sps[0]! & 0x1f) !== 7) {
    throw new H264FormatError(
      H264ErrorCode.BadSps,
      `Cannot parse SPS: expected NAL type 7 and at least 4 bytes, got ${sps.byteLength} bytes`,
    );
  }
  const profileIdc = sps[1]!;
  const levelIdc = sps[3]!;
  const r = new RbspBitReader(sps.subarray(4));
  // Ranges of §7.4.2.1.1 where a wrong value would make a wrong size or a long loop.
  r.ueIn("seq_parameter_set_id", 31);
  let chromaFormatIdc = 1;
  let separateColourPlane = 0;
  if (HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = r.ueIn("chroma_format_idc", 3);
    if (chromaFormatIdc === 3) separateColourPlane = r.u1();
    r.ueIn("bit_depth_luma_minus8", 6);
    r.ueIn("bit_depth_chroma_minus8", 6);
    r.u1(); // qpprime_y_zero_transform_bypass_flag
    if (r.u1()) { // seq_scaling_matrix_present_flag
      const lists = chromaFormatIdc !== 3 ? 8 : 12;
      for (let i = 0; i < lists; i++) {
        if (r.u1()) skipScalingList(r, i < 6 ? 16 : 64);
      }
    }
  }
  r.ueIn("log2_max_frame_num_minus4", 12);
  const picOrderCntType = r.ueIn("pic_order_cnt_type", 2);
  if (picOrderCntType === 0) {
    r.ueIn("log2_max_pic_order_cnt_lsb_minus4", 12);
  } else if (picOrderCntType === 1) {
    r.u1(); // delta_pic_order_always_zero_flag
    r.se(); // offset_for_non_ref_pic
    r.se(); // offset_for_top_to_bottom_field
    const cycle = r.ueIn("num_ref_frames_in_pic_order_cnt_cycle", 255);
    for (let i = 0; i < cycle; i++) r.se();
  }
  r.ue(); // max_num_ref_frames
  r.u1(); // gaps_in_frame_num_value_allowed_flag
  const maxMbs = MAX_SPS_PICTURE_PIXELS / 16;
  const widthInMbs = r.ueIn("pic_width_in_mbs_minus1", maxMbs - 1) + 1;
  const heightInMapUnits =
    r.ueIn("pic_height_in_map_units_minus1", maxMbs - 1) + 1;
  const frameMbsOnly = r.u1();
  if (!frameMbsOnly) r.u1(); // mb_adaptive_frame_field_flag
  r.u1(); // direct_8x8_inference_flag
  const crop = { left: 0, right: 0, top: 0, bottom: 0 };
  if (r.u1()) { // frame_cropping_flag
    crop.left = r.ue();
    crop.right = r.ue();
    crop.top = r.ue();
    crop.bottom = r.ue();
  }
  // §7.4.2.1.1, equations 7-19 .. 7-22 (CropUnitX / CropUnitY).
  const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
  const subWidthC = chromaArrayType === 3 ? 1 : 2;
  const subHeightC = chromaArrayType === 1 ? 2 : 1;
  const cropUnitX = chromaArrayType === 0 ? 1 : subWidthC;
  const cropUnitY = (chromaArrayType === 0 ? 1 : subHeightC) *
    (2 - frameMbsOnly);
  const width = widthInMbs * 16 - (crop.left + crop.right) * cropUnitX;
  const height = (2 - frameMbsOnly) * heightInMapUnits * 16 -
    (crop.top + crop.bottom) * cropUnitY;
  // §7.4.2.1.1: the cropping window lies inside the coded frame; a field-coded frame of the
  // largest height in map units would pass the bound twice over.
  if (
    width < 1 || height < 1 || height > MAX_SPS_PICTURE_PIXELS
  ) {
    throw new H264FormatError(
      H264ErrorCode.BadSps,
      `Cannot parse SPS: the picture after cropping must be 1..${MAX_SPS_PICTURE_PIXELS} pixels a side, got ${width}x${height}`,
    );
  }
  return { profileIdc, levelIdc, width, height };
}

/** scaling_list() (§7.3.2.1.1.1): we only need to step over it. */
function skipScalingList(r: RbspBitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/**
 * The ids a parameter set declares (H.264 §7.3.2.1.1, §7.3.2.2): an SPS's
 * `seq_parameter_set_id`; a PPS's `pic_parameter_set_id` and the SPS it refers to. Two streams
 * whose ids differ can share one decoder configuration (a frame-exact clip splices re-encoded
 * frames, with parameter sets of their own, between copied ones).
 *
 * @param nalu An SPS (type 7) or PPS (type 8) NALU with its header byte.
 * @throws {H264FormatError} `H264_BAD_SPS` for another type or too few bits.
 *
 * @example
 * ```ts
 * import { parameterSetIds } from "./sps.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parameterSetIds(new Uint8Array([0x67, 0x64, 0x00, 0x28, 0xac])), { sps: 0 });
 * assert.deepEqual(parameterSetIds(new Uint8Array([0x68, 0x58])), { pps: 1, sps: 0 }); // ue(v) 010, then 1
 * ```
 */
export function parameterSetIds(
  nalu: Uint8Array,
): { readonly sps: number; readonly pps?: number } {
  const type = (nalu[0] ?? 0) & 0x1f;
  if (type === 7 && nalu.byteLength >= 5) {
    return { sps: new RbspBitReader(nalu.subarray(4)).ue() };
  }
  if (type === 8 && nalu.byteLength >= 2) {
    const r = new RbspBitReader(nalu.subarray(1));
    const pps = r.ue();
    return { pps, sps: r.ue() };
  }
  throw new H264FormatError(
    H264ErrorCode.BadSps,
    `Cannot read parameter set ids: expected an SPS or PPS NALU, got type ${type} of ${nalu.byteLength} bytes`,
  );
}
