/**
 * AMF0 type markers, value model and limits (Adobe "Action Message Format – AMF 0", 2006).
 *
 * JavaScript values map as follows: number ⇄ Number, boolean ⇄ Boolean, string ⇄ String (or
 * Long String above 65535 UTF-8 bytes), `null` ⇄ Null, `undefined` ⇄ Undefined, plain object ⇄
 * Anonymous Object, array ⇄ Strict Array. Types JavaScript cannot tell apart get small wrapper
 * classes so that decode → encode gives back the same bytes.
 *
 * @module
 */

/** AMF0 type markers (AMF0 spec §2.1). */
export const Amf0Marker = {
  Number: 0x00,
  Boolean: 0x01,
  String: 0x02,
  Object: 0x03,
  /** Reserved, not supported (§2.6). */
  MovieClip: 0x04,
  Null: 0x05,
  Undefined: 0x06,
  Reference: 0x07,
  EcmaArray: 0x08,
  ObjectEnd: 0x09,
  StrictArray: 0x0a,
  Date: 0x0b,
  LongString: 0x0c,
  Unsupported: 0x0d,
  /** Reserved, not supported (§2.15). */
  RecordSet: 0x0e,
  XmlDocument: 0x0f,
  TypedObject: 0x10,
  /** AVM+ switch: the next value is AMF3 (§3.1). */
  AvmPlus: 0x11,
} as const;

/** A decoded AMF0 value. */
export type Amf0Value =
  | number
  | boolean
  | string
  | null
  | undefined
  | Amf0Object
  | Amf0Value[]
  | Amf0EcmaArray
  | Amf0Date
  | Amf0XmlDocument
  | Amf0TypedObject
  | Amf0Reference;

/** An anonymous object's properties, in wire order. */
export interface Amf0Object {
  [key: string]: Amf0Value;
}

/** An ECMA (associative) array; FFmpeg and OBS send `onMetaData` as one (AMF0 spec §2.10). */
export class Amf0EcmaArray {
  constructor(readonly properties: Amf0Object) {}
}

/** A date: milliseconds since the Unix epoch, plus the (unused) time zone field (§2.13). */
export class Amf0Date {
  constructor(readonly epochMs: number, readonly timeZoneMinutes = 0) {}
}

/** An XML document, carried as a long string (§2.17). */
export class Amf0XmlDocument {
  constructor(readonly xml: string) {}
}

/** An object with a registered class name (§2.18). */
export class Amf0TypedObject {
  constructor(readonly className: string, readonly properties: Amf0Object) {}
}

/**
 * A reference to an earlier complex value by index (§2.9). We keep the index instead of
 * resolving it: resolving lets a 3-byte input build cycles, and no RTMP peer we serve needs it.
 */
export class Amf0Reference {
  constructor(readonly index: number) {}
}

/** Deepest object/array nesting we decode or encode; real-world metadata is 2–3 levels deep. */
export const AMF0_MAX_DEPTH = 32;

/** Longest UTF-8 string that fits a String (u16 length); longer ones are Long Strings (§2.14). */
export const AMF0_MAX_SHORT_STRING_BYTES = 0xffff;

/**
 * Returns the properties of an object-like AMF0 value (object, ECMA array, typed object), or
 * `undefined` for anything else. Metadata arrives as either an object or an ECMA array.
 *
 * @param value Any decoded value.
 * @returns Its property map, or `undefined`.
 *
 * @example
 * ```ts
 * import { amf0Properties, Amf0EcmaArray } from "./types.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(amf0Properties(new Amf0EcmaArray({ width: 320 })), { width: 320 });
 * assert.deepEqual(amf0Properties({ app: "live" }), { app: "live" });
 * assert.equal(amf0Properties("x"), undefined);
 * ```
 */
export function amf0Properties(value: Amf0Value): Amf0Object | undefined {
  if (value instanceof Amf0EcmaArray || value instanceof Amf0TypedObject) {
    return value.properties;
  }
  if (isAmf0Object(value)) return value;
  return undefined;
}

/**
 * True for a plain (anonymous) object value, as opposed to arrays, wrappers and null.
 *
 * @param value Any decoded value.
 * @returns Whether `value` is an {@link Amf0Object}.
 */
export function isAmf0Object(value: unknown): value is Amf0Object {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return false;
  }
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Sets `obj[key] = value` without invoking the `__proto__` setter, so a hostile key cannot
 * change an object's prototype.
 */
export function setAmf0Property(
  obj: Amf0Object,
  key: string,
  value: Amf0Value,
): void {
  if (key === "__proto__") {
    Object.defineProperty(obj, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    obj[key] = value;
  }
}
