/**
 * H.264 NAL unit framing: AVCC (length-prefixed, as in FLV/MP4) to Annex B (start codes, as
 * in MPEG-TS), and access unit assembly for TS muxing.
 *
 * @module
 */

import { H264ErrorCode, H264FormatError } from "./errors.ts";

/** nal_unit_type values we act on (ITU-T H.264 Table 7-1). */
export const NaluType = {
  Slice: 1,
  SliceDataA: 2,
  Idr: 5,
  Sei: 6,
  Sps: 7,
  Pps: 8,
  Aud: 9,
  EndOfSequence: 10,
  EndOfStream: 11,
  Filler: 12,
} as const;

/** The four-byte Annex B start code (H.264 §B.1.1, zero_byte + start_code_prefix_one_3bytes). */
export const ANNEX_B_START_CODE: Uint8Array = new Uint8Array([0, 0, 0, 1]);

/**
 * Access unit delimiter NALU: nal_unit_type 9, primary_pic_type 7 ("any slice type"), then
 * rbsp_trailing_bits (H.264 §7.3.2.4). Apple's HLS authoring spec requires one per AU.
 */
export const AUD_NALU: Uint8Array = new Uint8Array([0x09, 0xf0]);

/**
 * The nal_unit_type of a NALU (low five bits of its first byte).
 *
 * @param nalu A NALU without length prefix or start code.
 * @returns The type, or -1 for an empty NALU.
 *
 * @example
 * ```ts
 * import { naluType } from "./nalu.ts";
 * import assert from "node:assert/strict";
 * assert.equal(naluType(new Uint8Array([0x65, 0x88])), 5); // IDR slice
 * ```
 */
export function naluType(nalu: Uint8Array): number {
  return nalu.byteLength === 0 ? -1 : nalu[0]! & 0x1f;
}

/**
 * Splits an AVCC sample (NALUs each preceded by a big-endian length) into NALUs.
 *
 * @param data The sample (FLV AVC NALU payload).
 * @param lengthSize Size of each length prefix from the decoder config: 1, 2 or 4.
 * @returns Views into `data`; empty NALUs are dropped.
 * @throws {H264FormatError} `H264_TRUNCATED` if a length runs past the end.
 *
 * @example
 * ```ts
 * import { splitAvccNalus } from "./nalu.ts";
 * import assert from "node:assert/strict";
 * const nalus = splitAvccNalus(new Uint8Array([0, 0, 0, 2, 0x09, 0xf0, 0, 0, 0, 1, 0x65]), 4);
 * assert.deepEqual(nalus, [new Uint8Array([0x09, 0xf0]), new Uint8Array([0x65])]);
 * ```
 */
export function splitAvccNalus(
  data: Uint8Array,
  lengthSize: number,
): Uint8Array[] {
  const nalus: Uint8Array[] = [];
  let offset = 0;
  while (offset < data.byteLength) {
    if (offset + lengthSize > data.byteLength) {
      throw new H264FormatError(
        H264ErrorCode.Truncated,
        `Cannot split AVCC sample: NALU length at offset ${offset} needs ${lengthSize} bytes, got ${
          data.byteLength - offset
        }`,
      );
    }
    let length = 0;
    for (let i = 0; i < lengthSize; i++) {
      length = length * 256 + data[offset + i]!;
    }
    offset += lengthSize;
    if (offset + length > data.byteLength) {
      throw new H264FormatError(
        H264ErrorCode.Truncated,
        `Cannot split AVCC sample: NALU at offset ${offset} needs ${length} bytes, got ${
          data.byteLength - offset
        }`,
      );
    }
    if (length > 0) nalus.push(data.subarray(offset, offset + length));
    offset += length;
  }
  return nalus;
}

/**
 * Joins NALUs into an Annex B byte stream, each preceded by a four-byte start code.
 *
 * @param nalus NALUs without prefixes.
 * @returns One new buffer.
 *
 * @example
 * ```ts
 * import { joinAnnexB } from "./nalu.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(joinAnnexB([new Uint8Array([0x65, 1])]), new Uint8Array([0, 0, 0, 1, 0x65, 1]));
 * ```
 */
export function joinAnnexB(nalus: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const n of nalus) size += ANNEX_B_START_CODE.byteLength + n.byteLength;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const n of nalus) {
    out.set(ANNEX_B_START_CODE, offset);
    out.set(n, offset + ANNEX_B_START_CODE.byteLength);
    offset += ANNEX_B_START_CODE.byteLength + n.byteLength;
  }
  return out;
}

