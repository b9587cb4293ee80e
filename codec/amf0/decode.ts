/**
 * AMF0 decoder (Adobe AMF0 spec, 2006). Pure: bytes in, values out.
 *
 * Every length field is checked against the bytes that remain before anything is allocated, so
 * a 5-byte input claiming a 4 GiB string costs nothing.
 *
 * @module
 */

import { ByteReader, ShortReadError } from "../bytes/reader.ts";
import { Amf0ErrorCode, Amf0FormatError } from "./errors.ts";
import {
  AMF0_MAX_DEPTH,
  Amf0Date,
  Amf0EcmaArray,
  Amf0Marker,
  type Amf0Object,
  Amf0Reference,
  Amf0TypedObject,
  type Amf0Value,
  Amf0XmlDocument,
  setAmf0Property,
} from "./types.ts";

/** AMF3 type markers we accept behind an AVM+ switch (AMF3 spec §3.1). */
const Amf3Marker = {
  Undefined: 0x00,
  Null: 0x01,
  False: 0x02,
  True: 0x03,
  Integer: 0x04,
  Double: 0x05,
  String: 0x06,
} as const;

// Non-fatal: a stray invalid byte in a stream title must not drop the publisher.
const UTF8 = new TextDecoder("utf-8");

/**
 * Decodes one AMF0 value at the reader's cursor and advances past it.
 *
 * @param reader Cursor over the input.
 * @returns The value.
 * @throws {Amf0FormatError} On malformed or truncated input.
 *
 * @example
 * ```ts
 * import { ByteReader } from "../bytes/reader.ts";
 * import { decodeAmf0 } from "./decode.ts";
 * import assert from "node:assert/strict";
 * const r = new ByteReader(new Uint8Array([0x02, 0x00, 0x02, 0x68, 0x69]));
 * assert.equal(decodeAmf0(r), "hi");
 * assert.equal(r.remaining, 0);
 * ```
 */
export function decodeAmf0(reader: ByteReader): Amf0Value {
  const start = reader.offset;
  try {
    return readValue(reader, 0);
  } catch (err) {
    if (err instanceof ShortReadError) {
      throw new Amf0FormatError(
        Amf0ErrorCode.Truncated,
        `Cannot decode AMF0 value at offset ${start}: input ends at ${reader.bytes.byteLength}, ${err.message}`,
        { offset: reader.offset, cause: err },
      );
    }
    throw err;
  }
}

/**
 * Decodes every AMF0 value in `bytes` (a command or data message body).
 *
 * @param bytes The whole input; it must end on a value boundary.
 * @returns The values in order.
 * @throws {Amf0FormatError} On malformed or truncated input.
 *
 * @example
 * ```ts
 * import { decodeAll } from "./decode.ts";
 * import assert from "node:assert/strict";
 * // "connect", 1, null
 * const bytes = new Uint8Array([
 *   0x02, 0x00, 0x07, 0x63, 0x6f, 0x6e, 0x6e, 0x65, 0x63, 0x74,
 *   0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0,
 *   0x05,
 * ]);
 * assert.deepEqual(decodeAll(bytes), ["connect", 1, null]);
 * ```
 */
export function decodeAll(bytes: Uint8Array): Amf0Value[] {
  const reader = new ByteReader(bytes);
  const values: Amf0Value[] = [];
  while (reader.remaining > 0) values.push(decodeAmf0(reader));
  return values;
}

function readUtf8(reader: ByteReader, length: number): string {
  if (length > reader.remaining) {
    throw new Amf0FormatError(
      Amf0ErrorCode.Truncated,
      `Cannot decode AMF0 string: length ${length} exceeds the ${reader.remaining} bytes left`,
      { offset: reader.offset },
    );
  }
  return UTF8.decode(reader.take(length));
}

