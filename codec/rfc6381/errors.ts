/**
 * Error type of the RFC 6381 codecs-parameter codec.
 *
 * @module
 */

import { CodedError } from "../../errors/mod.ts";

/** Stable codes of {@link CodecsFormatError}. */
export const CodecsErrorCode = {
  /** A value given to a builder is out of its field's range. */
  BadValue: "CODECS_BAD_VALUE",
  /** A codecs string that is not one we build (`avc1.PPCCLL`, `mp4a.40.N`). */
  BadString: "CODECS_BAD_STRING",
} as const;

/** One of the {@link CodecsErrorCode} values. */
export type CodecsErrorCodeValue =
  (typeof CodecsErrorCode)[keyof typeof CodecsErrorCode];

/**
 * A codecs string that cannot be built or read.
 *
 * @example
 * ```ts
 * import { CodecsErrorCode, CodecsFormatError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new CodecsFormatError(CodecsErrorCode.BadValue, "x").code, "CODECS_BAD_VALUE");
 * ```
 */
export class CodecsFormatError extends CodedError<CodecsErrorCodeValue> {
  override name = "CodecsFormatError";
}
