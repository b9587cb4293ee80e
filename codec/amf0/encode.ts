/**
 * AMF0 encoder (Adobe AMF0 spec, 2006). Pure: values in, bytes out.
 *
 * @module
 */

import { ByteWriter } from "../bytes/writer.ts";
import { Amf0ErrorCode, Amf0FormatError } from "./errors.ts";
import {
  AMF0_MAX_DEPTH,
  AMF0_MAX_SHORT_STRING_BYTES,
  Amf0Date,
  Amf0EcmaArray,
  Amf0Marker,
  type Amf0Object,
  Amf0Reference,
  Amf0TypedObject,
  type Amf0Value,
  Amf0XmlDocument,
  isAmf0Object,
} from "./types.ts";

const UTF8 = new TextEncoder();

/**
 * Appends one AMF0 value to `writer`.
 *
 * @param writer Destination.
 * @param value The value; see `types.ts` for the JavaScript ⇄ AMF0 mapping.
 * @throws {Amf0FormatError} `AMF0_NOT_ENCODABLE` for values AMF0 cannot carry, `AMF0_TOO_DEEP`
 *   for nesting past `AMF0_MAX_DEPTH` (which also catches cycles).
 */
export function writeAmf0(writer: ByteWriter, value: Amf0Value): void {
  writeValue(writer, value, 0);
}

/**
 * Encodes values back to back, as a command or data message body.
 *
 * @param values The values in order.
 * @returns The encoded bytes.
 * @throws {Amf0FormatError} See {@link writeAmf0}.
 *
 * @example
 * ```ts
 * import { encodeAmf0 } from "./encode.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(encodeAmf0("hi", null), new Uint8Array([0x02, 0x00, 0x02, 0x68, 0x69, 0x05]));
 * ```
 */
export function encodeAmf0(...values: Amf0Value[]): Uint8Array {
  const writer = new ByteWriter(128);
  for (const v of values) writeValue(writer, v, 0);
  return writer.finish();
}

function writeString(writer: ByteWriter, s: string): void {
  const bytes = UTF8.encode(s);
  if (bytes.byteLength <= AMF0_MAX_SHORT_STRING_BYTES) {
    writer.u8(Amf0Marker.String).u16(bytes.byteLength).bytes(bytes);
  } else {
    writer.u8(Amf0Marker.LongString).u32(bytes.byteLength).bytes(bytes);
  }
}

function writeKey(writer: ByteWriter, key: string): void {
  const bytes = UTF8.encode(key);
  if (bytes.byteLength > AMF0_MAX_SHORT_STRING_BYTES) {
    throw new Amf0FormatError(
      Amf0ErrorCode.NotEncodable,
      `Cannot encode AMF0 property name: ${bytes.byteLength} bytes exceeds ${AMF0_MAX_SHORT_STRING_BYTES}`,
    );
  }
  writer.u16(bytes.byteLength).bytes(bytes);
}

function writeProperties(
  writer: ByteWriter,
  obj: Amf0Object,
  depth: number,
): void {
  for (const key of Object.keys(obj)) {
    writeKey(writer, key);
    writeValue(writer, obj[key], depth);
  }
  writer.u16(0).u8(Amf0Marker.ObjectEnd);
}

function writeValue(writer: ByteWriter, value: Amf0Value, depth: number): void {
  if (depth > AMF0_MAX_DEPTH) {
    throw new Amf0FormatError(
      Amf0ErrorCode.TooDeep,
      `Cannot encode AMF0 value: nesting deeper than ${AMF0_MAX_DEPTH}`,
    );
  }
  switch (typeof value) {
    case "number":
      writer.u8(Amf0Marker.Number).f64(value);
      return;
    case "boolean":
      writer.u8(Amf0Marker.Boolean).u8(value ? 1 : 0);
      return;
    case "string":
      writeString(writer, value);
      return;
    case "undefined":
      writer.u8(Amf0Marker.Undefined);
      return;
  }
  if (value === null) {
    writer.u8(Amf0Marker.Null);
  } else if (Array.isArray(value)) {
    writer.u8(Amf0Marker.StrictArray).u32(value.length);
    for (const item of value) writeValue(writer, item, depth + 1);
  } else if (value instanceof Amf0EcmaArray) {
    writer.u8(Amf0Marker.EcmaArray).u32(Object.keys(value.properties).length);
    writeProperties(writer, value.properties, depth + 1);
  } else if (value instanceof Amf0TypedObject) {
    writer.u8(Amf0Marker.TypedObject);
    writeKey(writer, value.className);
    writeProperties(writer, value.properties, depth + 1);
  } else if (value instanceof Amf0Date) {
    writer.u8(Amf0Marker.Date).f64(value.epochMs).u16(
      value.timeZoneMinutes & 0xffff,
    );
  } else if (value instanceof Amf0XmlDocument) {
    const bytes = UTF8.encode(value.xml);
    writer.u8(Amf0Marker.XmlDocument).u32(bytes.byteLength).bytes(bytes);
  } else if (value instanceof Amf0Reference) {
    writer.u8(Amf0Marker.Reference).u16(value.index & 0xffff);
  } else if (isAmf0Object(value)) {
    writer.u8(Amf0Marker.Object);
    writeProperties(writer, value, depth + 1);
  } else {
    throw new Amf0FormatError(
      Amf0ErrorCode.NotEncodable,
      `Cannot encode AMF0 value: unsupported JavaScript type ${typeof value}`,
    );
  }
}
