/**
 * AAC configuration and ADTS framing, for turning FLV/RTMP AAC (AudioSpecificConfig + raw
 * frames) into the ADTS elementary stream that MPEG-TS and HLS carry.
 *
 * Written in-house: two small bit-level formats on the HLS hot path, with no npm package
 * that is not a browser demuxer.
 *
 * @example
 * ```ts
 * import { buildAdtsFrame, decodeAudioSpecificConfig } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const asc = decodeAudioSpecificConfig(new Uint8Array([0x12, 0x10]));
 * assert.equal(buildAdtsFrame(asc, new Uint8Array(10)).byteLength, 17);
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./audio_specific_config.ts";
export * from "./adts.ts";
