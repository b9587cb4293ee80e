import assert from "node:assert/strict";
import {
  decodeFlvTagHeader,
  encodeFlvTag,
  FlvErrorCode,
  FlvFormatError,
  type FlvTag,
  MAX_FLV_TAG_DATA_BYTES,
} from "../../../codec/flv/mod.ts";

/** Literal fixtures: [tag, bytes]; each checked in both directions. */
const FIXTURES: [FlvTag, number[]][] = [
  [
    { type: 9, timestampMs: 40, data: new Uint8Array([0x27, 1, 0, 0, 0x50]) },
    [9, 0, 0, 5, 0, 0, 40, 0, 0, 0, 0, 0x27, 1, 0, 0, 0x50, 0, 0, 0, 16],
  ],
  [
    // Timestamp above 24 bits uses TimestampExtended as the high byte.
    { type: 8, timestampMs: 0x12345678, data: new Uint8Array([0xaf, 1]) },
    [8, 0, 0, 2, 0x34, 0x56, 0x78, 0x12, 0, 0, 0, 0xaf, 1, 0, 0, 0, 13],
  ],
  [
    { type: 18, timestampMs: 0, data: new Uint8Array(0) },
    [18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11],
  ],
];

Deno.test("encodeFlvTag() writes literal fixtures", () => {
  for (const [tag, bytes] of FIXTURES) {
    assert.deepEqual(encodeFlvTag(tag), new Uint8Array(bytes));
  }
});

Deno.test("decodeFlvTagHeader() reads literal fixtures", () => {
  for (const [tag, bytes] of FIXTURES) {
    assert.deepEqual(decodeFlvTagHeader(new Uint8Array(bytes)), {
      type: tag.type,
      dataBytes: tag.data.byteLength,
      timestampMs: tag.timestampMs,
    });
  }
});

Deno.test("encodeFlvTag() wraps timestamps at 2^32 and rejects negative ones", () => {
  const bytes = encodeFlvTag({
    type: 8,
    timestampMs: 2 ** 32 + 5,
    data: new Uint8Array(0),
  });
  assert.equal(decodeFlvTagHeader(bytes)?.timestampMs, 5);
  assert.throws(
    () => encodeFlvTag({ type: 8, timestampMs: -1, data: new Uint8Array(0) }),
    (e) => e instanceof FlvFormatError && e.code === FlvErrorCode.BadValue,
  );
});

Deno.test("encodeFlvTag() rejects bodies above 24 bits", () => {
  assert.throws(
    () =>
      encodeFlvTag({
        type: 9,
        timestampMs: 0,
        data: new Uint8Array(MAX_FLV_TAG_DATA_BYTES + 1),
      }),
    (e) => e instanceof FlvFormatError && e.code === FlvErrorCode.TagTooLarge,
  );
});

Deno.test("decodeFlvTagHeader() rejects unknown types and the encryption bit", () => {
  for (const type of [0, 7, 10, 0x28, 0x29]) {
    assert.throws(
      () =>
        decodeFlvTagHeader(
          new Uint8Array([type, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        ),
      (e) => e instanceof FlvFormatError && e.code === FlvErrorCode.BadTagType,
    );
  }
  assert.equal(decodeFlvTagHeader(new Uint8Array(10)), undefined);
});
