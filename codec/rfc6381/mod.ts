/**
 * RFC 6381 `codecs` strings (`avc1.64001f`, `mp4a.40.2`) built from the real SPS and
 * AudioSpecificConfig of a stream, for HLS master playlists' CODECS attribute (RFC 8216
 * §4.3.4.2). A few lines over bytes the H.264 and AAC codecs already hold, so written here
 * rather than taken from a player library (hls.js and mpegts.js only parse such strings).
 *
 * @example
 * ```ts
 * import { aacCodecsOfConfig, avcCodecsOfSps } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const codecs = [avcCodecsOfSps(new Uint8Array([0x67, 0x4d, 0x40, 0x1e])), aacCodecsOfConfig(new Uint8Array([0x12, 0x10]))];
 * assert.equal(codecs.join(","), "avc1.4d401e,mp4a.40.2");
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./codecs.ts";
