import assert from "node:assert/strict";
import {
  encodeAbort,
  encodeRtmpMessage,
  encodeSetChunkSize,
  MAX_CHUNK_STREAMS,
  RtmpChunkReader,
  type RtmpMessage,
  RtmpProtocolError,
} from "../../../codec/rtmp/mod.ts";
import { createPrng, mutate, randomBytes } from "../../_helpers/prng.ts";

const u8 = (...b: number[]) => new Uint8Array(b);

function expectCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof RtmpProtocolError, String(err));
    assert.equal(err.code, code);
    return true;
  });
}

Deno.test("RtmpChunkReader.push() reassembles a message fed one byte at a time", () => {
  const payload = new Uint8Array(300).map((_, i) => i);
  const bytes = encodeRtmpMessage({
    csid: 6,
    typeId: 9,
    streamId: 1,
    timestampMs: 40,
    payload,
  }, 128);
  const reader = new RtmpChunkReader();
  const got: RtmpMessage[] = [];
  for (let i = 0; i < bytes.byteLength; i++) {
    got.push(...reader.push(bytes.subarray(i, i + 1)));
  }
  assert.deepEqual(got, [{
    csid: 6,
    typeId: 9,
    streamId: 1,
    timestampMs: 40,
    payload,
  }]);
  assert.equal(reader.bufferedBytes, 0);
});

Deno.test("RtmpChunkReader.push() reads interleaved chunk streams", () => {
  // Video (csid 6, 4 bytes at chunk size 2) with an audio chunk (csid 4) in between.
  const bytes = u8(
    0x06,
    0,
    0,
    10,
    0,
    0,
    4,
    9,
    1,
    0,
    0,
    0,
    0xa,
    0xb,
    0x04,
    0,
    0,
    11,
    0,
    0,
    1,
    8,
    1,
    0,
    0,
    0,
    0xc,
    0xc6,
    0xd,
    0xe,
  );
  const reader = new RtmpChunkReader();
  reader.push(encodeRtmpMessage(encodeSetChunkSize(2), 128));
  assert.deepEqual(reader.push(bytes), [
    { csid: 4, typeId: 8, streamId: 1, timestampMs: 11, payload: u8(0xc) },
    {
      csid: 6,
      typeId: 9,
      streamId: 1,
      timestampMs: 10,
      payload: u8(0xa, 0xb, 0xd, 0xe),
    },
  ]);
});

Deno.test("RtmpChunkReader.push() applies fmt 1/2/3 timestamp deltas (§5.3.2.2 example)", () => {
  const bytes = u8(
    // fmt 0: ts 1000, length 2, type 8, stream 1
    0x04,
    0x00,
    0x03,
    0xe8,
    0,
    0,
    2,
    8,
    1,
    0,
    0,
    0,
    1,
    1,
    // fmt 2: delta 20
    0x84,
    0,
    0,
    20,
    2,
    2,
    // fmt 3: new message, same delta
    0xc4,
    3,
    3,
    // fmt 1: delta 5, length 1, type 8
    0x44,
    0,
    0,
    5,
    0,
    0,
    1,
    8,
    4,
    // fmt 3: new message, delta 5 again
    0xc4,
    5,
  );
  const got = new RtmpChunkReader().push(bytes).map((
    m,
  ) => [m.timestampMs, m.payload.byteLength]);
  assert.deepEqual(got, [[1000, 2], [1020, 2], [1040, 2], [1045, 1], [
    1050,
    1,
  ]]);
});

Deno.test("RtmpChunkReader.push() adds the fmt 0 timestamp for a fmt 3 message right after it", () => {
  // FFmpeg/librtmp behaviour: after fmt 0 the stored field is absolute, and fmt 3 adds it.
  const bytes = u8(0x04, 0, 0, 10, 0, 0, 1, 8, 1, 0, 0, 0, 1, 0xc4, 2);
  assert.deepEqual(
    new RtmpChunkReader().push(bytes).map((m) => m.timestampMs),
    [10, 20],
  );
});

