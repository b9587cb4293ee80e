/**
 * Error type of the MP4 codec.
 *
 * @module
 */

import { CodedError } from "../../errors/mod.ts";

/** Stable codes of {@link Mp4FormatError}, one per way MP4 input can be wrong. */
export const Mp4ErrorCode = {
  /** A box header is cut short, or a box runs past its parent or the file. */
  Truncated: "MP4_TRUNCATED",
  /** A box's size is smaller than its header, or a field holds an impossible value. */
  BadBox: "MP4_BAD_BOX",
  /** The file has no `moov` box (or it could not be found before the end). */
  NoMoov: "MP4_NO_MOOV",
  /** Sample tables disagree with each other (counts, chunk runs). */
  BadSampleTable: "MP4_BAD_SAMPLE_TABLE",
  /** A sample lies past the end of the file. */
  SamplePastEnd: "MP4_SAMPLE_PAST_END",
  /** More than a named limit allows (samples, box bytes, tracks). */
  TooLarge: "MP4_TOO_LARGE",
  /** Valid MP4, but no track we can serve (codec or layout). */
  Unsupported: "MP4_UNSUPPORTED",
} as const;

/** One of the {@link Mp4ErrorCode} values. */
export type Mp4ErrorCodeValue =
  (typeof Mp4ErrorCode)[keyof typeof Mp4ErrorCode];

/**
 * Malformed or unsupported MP4 input.
 *
 * @example
 * ```ts
 * import { Mp4ErrorCode, Mp4FormatError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const e = new Mp4FormatError(Mp4ErrorCode.NoMoov, "Cannot read MP4: no moov box");
 * assert.equal(e.code, "MP4_NO_MOOV");
 * ```
 */
export class Mp4FormatError extends CodedError<Mp4ErrorCodeValue> {
  override name = "Mp4FormatError";
}
