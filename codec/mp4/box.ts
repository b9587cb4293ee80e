/**
 * ISO BMFF boxes (ISO/IEC 14496-12 §4.2): headers, children, and writing.
 *
 * @module
 */

import { Mp4ErrorCode, Mp4FormatError } from "./errors.ts";

/** A box header as found in the bytes. Offsets are relative to the buffer read. */
export interface BoxHeader {
  /** Four-character code, e.g. `moov`. */
  readonly type: string;
  /** Offset of the box's first byte. */
  readonly start: number;
  /** 8, or 16 with a 64-bit `largesize` (or 24/32 with a `uuid` type). */
  readonly headerBytes: number;
  /** Whole box size in bytes (header included). */
  readonly size: number;
  /** `start + size`. */
  readonly end: number;
}

/** Largest box size we accept (2^53: exact in a JS number). */
const MAX_BOX_BYTES = Number.MAX_SAFE_INTEGER;

/** The four characters at `offset`. */
export function fourcc(bytes: Uint8Array, offset: number): string {
  return String.fromCharCode(
    bytes[offset]!,
    bytes[offset + 1]!,
    bytes[offset + 2]!,
    bytes[offset + 3]!,
  );
}

/**
 * Reads the box header at `offset` (ISO/IEC 14496-12 §4.2: size 1 means a 64-bit size follows,
 * size 0 means "to the end of the file", given here as `limit`).
 *
 * @param limit Where the enclosing space ends (a parent's end, or the file's size).
 * @returns The header, or `undefined` when fewer bytes than the header needs are at hand.
 * @throws {Mp4FormatError} `MP4_BAD_BOX` for a size below the header's own.
 *
 * @example
 * ```ts
 * import { readBoxHeader } from "./box.ts";
 * import assert from "node:assert/strict";
 * const b = new Uint8Array([0, 0, 0, 8, 0x66, 0x72, 0x65, 0x65]); // an empty 'free' box
 * assert.deepEqual(readBoxHeader(b, 0, 8), { type: "free", start: 0, headerBytes: 8, size: 8, end: 8 });
 * ```
 */
export function readBoxHeader(
  bytes: Uint8Array,
  offset: number,
  limit: number,
): BoxHeader | undefined {
  if (bytes.length - offset < 8) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size32 = view.getUint32(offset);
  const type = fourcc(bytes, offset + 4);
  let headerBytes = 8;
  let size: number;
  if (size32 === 1) {
    if (bytes.length - offset < 16) return undefined;
    const hi = view.getUint32(offset + 8);
    const lo = view.getUint32(offset + 12);
    size = hi * 0x1_0000_0000 + lo;
    headerBytes = 16;
    if (size > MAX_BOX_BYTES) {
      throw new Mp4FormatError(
        Mp4ErrorCode.BadBox,
        `Cannot read box '${type}': size over 2^53 bytes`,
      );
    }
  } else if (size32 === 0) {
    size = limit - offset;
  } else {
    size = size32;
  }
  if (type === "uuid") headerBytes += 16;
  if (size < headerBytes) {
    throw new Mp4FormatError(
      Mp4ErrorCode.BadBox,
      `Cannot read box '${
        printable(type)
      }' at ${offset}: size ${size} is below its header's ${headerBytes} bytes`,
    );
  }
  return { type, start: offset, headerBytes, size, end: offset + size };
}

/**
 * The boxes inside `[start, end)` of `bytes`, in order.
 *
 * @throws {Mp4FormatError} `MP4_TRUNCATED` when a child runs past `end`; `MP4_BAD_BOX` as
 *   {@link readBoxHeader}.
 */
export function childBoxes(
  bytes: Uint8Array,
  start: number,
  end: number,
): BoxHeader[] {
  const out: BoxHeader[] = [];
  let o = start;
  while (o + 8 <= end) {
    const h = readBoxHeader(bytes.subarray(0, end), o, end);
    if (!h) break;
    if (h.end > end) {
      throw new Mp4FormatError(
        Mp4ErrorCode.Truncated,
        `Cannot read box '${
          printable(h.type)
        }' at ${o}: it ends at ${h.end}, past its parent's end ${end}`,
      );
    }
    out.push(h);
    o = h.end;
  }
  return out;
}

/** The first child of type `type` inside `parent`, or `undefined`. */
export function findChild(
  bytes: Uint8Array,
  parent: BoxHeader,
  type: string,
): BoxHeader | undefined {
  return childBoxes(bytes, parent.start + parent.headerBytes, parent.end).find(
    (c) => c.type === type,
  );
}

/** Follows a path of box types from `parent` (`["mdia", "minf", "stbl"]`). */
export function findPath(
  bytes: Uint8Array,
  parent: BoxHeader,
  path: readonly string[],
): BoxHeader | undefined {
  let box: BoxHeader | undefined = parent;
  for (const t of path) {
    box = box && findChild(bytes, box, t);
    if (!box) return undefined;
  }
  return box;
}

/** A type's characters for messages (non-printable bytes as `?`). */
export function printable(type: string): string {
  return type.replace(/[^\x20-\x7e]/g, "?");
}

function typeBytes(type: string): Uint8Array {
  const b = new Uint8Array(4);
  for (let i = 0; i < 4; i++) b[i] = type.charCodeAt(i);
  return b;
}

/**
 * Writes a box around `parts` (a 64-bit size when the content needs it).
 *
 * @example
 * ```ts
 * import { writeBox } from "./box.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(writeBox("free"), new Uint8Array([0, 0, 0, 8, 0x66, 0x72, 0x65, 0x65]));
 * ```
 */
export function writeBox(type: string, ...parts: Uint8Array[]): Uint8Array {
  let body = 0;
  for (const p of parts) body += p.byteLength;
  const large = body + 8 > 0xffff_ffff;
  const head = large ? 16 : 8;
  const out = new Uint8Array(head + body);
  const view = new DataView(out.buffer);
  if (large) {
    view.setUint32(0, 1);
    view.setUint32(8, Math.floor((head + body) / 0x1_0000_0000));
    view.setUint32(12, (head + body) >>> 0);
  } else {
    view.setUint32(0, head + body);
  }
  out.set(typeBytes(type), 4);
  let o = head;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

/** Writes a full box (version and 24-bit flags first, ISO/IEC 14496-12 §4.2). */
export function writeFullBox(
  type: string,
  version: number,
  flags: number,
  ...parts: Uint8Array[]
): Uint8Array {
  const vf = new Uint8Array([
    version,
    (flags >> 16) & 0xff,
    (flags >> 8) & 0xff,
    flags & 0xff,
  ]);
  return writeBox(type, vf, ...parts);
}

/** The header of an `mdat` of `payloadBytes` bytes (16 bytes when over 4 GiB). */
export function mdatHeader(payloadBytes: number): Uint8Array {
  const large = payloadBytes + 8 > 0xffff_ffff;
  const out = new Uint8Array(large ? 16 : 8);
  const view = new DataView(out.buffer);
  if (large) {
    view.setUint32(0, 1);
    view.setUint32(8, Math.floor((payloadBytes + 16) / 0x1_0000_0000));
    view.setUint32(12, (payloadBytes + 16) >>> 0);
  } else view.setUint32(0, payloadBytes + 8);
  out.set(typeBytes("mdat"), 4);
  return out;
}
