import assert from "node:assert/strict";
import {
  decodePesHeader,
  encodePesHeader,
  TsFormatError,
} from "../../../codec/mpegts/mod.ts";

Deno.test("encodePesHeader() writes PTS and DTS with markers (literal bytes)", () => {
  // PTS 1.4 s + 40 ms, DTS 1.4 s: what a B-frame-free encoder with 1 frame CTS produces.
  const h = encodePesHeader({
    streamId: 0xe0,
    ptsTicks: 129600,
    dtsTicks: 126000,
  }, 100);
  assert.deepEqual(
    h,
    new Uint8Array([
      0,
      0,
      1,
      0xe0,
      0,
      113,
      0x84,
      0xc0,
      10,
      0x31,
      0x00,
      0x07,
      0xf4,
      0x81,
      0x11,
      0x00,
      0x07,
      0xd8,
      0x61,
    ]),
  );
  assert.deepEqual(decodePesHeader(h), {
    streamId: 0xe0,
    ptsTicks: 129600,
    dtsTicks: 126000,
    packetLength: 113,
    headerBytes: 19,
  });
});

Deno.test("encodePesHeader() omits DTS when equal, uses length 0 for large video, rejects large audio", () => {
  assert.equal(
    encodePesHeader({ streamId: 0xe0, ptsTicks: 5, dtsTicks: 5 }, 0).byteLength,
    14,
  );
  const big = encodePesHeader({ streamId: 0xe0, ptsTicks: 0 }, 70_000);
  assert.equal(decodePesHeader(big).packetLength, 0);
  assert.throws(
    () => encodePesHeader({ streamId: 0xc0, ptsTicks: 0 }, 70_000),
    TsFormatError,
  );
});

Deno.test("encodePesHeader() wraps timestamps at 2^33", () => {
  const h = encodePesHeader({ streamId: 0xc0, ptsTicks: 2 ** 33 + 7 }, 0);
  assert.equal(decodePesHeader(h).ptsTicks, 7);
  assert.throws(
    () => decodePesHeader(new Uint8Array([0, 0, 2, 0xe0, 0, 0, 0x80, 0x80, 5])),
    TsFormatError,
  );
  assert.throws(
    () =>
      decodePesHeader(new Uint8Array([0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 5, 0])),
    TsFormatError,
  );
});
