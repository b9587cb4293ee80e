/**
 * The 9-byte FLV file header (FLV spec v10.1 §E.2).
 *
 * @module
 */

import { FlvErrorCode, FlvFormatError } from "./errors.ts";

/** Size of the FLV header as written by every muxer (FLV spec v10.1 §E.2: DataOffset = 9). */
export const FLV_HEADER_BYTES = 9;
/** Size of the PreviousTagSize fields that follow the header and every tag (§E.3). */
export const PREVIOUS_TAG_SIZE_BYTES = 4;
/**
 * Largest DataOffset we accept. Version 1 headers are 9 bytes; anything larger is a future
 * extension we skip, but a bad peer must not make us wait for (or buffer) megabytes.
 */
export const MAX_FLV_HEADER_BYTES = 1024;

/** Type flag bits of the header's fifth byte (§E.2 TypeFlagsAudio / TypeFlagsVideo). */
export const FlvHeaderFlag = { Audio: 0x04, Video: 0x01 } as const;

/** The decoded FLV header. */
export interface FlvHeader {
  /** TypeFlagsAudio: the file announces audio tags. */
  readonly hasAudio: boolean;
  /** TypeFlagsVideo: the file announces video tags. */
  readonly hasVideo: boolean;
  /** DataOffset: size of the header in bytes (9 for version 1). */
  readonly headerBytes: number;
}

const SIGNATURE = [0x46, 0x4c, 0x56] as const; // "FLV"
const FLV_VERSION = 1;

/**
 * Encodes the FLV header followed by PreviousTagSize0, i.e. the 13 bytes that start every
 * `.flv` file and HTTP-FLV response.
 *
 * @param flags Which media the stream announces.
 * @returns 13 bytes: "FLV", version 1, type flags, DataOffset 9, then four zero bytes.
 *
 * @example
 * ```ts
 * import { encodeFlvHeader } from "./header.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(
 *   encodeFlvHeader({ hasAudio: true, hasVideo: true }),
 *   new Uint8Array([0x46, 0x4c, 0x56, 1, 0x05, 0, 0, 0, 9, 0, 0, 0, 0]),
 * );
 * ```
 */
export function encodeFlvHeader(
  flags: { readonly hasAudio: boolean; readonly hasVideo: boolean },
): Uint8Array {
  const out = new Uint8Array(FLV_HEADER_BYTES + PREVIOUS_TAG_SIZE_BYTES);
  out[0] = SIGNATURE[0];
  out[1] = SIGNATURE[1];
  out[2] = SIGNATURE[2];
  out[3] = FLV_VERSION;
  out[4] = (flags.hasAudio ? FlvHeaderFlag.Audio : 0) |
    (flags.hasVideo ? FlvHeaderFlag.Video : 0);
  out[8] = FLV_HEADER_BYTES; // DataOffset, big-endian u32
  return out;
}

/**
 * Decodes the FLV header (without PreviousTagSize0).
 *
 * @param bytes Bytes from the start of the file.
 * @returns The header, or `undefined` if fewer than 9 bytes are available.
 * @throws {FlvFormatError} `FLV_BAD_SIGNATURE` or `FLV_BAD_HEADER`.
 *
 * @example
 * ```ts
 * import { decodeFlvHeader } from "./header.ts";
 * import assert from "node:assert/strict";
 * const h = decodeFlvHeader(new Uint8Array([0x46, 0x4c, 0x56, 1, 0x04, 0, 0, 0, 9]));
 * assert.deepEqual(h, { hasAudio: true, hasVideo: false, headerBytes: 9 });
 * ```
 */
export function decodeFlvHeader(bytes: Uint8Array): FlvHeader | undefined {
  if (bytes.byteLength < FLV_HEADER_BYTES) return undefined;
  if (
    bytes[0] !== SIGNATURE[0] || bytes[1] !== SIGNATURE[1] ||
    bytes[2] !== SIGNATURE[2]
  ) {
    throw new FlvFormatError(
      FlvErrorCode.BadSignature,
      `Cannot decode FLV header: expected signature "FLV", got bytes ${
        Array.from(bytes.subarray(0, 3), (b) => b.toString(16).padStart(2, "0"))
          .join(" ")
      }`,
    );
  }
  if (bytes[3] !== FLV_VERSION) {
    throw new FlvFormatError(
      FlvErrorCode.BadSignature,
      `Cannot decode FLV header: unsupported version ${bytes[3]}`,
    );
  }
  const flags = bytes[4]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerBytes = view.getUint32(5);
  if (headerBytes < FLV_HEADER_BYTES || headerBytes > MAX_FLV_HEADER_BYTES) {
    throw new FlvFormatError(
      FlvErrorCode.BadHeader,
      `Cannot decode FLV header: DataOffset must be ${FLV_HEADER_BYTES}..${MAX_FLV_HEADER_BYTES}, got ${headerBytes}`,
    );
  }
  return {
    hasAudio: (flags & FlvHeaderFlag.Audio) !== 0,
    hasVideo: (flags & FlvHeaderFlag.Video) !== 0,
    headerBytes,
  };
}
