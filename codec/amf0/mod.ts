/**
 * AMF0: the value encoding of RTMP command and data messages (`connect`, `publish`,
 * `onMetaData`, `onStatus`).
 *
 * Why we wrote it instead of using a library: the npm AMF packages either decode AMF3 only,
 * allocate whatever length a field claims, or resolve references into cycles; RTMP ingest is
 * untrusted input on a public port, so we want a small decoder whose every limit is ours and
 * which is fuzzed in our tests.
 *
 * @example
 * ```ts
 * import { decodeAll, encodeAmf0, Amf0EcmaArray } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const bytes = encodeAmf0("onMetaData", new Amf0EcmaArray({ width: 320, height: 240 }));
 * assert.deepEqual(decodeAll(bytes), ["onMetaData", new Amf0EcmaArray({ width: 320, height: 240 })]);
 * ```
 *
 * @module
 */

export { decodeAll, decodeAmf0 } from "./decode.ts";
export { encodeAmf0, writeAmf0 } from "./encode.ts";
export {
  Amf0ErrorCode,
  type Amf0ErrorCodeValue,
  Amf0FormatError,
} from "./errors.ts";
export {
  AMF0_MAX_DEPTH,
  AMF0_MAX_SHORT_STRING_BYTES,
  Amf0Date,
  Amf0EcmaArray,
  Amf0Marker,
  type Amf0Object,
  amf0Properties,
  Amf0Reference,
  Amf0TypedObject,
  type Amf0Value,
  Amf0XmlDocument,
  isAmf0Object,
  setAmf0Property,
} from "./types.ts";
