/**
 * H.264 helpers for repackaging FLV/RTMP video into MPEG-TS: the AVC decoder configuration
 * record, AVCC to Annex B conversion, access unit assembly and SPS size parsing.
 *
 * Written in-house because it is a few hundred lines on the HLS hot path, and the npm H.264
 * parsers are either browser demuxer internals (hls.js, mpegts.js) or decoders.
 *
 * @example
 * ```ts
 * import { buildAnnexBAccessUnit, splitAvccNalus } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const au = buildAnnexBAccessUnit(splitAvccNalus(new Uint8Array([0, 0, 0, 1, 0x41]), 4));
 * assert.deepEqual(au, new Uint8Array([0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x41]));
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./avc_config.ts";
export * from "./nalu.ts";
export * from "./sps.ts";