function readValue(reader: ByteReader, depth: number): Amf0Value {
  const markerOffset = reader.offset;
  const marker = reader.u8();
  switch (marker) {
    case Amf0Marker.Number:
      return reader.f64();
    case Amf0Marker.Boolean:
      return reader.u8() !== 0;
    case Amf0Marker.String:
      return readUtf8(reader, reader.u16());
    case Amf0Marker.LongString:
      return readUtf8(reader, reader.u32());
    case Amf0Marker.Object:
      return readProperties(reader, enter(depth, markerOffset), false);
    case Amf0Marker.Null:
      return null;
    case Amf0Marker.Undefined:
    case Amf0Marker.Unsupported:
      return undefined;
    case Amf0Marker.Reference:
      return new Amf0Reference(reader.u16());
    case Amf0Marker.EcmaArray: {
      // The count is a hint only (§2.10); the object-end marker is authoritative.
      reader.u32();
      return new Amf0EcmaArray(
        readProperties(reader, enter(depth, markerOffset), true),
      );
    }
    case Amf0Marker.StrictArray: {
      const count = reader.u32();
      // Each element takes at least its marker byte: never trust the count further.
      if (count > reader.remaining) {
        throw new Amf0FormatError(
          Amf0ErrorCode.TooLong,
          `Cannot decode AMF0 strict array: count ${count} exceeds the ${reader.remaining} bytes left`,
          { offset: markerOffset },
        );
      }
      const inner = enter(depth, markerOffset);
      const items: Amf0Value[] = [];
      for (let i = 0; i < count; i++) items.push(readValue(reader, inner));
      return items;
    }
    case Amf0Marker.Date: {
      const epochMs = reader.f64();
      const zone = reader.u16();
      return new Amf0Date(epochMs, zone & 0x8000 ? zone - 0x10000 : zone);
    }
    case Amf0Marker.XmlDocument:
      return new Amf0XmlDocument(readUtf8(reader, reader.u32()));
    case Amf0Marker.TypedObject: {
      const className = readUtf8(reader, reader.u16());
      return new Amf0TypedObject(
        className,
        readProperties(reader, enter(depth, markerOffset), false),
      );
    }
    case Amf0Marker.AvmPlus:
      return readAmf3Scalar(reader);
    case Amf0Marker.ObjectEnd:
      throw new Amf0FormatError(
        Amf0ErrorCode.UnexpectedObjectEnd,
        `Cannot decode AMF0 value: object-end marker outside an object at offset ${markerOffset}`,
        { offset: markerOffset },
      );
    case Amf0Marker.MovieClip:
    case Amf0Marker.RecordSet:
      throw new Amf0FormatError(
        Amf0ErrorCode.Unsupported,
        `Cannot decode AMF0 value: reserved marker 0x${
          hex(marker)
        } at offset ${markerOffset}`,
        { offset: markerOffset },
      );
    default:
      throw new Amf0FormatError(
        Amf0ErrorCode.UnknownMarker,
        `Cannot decode AMF0 value: unknown marker 0x${
          hex(marker)
        } at offset ${markerOffset}`,
        { offset: markerOffset },
      );
  }
}

function enter(depth: number, offset: number): number {
  if (depth + 1 > AMF0_MAX_DEPTH) {
    throw new Amf0FormatError(
      Amf0ErrorCode.TooDeep,
      `Cannot decode AMF0 value: nesting deeper than ${AMF0_MAX_DEPTH} at offset ${offset}`,
      { offset },
    );
  }
  return depth + 1;
}

/**
 * Reads `key, value` pairs up to the empty key + object-end marker (§2.5). ECMA arrays that
 * simply stop at the end of the message (seen from some hardware encoders) are accepted.
 */
function readProperties(
  reader: ByteReader,
  depth: number,
  tolerateMissingEnd: boolean,
): Amf0Object {
  const obj: Amf0Object = {};
  for (;;) {
    if (tolerateMissingEnd && reader.remaining === 0) return obj;
    const keyLength = reader.u16();
    if (
      keyLength === 0 && reader.bytes[reader.offset] === Amf0Marker.ObjectEnd
    ) {
      reader.skip(1);
      return obj;
    }
    const key = readUtf8(reader, keyLength);
    setAmf0Property(obj, key, readValue(reader, depth));
  }
}

/**
 * The scalar subset of AMF3 (AMF3 spec §3.2–3.8): enough for the `objectEncoding` switch seen in
 * type-17 command messages. AMF3 objects need trait and reference tables we do not keep.
 */
function readAmf3Scalar(reader: ByteReader): Amf0Value {
  const offset = reader.offset;
  const marker = reader.u8();
  switch (marker) {
    case Amf3Marker.Undefined:
      return undefined;
    case Amf3Marker.Null:
      return null;
    case Amf3Marker.False:
      return false;
    case Amf3Marker.True:
      return true;
    case Amf3Marker.Integer: {
      const u29 = readU29(reader);
      return u29 & 0x10000000 ? u29 - 0x20000000 : u29;
    }
    case Amf3Marker.Double:
      return reader.f64();
    case Amf3Marker.String: {
      const u29 = readU29(reader);
      if ((u29 & 1) === 0) {
        throw new Amf0FormatError(
          Amf0ErrorCode.Unsupported,
          `Cannot decode AMF3 string: string references are not supported, at offset ${offset}`,
          { offset },
        );
      }
      return readUtf8(reader, u29 >>> 1);
    }
    default:
      throw new Amf0FormatError(
        Amf0ErrorCode.Unsupported,
        `Cannot decode AMF3 value: marker 0x${
          hex(marker)
        } is not supported, at offset ${offset}`,
        { offset },
      );
  }
}

/** AMF3 U29: 1–4 bytes, 7 bits each except the 4th which gives 8 (AMF3 spec §1.3.1). */
function readU29(reader: ByteReader): number {
  let value = 0;
  for (let i = 0; i < 3; i++) {
    const b = reader.u8();
    value = (value << 7) | (b & 0x7f);
    if ((b & 0x80) === 0) return value;
  }
  return ((value << 8) | reader.u8()) >>> 0;
}

function hex(n: number): string {
  return n.toString(16).padStart(2, "0");
}
