/**
 * Errors of the AMF0 codec.
 *
 * @module
 */

import { CodedError } from "../../errors/mod.ts";

/** Stable codes of {@link Amf0FormatError}, each with what it means. */
export const Amf0ErrorCode = {
  /** The input ends inside a value. */
  Truncated: "AMF0_TRUNCATED",
  /** A type marker that AMF0 does not define. */
  UnknownMarker: "AMF0_UNKNOWN_MARKER",
  /** A marker AMF0 reserves (MovieClip, RecordSet) or an AMF3 value we do not decode. */
  Unsupported: "AMF0_UNSUPPORTED",
  /** Objects or arrays nested deeper than `AMF0_MAX_DEPTH`. */
  TooDeep: "AMF0_TOO_DEEP",
  /** An object-end marker outside an object. */
  UnexpectedObjectEnd: "AMF0_UNEXPECTED_OBJECT_END",
  /** A length field larger than the bytes left, or than a named limit. */
  TooLong: "AMF0_TOO_LONG",
  /** A JavaScript value with no AMF0 encoding (functions, symbols, bigints, cycles). */
  NotEncodable: "AMF0_NOT_ENCODABLE",
} as const;

/** One of {@link Amf0ErrorCode}'s values. */
export type Amf0ErrorCodeValue =
  (typeof Amf0ErrorCode)[keyof typeof Amf0ErrorCode];

/**
 * Malformed AMF0 input (decode) or a value AMF0 cannot carry (encode).
 *
 * @example
 * ```ts
 * import { Amf0FormatError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const e = new Amf0FormatError("AMF0_TRUNCATED", "Cannot decode AMF0 number: need 8 bytes, got 2");
 * assert.equal(e.code, "AMF0_TRUNCATED");
 * ```
 */
export class Amf0FormatError extends CodedError<Amf0ErrorCodeValue> {
  override name = "Amf0FormatError";
  /** Byte offset in the input where decoding failed, when known. */
  readonly offset: number | undefined;

  constructor(
    code: Amf0ErrorCodeValue,
    message: string,
    options?: { offset?: number; cause?: unknown },
  ) {
    super(
      code,
      message,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.offset = options?.offset;
  }
}
