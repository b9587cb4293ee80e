import assert from "node:assert/strict";
import {
  type ChunkHeader,
  decodeBasicHeader,
  decodeChunkHeader,
  encodeChunkHeader,
  RtmpProtocolError,
} from "../../../codec/rtmp/mod.ts";

/** Literal fixtures, both directions (Adobe RTMP spec §5.3.1). */
const CASES: {
  name: string;
  bytes: number[];
  header: ChunkHeader;
  fmt3Extended?: boolean;
}[] = [
  {
    name: "fmt 0 with a 1-byte basic header",
    bytes: [
      0x03,
      0x00,
      0x00,
      0x64,
      0x00,
      0x01,
      0x2c,
      0x14,
      0x01,
      0x00,
      0x00,
      0x00,
    ],
    header: {
      fmt: 0,
      csid: 3,
      timestamp: 100,
      messageLength: 300,
      typeId: 20,
      streamId: 1,
      extended: false,
      size: 12,
    },
  },
  {
    name: "fmt 1",
    bytes: [0x46, 0x00, 0x00, 0x28, 0x00, 0x10, 0x00, 0x09],
    header: {
      fmt: 1,
      csid: 6,
      timestamp: 40,
      messageLength: 4096,
      typeId: 9,
      extended: false,
      size: 8,
    },
  },
  {
    name: "fmt 2",
    bytes: [0x84, 0x00, 0x00, 0x17],
    header: { fmt: 2, csid: 4, timestamp: 23, extended: false, size: 4 },
  },
  {
    name: "fmt 3",
    bytes: [0xc6],
    header: { fmt: 3, csid: 6, extended: false, size: 1 },
  },
  {
    name: "fmt 3 with a 2-byte basic header (csid 64)",
    bytes: [0xc0, 0x00],
    header: { fmt: 3, csid: 64, extended: false, size: 2 },
  },
  {
    name: "fmt 2 with a 2-byte basic header (csid 319)",
    bytes: [0x80, 0xff, 0x00, 0x00, 0x01],
    header: { fmt: 2, csid: 319, timestamp: 1, extended: false, size: 5 },
  },
  {
    name: "fmt 3 with a 3-byte basic header (csid 320)",
    bytes: [0xc1, 0x00, 0x01],
    header: { fmt: 3, csid: 320, extended: false, size: 3 },
  },
  {
    name: "fmt 3 with a 3-byte basic header (csid 65599)",
    bytes: [0xc1, 0xff, 0xff],
    header: { fmt: 3, csid: 65599, extended: false, size: 3 },
  },
  {
    name: "fmt 0 with an extended timestamp",
    bytes: [
      0x04,
      0xff,
      0xff,
      0xff,
      0x00,
      0x00,
      0x02,
      0x08,
      0x01,
      0x00,
      0x00,
      0x00,
      0x01,
      0x00,
      0x00,
      0x00,
    ],
    header: {
      fmt: 0,
      csid: 4,
      timestamp: 0x1000000,
      messageLength: 2,
      typeId: 8,
      streamId: 1,
      extended: true,
      size: 16,
    },
  },
  {
    name: "fmt 1 with an extended delta",
    bytes: [
      0x44,
      0xff,
      0xff,
      0xff,
      0x00,
      0x00,
      0x02,
      0x08,
      0xff,
      0xff,
      0xff,
      0xff,
    ],
    header: {
      fmt: 1,
      csid: 4,
      timestamp: 0xffffffff,
      messageLength: 2,
      typeId: 8,
      extended: true,
      size: 12,
    },
  },
  {
    name: "fmt 3 repeating an extended timestamp",
    bytes: [0xc4, 0x01, 0x00, 0x00, 0x00],
    header: { fmt: 3, csid: 4, timestamp: 0x1000000, extended: true, size: 5 },
    fmt3Extended: true,
  },
];

for (const c of CASES) {
  Deno.test(`decodeChunkHeader() reads ${c.name}`, () => {
    assert.deepEqual(
      decodeChunkHeader(new Uint8Array(c.bytes), 0, c.fmt3Extended),
      c.header,
    );
  });
  Deno.test(`encodeChunkHeader() writes ${c.name}`, () => {
    const { extended: _e, size: _s, ...fields } = c.header;
    assert.deepEqual(encodeChunkHeader(fields), new Uint8Array(c.bytes));
  });
  Deno.test(`decodeChunkHeader() returns undefined for every prefix of ${c.name}`, () => {
    for (let n = 0; n < c.bytes.length; n++) {
      assert.equal(
        decodeChunkHeader(
          new Uint8Array(c.bytes.slice(0, n)),
          0,
          c.fmt3Extended,
        ),
        undefined,
      );
    }
  });
}

Deno.test("decodeBasicHeader() reads at an offset", () => {
  assert.deepEqual(decodeBasicHeader(new Uint8Array([0xff, 0x43]), 1), {
    fmt: 1,
    csid: 3,
    size: 1,
  });
});

Deno.test("encodeChunkHeader() rejects csid 0, 1 and 65600", () => {
  for (const csid of [0, 1, 65600]) {
    assert.throws(() => encodeChunkHeader({ fmt: 3, csid }), RtmpProtocolError);
  }
});
