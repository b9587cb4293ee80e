/**
 * Live HLS packaging for the origin: one {@link HlsStream} per app/stream turns the FLV tags
 * the stream hub fans out into MPEG-TS segments and a live media playlist (RFC 8216);
 * {@link HlsPackagers} keeps them per stream key (end of stream, held first requests) and
 * {@link HlsSequenceStore} keeps their numbering across restarts.
 *
 * @example
 * ```ts
 * import { HlsStream } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const hls = new HlsStream({ streamName: "demo", segmentNamePrefix: "x", now: () => 0 });
 * assert.equal(hls.playlist(), undefined); // no segment yet
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./window.ts";
export * from "./segmenter.ts";
export * from "./sequence_store.ts";
export * from "./packagers.ts";