/**
 * Converts an AVCC sample to Annex B.
 *
 * @param data The AVCC sample.
 * @param lengthSize Size of each length prefix: 1, 2 or 4.
 * @returns The Annex B bytes.
 * @throws {H264FormatError} `H264_TRUNCATED` as {@link splitAvccNalus}.
 *
 * @example
 * ```ts
 * import { avccToAnnexB } from "./nalu.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(avccToAnnexB(new Uint8Array([0, 1, 0x41]), 2), new Uint8Array([0, 0, 0, 1, 0x41]));
 * ```
 */
export function avccToAnnexB(data: Uint8Array, lengthSize: number): Uint8Array {
  return joinAnnexB(splitAvccNalus(data, lengthSize));
}

/**
 * Splits an Annex B byte stream (MPEG-TS video) into NALUs at its start codes
 * (`00 00 01` or `00 00 00 01`, H.264 §B.1.1); trailing zero bytes of a NALU are dropped.
 *
 * @param data Annex B bytes (an access unit).
 * @returns Views into `data`; bytes before the first start code are not a NALU and are skipped.
 *
 * @example
 * ```ts
 * import { splitAnnexB } from "./nalu.ts";
 * import assert from "node:assert/strict";
 * const nalus = splitAnnexB(new Uint8Array([0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x65, 0x88, 0]));
 * assert.deepEqual(nalus, [new Uint8Array([0x09, 0xf0]), new Uint8Array([0x65, 0x88])]);
 * ```
 */
export function splitAnnexB(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = -1;
  const n = data.byteLength;
  for (let i = 0; i + 2 < n; i++) {
    // A start code: 0x000001 (a zero before it belongs to the code, not the NALU).
    if (data[i] !== 0 || data[i + 1] !== 0 || data[i + 2] !== 1) continue;
    if (start >= 0) push(start, i);
    start = i + 3;
    i += 2;
  }
  if (start >= 0) push(start, n);
  return out;

  function push(from: number, to: number): void {
    let end = to;
    while (end > from && data[end - 1] === 0) end--;
    if (end > from) out.push(data.subarray(from, end));
  }
}

/** SPS and PPS to repeat in front of IDR pictures. */
export interface ParameterSets {
  readonly sps: readonly Uint8Array[];
  readonly pps: readonly Uint8Array[];
}

/**
 * Builds the Annex B access unit that one TS video PES carries: an AUD first (added if the
 * AU has none), then, if the AU holds an IDR slice but no SPS, the SPS and PPS (so that each
 * HLS segment, which starts at an IDR, decodes on its own), then the AU's NALUs.
 *
 * H.264 §7.4.1.2.3 fixes this order: AUD first, parameter sets before the first VCL NALU.
 *
 * @param nalus The access unit's NALUs, in decoding order, without prefixes.
 * @param parameterSets SPS/PPS from the AVC sequence header, if known.
 * @returns One new buffer.
 *
 * @example
 * ```ts
 * import { buildAnnexBAccessUnit } from "./nalu.ts";
 * import assert from "node:assert/strict";
 * const au = buildAnnexBAccessUnit([new Uint8Array([0x65, 0x88])], {
 *   sps: [new Uint8Array([0x67])], pps: [new Uint8Array([0x68])],
 * });
 * assert.deepEqual(au, new Uint8Array([
 *   0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x67, 0, 0, 0, 1, 0x68, 0, 0, 0, 1, 0x65, 0x88,
 * ]));
 * ```
 */
export function buildAnnexBAccessUnit(
  nalus: readonly Uint8Array[],
  parameterSets?: ParameterSets,
): Uint8Array {
  let hasAud = false;
  let hasIdr = false;
  let hasSps = false;
  for (const n of nalus) {
    const type = naluType(n);
    if (type === NaluType.Aud) hasAud = true;
    else if (type === NaluType.Idr) hasIdr = true;
    else if (type === NaluType.Sps) hasSps = true;
  }
  const out: Uint8Array[] = [];
  if (!hasAud) out.push(AUD_NALU);
  if (hasAud) {
    // Keep an existing AUD first, whatever its position in the sample.
    for (const n of nalus) if (naluType(n) === NaluType.Aud) out.push(n);
  }
  if (hasIdr && !hasSps && parameterSets) {
    out.push(...parameterSets.sps, ...parameterSets.pps);
  }
  for (const n of nalus) if (naluType(n) !== NaluType.Aud) out.push(n);
  return joinAnnexB(out);
}