Deno.test("RtmpChunkReader.push() reads extended timestamps repeated on fmt 3 chunks", () => {
  const bytes = u8(
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
    0x01,
    0x00,
    0x00,
    0x00,
    0xa,
    0xb,
    0xc6,
    0x01,
    0x00,
    0x00,
    0x00,
    0xc,
  );
  const reader = new RtmpChunkReader();
  reader.push(encodeRtmpMessage(encodeSetChunkSize(2), 128));
  assert.deepEqual(reader.push(bytes), [
    {
      csid: 6,
      typeId: 9,
      streamId: 1,
      timestampMs: 0x1000000,
      payload: u8(0xa, 0xb, 0xc),
    },
  ]);
});

Deno.test("RtmpChunkReader.push() tolerates fmt 3 continuations without the extended timestamp", () => {
  const bytes = u8(
    0x06,
    0xff,
    0xff,
    0xff,
    0,
    0,
    6,
    9,
    1,
    0,
    0,
    0,
    0x01,
    0x00,
    0x00,
    0x00,
    1,
    2,
    3,
    4,
    0xc6,
    5,
    6,
  );
  const reader = new RtmpChunkReader();
  reader.push(encodeRtmpMessage(encodeSetChunkSize(4), 128));
  assert.deepEqual(reader.push(bytes)[0]!.payload, u8(1, 2, 3, 4, 5, 6));
});

Deno.test("RtmpChunkReader.push() reads the extended delta on a fmt 3 new message", () => {
  const bytes = u8(
    0x04,
    0xff,
    0xff,
    0xff,
    0,
    0,
    1,
    8,
    1,
    0,
    0,
    0,
    0x01,
    0x00,
    0x00,
    0x00,
    1,
    0xc4,
    0x01,
    0x00,
    0x00,
    0x00,
    2,
  );
  assert.deepEqual(
    new RtmpChunkReader().push(bytes).map((m) => m.timestampMs),
    [
      0x1000000,
      0x2000000,
    ],
  );
});

Deno.test("RtmpChunkReader.push() applies Set Chunk Size before the next chunk in the same read", () => {
  const big = new Uint8Array(4000).fill(7);
  const bytes = new Uint8Array([
    ...encodeRtmpMessage(encodeSetChunkSize(4096), 128),
    ...encodeRtmpMessage({
      csid: 6,
      typeId: 9,
      streamId: 1,
      timestampMs: 0,
      payload: big,
    }, 4096),
  ]);
  const reader = new RtmpChunkReader();
  const msgs = reader.push(bytes);
  assert.equal(reader.chunkSize, 4096);
  assert.deepEqual(msgs.map((m) => m.payload.byteLength), [4, 4000]);
});

Deno.test("RtmpChunkReader.push() drops a partial message on Abort", () => {
  const reader = new RtmpChunkReader();
  const first = encodeRtmpMessage(
    {
      csid: 6,
      typeId: 9,
      streamId: 1,
      timestampMs: 0,
      payload: new Uint8Array(200),
    },
    128,
  );
  assert.deepEqual(reader.push(first.subarray(0, 12 + 128)), []);
  const abort = reader.push(encodeRtmpMessage(encodeAbort(6), 128));
  assert.equal(abort[0]!.typeId, 2);
  // A fresh fmt 3 message on csid 6 now starts from scratch with the stored header (200 bytes).
  const next = reader.push(
    new Uint8Array([0xc6, ...new Uint8Array(128), 0xc6, ...new Uint8Array(72)]),
  );
  assert.equal(next.length, 1);
  assert.equal(next[0]!.payload.byteLength, 200);
});

Deno.test("RtmpChunkReader.push() rejects fmt 1-3 before any fmt 0 on a chunk stream", () => {
  for (const b of [0x44, 0x84, 0xc4]) {
    expectCode(
      () => new RtmpChunkReader().push(u8(b, 0, 0, 0, 0, 0, 1, 8, 1)),
      "RTMP_BAD_CHUNK_HEADER",
    );
  }
});

Deno.test("RtmpChunkReader.push() rejects a message over MAX_MESSAGE_BYTES before allocating", () => {
  // 16 MiB − 1 claimed, only the header sent.
  expectCode(
    () =>
      new RtmpChunkReader().push(
        u8(0x06, 0, 0, 0, 0xff, 0xff, 0xff, 9, 1, 0, 0, 0),
      ),
    "RTMP_MESSAGE_TOO_LARGE",
  );
});

