/**
 * FLV: file header, tag framing, an incremental reader and tag-body classification.
 *
 * FLV tags are the unit the whole pipeline moves (an RTMP audio/video message payload is an
 * FLV tag body), so this codec sits on every hot path: HTTP-FLV fan-out encodes one tag per
 * message, ingest and VOD read them. We wrote it rather than use a library because the
 * format is small, the npm FLV packages are browser demuxers (mpegts.js, flv.js) built
 * around their own event loops and MSE, and we need zero-copy views, named limits and typed
 * errors that a library does not give us.
 *
 * @example
 * ```ts
 * import { encodeFlvHeader, encodeFlvTag, FlvTagType, readFlvFile } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const header = encodeFlvHeader({ hasAudio: true, hasVideo: true });
 * const tag = encodeFlvTag({ type: FlvTagType.Audio, timestampMs: 0, data: new Uint8Array([0xaf, 0, 0x12, 0x10]) });
 * const file = readFlvFile(new Uint8Array([...header, ...tag]));
 * assert.equal(file.tags.length, 1);
 * ```
 *
 * @module
 */

export * from "./types.ts";
export * from "./errors.ts";
export * from "./header.ts";
export * from "./tag.ts";
export * from "./reader.ts";
export * from "./media_info.ts";
export * from "./index_builder.ts";
export * from "./vod_tags.ts";
export * from "./es_muxer.ts";
export * from "./es_reader.ts";
