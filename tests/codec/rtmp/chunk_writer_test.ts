import assert from "node:assert/strict";
import {
  encodeRtmpMediaTag,
  encodeRtmpMessage,
  RtmpChunkReader,
  RtmpProtocolError,
} from "../../../codec/rtmp/mod.ts";

Deno.test("encodeRtmpMessage() writes fmt 0 then fmt 3 chunks", () => {
  const payload = new Uint8Array([1, 2, 3, 4, 5]);
  const bytes = encodeRtmpMessage({
    csid: 3,
    typeId: 20,
    streamId: 0,
    timestampMs: 0,
    payload,
  }, 2);
  assert.deepEqual(
    bytes,
    new Uint8Array([
      0x03,
      0,
      0,
      0,
      0,
      0,
      5,
      20,
      0,
      0,
      0,
      0,
      1,
      2,
      0xc3,
      3,
      4,
      0xc3,
      5,
    ]),
  );
});

Deno.test("encodeRtmpMessage() repeats the extended timestamp on fmt 3 chunks", () => {
  const payload = new Uint8Array([1, 2, 3]);
  const bytes = encodeRtmpMessage(
    { csid: 6, typeId: 9, streamId: 1, timestampMs: 0x12345678, payload },
    2,
  );
  assert.deepEqual(
    bytes,
    new Uint8Array([
      0x06,
      0xff,
      0xff,
      0xff,
      0,
      0,
      3,
      9,
      1,
      0,
      0,
      0,
      0x12,
      0x34,
      0x56,
      0x78,
      1,
      2,
      0xc6,
      0x12,
      0x34,
      0x56,
      0x78,
      3,
    ]),
  );
});

Deno.test("encodeRtmpMessage() uses 2- and 3-byte basic headers", () => {
  const payload = new Uint8Array([7, 8]);
  assert.deepEqual(
    encodeRtmpMessage({
      csid: 100,
      typeId: 8,
      streamId: 1,
      timestampMs: 1,
      payload,
    }, 1),
    new Uint8Array([0x00, 36, 0, 0, 1, 0, 0, 2, 8, 1, 0, 0, 0, 7, 0xc0, 36, 8]),
  );
  assert.deepEqual(
    encodeRtmpMessage({
      csid: 400,
      typeId: 8,
      streamId: 1,
      timestampMs: 1,
      payload,
    }, 1),
    new Uint8Array([
      0x01,
      80,
      1,
      0,
      0,
      1,
      0,
      0,
      2,
      8,
      1,
      0,
      0,
      0,
      7,
      0xc1,
      80,
      1,
      8,
    ]),
  );
});

Deno.test("encodeRtmpMessage() writes an empty message as one header", () => {
  const bytes = encodeRtmpMessage(
    {
      csid: 3,
      typeId: 20,
      streamId: 0,
      timestampMs: 0,
      payload: new Uint8Array(0),
    },
    128,
  );
  assert.deepEqual(
    bytes,
    new Uint8Array([0x03, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 0]),
  );
});

Deno.test("encodeRtmpMessage() wraps timestamps modulo 2^32", () => {
  const bytes = encodeRtmpMessage(
    {
      csid: 3,
      typeId: 20,
      streamId: 0,
      timestampMs: 2 ** 32 + 5,
      payload: new Uint8Array(0),
    },
    128,
  );
  assert.deepEqual([...bytes.subarray(1, 4)], [0, 0, 5]);
});

Deno.test("encodeRtmpMessage() rejects bad chunk sizes and stream ids", () => {
  const m = {
    csid: 3,
    typeId: 20,
    streamId: 0,
    timestampMs: 0,
    payload: new Uint8Array(1),
  };
  for (const size of [0, 65537, 1.5]) {
    assert.throws(() => encodeRtmpMessage(m, size), RtmpProtocolError);
  }
  assert.throws(
    () => encodeRtmpMessage({ ...m, streamId: -1 }, 128),
    RtmpProtocolError,
  );
  assert.throws(
    () => encodeRtmpMessage({ ...m, csid: 1 }, 128),
    RtmpProtocolError,
  );
});

Deno.test("encodeRtmpMediaTag() uses csid 4/6/5, stream 1 and the absolute timestamp", () => {
  const data = new Uint8Array([0x17, 0x01]);
  assert.deepEqual(
    encodeRtmpMediaTag({ type: 9, timestampMs: 0x010203, data }, 4096),
    new Uint8Array([
      0x06,
      0x01,
      0x02,
      0x03,
      0,
      0,
      2,
      9,
      1,
      0,
      0,
      0,
      0x17,
      0x01,
    ]),
  );
  assert.deepEqual(
    encodeRtmpMediaTag({ type: 8, timestampMs: 5, data }, 4096),
    new Uint8Array([0x04, 0, 0, 5, 0, 0, 2, 8, 1, 0, 0, 0, 0x17, 0x01]),
  );
});

Deno.test("encodeRtmpMediaTag() sends script data at timestamp 0", () => {
  const data = new Uint8Array([0x02]);
  assert.deepEqual(
    encodeRtmpMediaTag({ type: 18, timestampMs: 9000, data }, 4096),
    new Uint8Array([0x05, 0, 0, 0, 0, 0, 1, 18, 1, 0, 0, 0, 0x02]),
  );
});

Deno.test("encodeRtmpMediaTag() output reads back through RtmpChunkReader", () => {
  const data = new Uint8Array(10_000).map((_, i) => i & 0xff);
  const bytes = encodeRtmpMediaTag(
    { type: 9, timestampMs: 0xfffffff0, data },
    128,
  );
  const [msg] = new RtmpChunkReader().push(bytes);
  assert.equal(msg!.timestampMs, 0xfffffff0);
  assert.equal(msg!.streamId, 1);
  assert.deepEqual(msg!.payload, data);
});
