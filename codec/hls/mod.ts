/**
 * HLS media playlists (RFC 8216): rendering for the origin's live packager, parsing for
 * tests and the edge; master playlists for adaptive-bitrate sets (origin/transcode). Written
 * in-house: small functions over text, where the npm m3u8 libraries are parser-centric and
 * would add a dependency to the playlist hot path.
 *
 * @example
 * ```ts
 * import { parseMediaPlaylist, renderMediaPlaylist } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const text = renderMediaPlaylist({
 *   mediaSequence: 0, discontinuitySequence: 0, ended: true,
 *   segments: [{ uri: "a.ts", durationSeconds: 1.5 }],
 * });
 * assert.equal(parseMediaPlaylist(text).targetDurationSeconds, 2);
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./playlist.ts";
export * from "./master.ts";
export * from "./ll_playlist.ts";