Deno.test("RtmpChunkReader.push() caps the sum of partial messages", () => {
  const reader = new RtmpChunkReader({ maxPendingBytes: 1000 });
  reader.push(
    u8(0x06, 0, 0, 0, 0, 0x02, 0x00, 9, 1, 0, 0, 0, ...new Uint8Array(128)),
  );
  expectCode(
    () =>
      reader.push(
        u8(0x07, 0, 0, 0, 0, 0x02, 0x00, 9, 1, 0, 0, 0, ...new Uint8Array(128)),
      ),
    "RTMP_MESSAGE_TOO_LARGE",
  );
});

Deno.test("RtmpChunkReader.push() rejects chunk sizes outside 1..MAX_CHUNK_SIZE", () => {
  for (const size of [0, 65537, 0x7fffffff]) {
    const bytes = u8(
      0x02,
      0,
      0,
      0,
      0,
      0,
      4,
      1,
      0,
      0,
      0,
      0,
      size >>> 24,
      (size >> 16) & 0xff,
      (size >> 8) & 0xff,
      size & 0xff,
    );
    expectCode(() => new RtmpChunkReader().push(bytes), "RTMP_BAD_CHUNK_SIZE");
  }
});

Deno.test("RtmpChunkReader.push() rejects a short Set Chunk Size", () => {
  expectCode(
    () =>
      new RtmpChunkReader().push(
        u8(0x02, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 1),
      ),
    "RTMP_BAD_CONTROL_MESSAGE",
  );
});

Deno.test("RtmpChunkReader.push() limits the number of chunk streams", () => {
  const reader = new RtmpChunkReader();
  for (let csid = 3; csid < 3 + MAX_CHUNK_STREAMS; csid++) {
    reader.push(
      encodeRtmpMessage({
        csid,
        typeId: 8,
        streamId: 1,
        timestampMs: 0,
        payload: u8(1),
      }, 128),
    );
  }
  expectCode(
    () =>
      reader.push(
        encodeRtmpMessage({
          csid: 1000,
          typeId: 8,
          streamId: 1,
          timestampMs: 0,
          payload: u8(1),
        }, 128),
      ),
    "RTMP_TOO_MANY_CHUNK_STREAMS",
  );
});

Deno.test("RtmpChunkReader.push() does not keep views of the input", () => {
  const reader = new RtmpChunkReader();
  const bytes = encodeRtmpMessage({
    csid: 4,
    typeId: 8,
    streamId: 1,
    timestampMs: 0,
    payload: u8(1, 2, 3),
  }, 128);
  const input = bytes.slice();
  reader.push(input.subarray(0, 13));
  input.fill(0);
  const [msg] = reader.push(bytes.subarray(13));
  assert.deepEqual(msg!.payload, u8(1, 2, 3));
});

Deno.test("RtmpChunkReader.push() fuzz: throws only RtmpProtocolError; messages re-encode", () => {
  const next = createPrng(0x5eed);
  const seed = new Uint8Array([
    ...encodeRtmpMessage(encodeSetChunkSize(64), 128),
    ...encodeRtmpMessage({
      csid: 3,
      typeId: 20,
      streamId: 0,
      timestampMs: 0,
      payload: new Uint8Array(100).fill(2),
    }, 64),
    ...encodeRtmpMessage({
      csid: 6,
      typeId: 9,
      streamId: 1,
      timestampMs: 0x1000001,
      payload: new Uint8Array(150).fill(9),
    }, 64),
    ...u8(0x84, 0, 0, 20, 0xc4),
    ...encodeRtmpMessage({
      csid: 400,
      typeId: 8,
      streamId: 1,
      timestampMs: 3,
      payload: u8(1, 2),
    }, 64),
  ]);
  for (let i = 0; i < 2000; i++) {
    const input = i % 4 === 0
      ? randomBytes(next, next() % 300)
      : mutate(next, seed);
    const reader = new RtmpChunkReader();
    try {
      // Feed in random slices to exercise the leftover path too.
      let at = 0;
      while (at < input.byteLength) {
        const n = 1 + (next() % 64);
        for (const m of reader.push(input.subarray(at, at + n))) {
          encodeRtmpMessage({ ...m, csid: m.csid }, 128);
        }
        at += n;
      }
    } catch (err) {
      if (!(err instanceof RtmpProtocolError)) {
        throw new Error(`Fuzz case ${i} threw ${err}: ${[...input]}`);
      }
    }
  }
});
