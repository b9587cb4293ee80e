/**
 * H.265 NAL unit header (ITU-T H.265 §7.3.1.2): two bytes, the type in bits 1..6 of the first.
 *
 * @module
 */

/** nal_unit_type values we act on (ITU-T H.265 Table 7-1; 48/49 are RFC 7798's AP and FU). */
export const HevcNaluType = {
  /** BLA_W_LP: the first IRAP type (16..23 are IRAP pictures, random access points). */
  BlaWLp: 16,
  IdrWRadl: 19,
  IdrNLp: 20,
  Cra: 21,
  /** RSV_IRAP_VCL23: the last IRAP type. */
  IrapEnd: 23,
  Vps: 32,
  Sps: 33,
  Pps: 34,
  Aud: 35,
  SeiPrefix: 39,
  /** RFC 7798 §4.4.2 aggregation packet. */
  Ap: 48,
  /** RFC 7798 §4.4.3 fragmentation unit. */
  Fu: 49,
} as const;

/** Bytes of the NAL unit header (§7.3.1.2). */
export const HEVC_NALU_HEADER_BYTES = 2;

/**
 * The nal_unit_type of an H.265 NALU.
 *
 * @param nalu A NALU without length prefix or start code.
 * @returns The type (0..63), or -1 for a NALU shorter than its header.
 *
 * @example
 * ```ts
 * import { hevcNaluType } from "./nalu.ts";
 * import assert from "node:assert/strict";
 * assert.equal(hevcNaluType(new Uint8Array([0x40, 0x01])), 32); // VPS
 * ```
 */
export function hevcNaluType(nalu: Uint8Array): number {
  return nalu.byteLength < HEVC_NALU_HEADER_BYTES ? -1 : (nalu[0]! >> 1) & 0x3f;
}

/**
 * True for an IRAP picture's slice (types 16..23: IDR, CRA, BLA), where decoding can start.
 *
 * @example
 * ```ts
 * import { isHevcIrap } from "./nalu.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isHevcIrap(new Uint8Array([0x26, 0x01])), true); // IDR_W_RADL
 * assert.equal(isHevcIrap(new Uint8Array([0x02, 0x01])), false); // TRAIL_R
 * ```
 */
export function isHevcIrap(nalu: Uint8Array): boolean {
  const t = hevcNaluType(nalu);
  return t >= HevcNaluType.BlaWLp && t <= HevcNaluType.IrapEnd;
}
