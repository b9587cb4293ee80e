/**
 * Error type of the MPEG-TS codec.
 *
 * @module
 */

import { CodedError } from "../../errors/mod.ts";

/** Stable codes of {@link TsFormatError}. */
export const TsErrorCode = {
  /** A packet does not start with the 0x47 sync byte, or the input is not whole packets. */
  BadSync: "TS_BAD_SYNC",
  /** A PSI section is malformed or fails its CRC32. */
  BadPsi: "TS_BAD_PSI",
  /** A PES packet is malformed (start code, header length). */
  BadPes: "TS_BAD_PES",
  /** A value given to the muxer cannot be encoded (PES too large for audio, bad PID). */
  BadValue: "TS_BAD_VALUE",
} as const;

/** One of the {@link TsErrorCode} values. */
export type TsErrorCodeValue = (typeof TsErrorCode)[keyof typeof TsErrorCode];

/**
 * Malformed MPEG-TS input or an unencodable value.
 *
 * @example
 * ```ts
 * import { TsErrorCode, TsFormatError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new TsFormatError(TsErrorCode.BadSync, "Cannot demux").code, "TS_BAD_SYNC");
 * ```
 */
export class TsFormatError extends CodedError<TsErrorCodeValue> {
  override name = "TsFormatError";
}
