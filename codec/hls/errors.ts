/**
 * Error type of the HLS playlist codec.
 *
 * @module
 */

import { CodedError } from "../../errors/mod.ts";

/** Stable codes of {@link PlaylistFormatError}. */
export const PlaylistErrorCode = {
  /** The text does not start with #EXTM3U. */
  MissingHeader: "HLS_MISSING_HEADER",
  /** A tag has a malformed value. */
  BadTag: "HLS_BAD_TAG",
  /** A required tag is missing (EXT-X-TARGETDURATION) or a URI has no EXTINF. */
  MissingTag: "HLS_MISSING_TAG",
  /** A value given to the renderer is out of range. */
  BadValue: "HLS_BAD_VALUE",
  /** An LL-HLS delivery directive (`_HLS_msn`, `_HLS_part`, `_HLS_skip`) is malformed. */
  BadDirective: "HLS_BAD_DIRECTIVE",
} as const;

/** One of the {@link PlaylistErrorCode} values. */
export type PlaylistErrorCodeValue =
  (typeof PlaylistErrorCode)[keyof typeof PlaylistErrorCode];

/**
 * A malformed or unrenderable media playlist.
 *
 * @example
 * ```ts
 * import { PlaylistErrorCode, PlaylistFormatError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new PlaylistFormatError(PlaylistErrorCode.BadTag, "x").code, "HLS_BAD_TAG");
 * ```
 */
export class PlaylistFormatError extends CodedError<PlaylistErrorCodeValue> {
  override name = "PlaylistFormatError";
}
