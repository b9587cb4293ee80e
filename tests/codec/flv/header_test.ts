import assert from "node:assert/strict";
import {
  decodeFlvHeader,
  encodeFlvHeader,
  FlvErrorCode,
  FlvFormatError,
} from "../../../codec/flv/mod.ts";

const CASES = [
  { flags: { hasAudio: true, hasVideo: true }, byte4: 0x05 },
  { flags: { hasAudio: true, hasVideo: false }, byte4: 0x04 },
  { flags: { hasAudio: false, hasVideo: true }, byte4: 0x01 },
  { flags: { hasAudio: false, hasVideo: false }, byte4: 0x00 },
];

Deno.test("encodeFlvHeader() writes the 9-byte header and PreviousTagSize0", () => {
  for (const c of CASES) {
    assert.deepEqual(
      encodeFlvHeader(c.flags),
      new Uint8Array([0x46, 0x4c, 0x56, 0x01, c.byte4, 0, 0, 0, 9, 0, 0, 0, 0]),
    );
  }
});

Deno.test("decodeFlvHeader() reads back what encodeFlvHeader() wrote", () => {
  for (const c of CASES) {
    assert.deepEqual(decodeFlvHeader(encodeFlvHeader(c.flags)), {
      ...c.flags,
      headerBytes: 9,
    });
  }
});

Deno.test("decodeFlvHeader() returns undefined for fewer than 9 bytes", () => {
  assert.equal(
    decodeFlvHeader(new Uint8Array([0x46, 0x4c, 0x56, 1])),
    undefined,
  );
});

Deno.test("decodeFlvHeader() rejects a bad signature, version and DataOffset", () => {
  const bad = [
    [[0x46, 0x4c, 0x57, 1, 5, 0, 0, 0, 9], FlvErrorCode.BadSignature],
    [[0x46, 0x4c, 0x56, 2, 5, 0, 0, 0, 9], FlvErrorCode.BadSignature],
    [[0x46, 0x4c, 0x56, 1, 5, 0, 0, 0, 8], FlvErrorCode.BadHeader],
    [[0x46, 0x4c, 0x56, 1, 5, 0xff, 0, 0, 9], FlvErrorCode.BadHeader],
  ] as const;
  for (const [bytes, code] of bad) {
    assert.throws(
      () => decodeFlvHeader(new Uint8Array(bytes)),
      (e) => e instanceof FlvFormatError && e.code === code,
    );
  }
});
