import assert from "node:assert/strict";
import {
  decodePat,
  decodePmt,
  decodePsiSection,
  encodePatSection,
  encodePmtSection,
  psiPacket,
  StreamType,
  TsErrorCode,
  TsFormatError,
} from "../../../codec/mpegts/mod.ts";

// Sections as `ffmpeg -c:v libx264 -c:a aac -f mpegts` writes them (packets 1 and 2 of its output).
const FFMPEG_PAT = [
  0x00,
  0xb0,
  0x0d,
  0x00,
  0x01,
  0xc1,
  0x00,
  0x00,
  0x00,
  0x01,
  0xf0,
  0x00,
  0x2a,
  0xb1,
  0x04,
  0xb2,
];
const FFMPEG_PMT = [
  0x02,
  0xb0,
  0x17,
  0x00,
  0x01,
  0xc1,
  0x00,
  0x00,
  0xe1,
  0x00,
  0xf0,
  0x00,
  0x1b,
  0xe1,
  0x00,
  0xf0,
  0x00,
  0x0f,
  0xe1,
  0x01,
  0xf0,
  0x00,
  0x2f,
  0x44,
  0xb9,
  0x9b,
];
const PAT = {
  transportStreamId: 1,
  version: 0,
  programs: [{ programNumber: 1, pmtPid: 0x1000 }],
};
const PMT = {
  programNumber: 1,
  version: 0,
  pcrPid: 0x100,
  streams: [{ streamType: StreamType.H264, pid: 0x100 }, {
    streamType: StreamType.AacAdts,
    pid: 0x101,
  }],
};

Deno.test("encodePatSection() and encodePmtSection() write ffmpeg's bytes, CRC included", () => {
  assert.deepEqual(encodePatSection(PAT), new Uint8Array(FFMPEG_PAT));
  assert.deepEqual(encodePmtSection(PMT), new Uint8Array(FFMPEG_PMT));
});

Deno.test("decodePat() and decodePmt() read ffmpeg's bytes", () => {
  assert.deepEqual(
    decodePat(decodePsiSection(new Uint8Array(FFMPEG_PAT))),
    PAT,
  );
  assert.deepEqual(
    decodePmt(decodePsiSection(new Uint8Array(FFMPEG_PMT))),
    PMT,
  );
});

Deno.test("decodePsiSection() rejects a CRC mismatch and bad lengths", () => {
  const corrupt = new Uint8Array(FFMPEG_PMT);
  corrupt[12] = StreamType.H265;
  assert.throws(
    () => decodePsiSection(corrupt),
    (e) => e instanceof TsFormatError && e.code === TsErrorCode.BadPsi,
  );
  assert.throws(
    () => decodePsiSection(new Uint8Array(FFMPEG_PAT).subarray(0, 10)),
    TsFormatError,
  );
  assert.throws(
    () => decodePsiSection(new Uint8Array([0, 0x30, 0x0d])),
    TsFormatError,
  );
  assert.throws(
    () => decodePsiSection(new Uint8Array([0, 0xbf, 0xff])),
    TsFormatError,
  );
});

Deno.test("psiPacket() frames a section with pointer_field and 0xFF stuffing", () => {
  const p = psiPacket(0x1000, new Uint8Array(FFMPEG_PMT), 5);
  assert.equal(p.byteLength, 188);
  assert.deepEqual([...p.subarray(0, 5)], [0x47, 0x50, 0x00, 0x15, 0x00]);
  assert.deepEqual(
    p.subarray(5, 5 + FFMPEG_PMT.length),
    new Uint8Array(FFMPEG_PMT),
  );
  assert.ok(p.subarray(5 + FFMPEG_PMT.length).every((b) => b === 0xff));
  assert.throws(() => psiPacket(0, new Uint8Array(184), 0), TsFormatError);
});
