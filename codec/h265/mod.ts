/**
 * H.265/HEVC helpers for ingest: NAL unit types, the HEVCDecoderConfigurationRecord (`hvcC`)
 * that Enhanced RTMP's `hvc1` sequence start carries, and the few SPS fields it repeats.
 *
 * Written in-house for the same reason as codec/h264: a few hundred lines on the ingest path
 * (SRT's MPEG-TS, RTSP's RTP) that npm offers only inside browser demuxers or decoders.
 *
 * @example
 * ```ts
 * import { hevcNaluType, HevcNaluType } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(hevcNaluType(new Uint8Array([0x42, 0x01])), HevcNaluType.Sps);
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./nalu.ts";
export * from "./sps.ts";
export * from "./hvcc.ts";
