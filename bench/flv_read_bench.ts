/**
 * FLV demuxing throughput: FlvReader over a synthetic 2.5 Mbit/s, 25 fps stream of 60 s,
 * pushed in 64 KiB chunks (as a socket or file read delivers it) and as one buffer.
 *
 * Run: deno bench -A bench/flv_read_bench.ts
 */
import {
  encodeFlvHeader,
  encodeFlvTag,
  FlvReader,
  type FlvTag,
  readFlvFile,
} from "../codec/flv/mod.ts";

const SECONDS = 60;
const VIDEO_BYTES_PER_FRAME = Math.round(2_500_000 / 8 / 25);
const CHUNK_BYTES = 64 * 1024;

function syntheticFlv(): Uint8Array {
  const tags: FlvTag[] = [];
  for (let i = 0; i < SECONDS * 25; i++) {
    const data = new Uint8Array(VIDEO_BYTES_PER_FRAME).fill(i & 0xff);
    data[0] = i % 50 === 0 ? 0x17 : 0x27;
    tags.push({ type: 9, timestampMs: i * 40, data });
  }
  for (let i = 0; i < (SECONDS * 48000) / 1024; i++) {
    tags.push({
      type: 8,
      timestampMs: Math.round((i * 64) / 3),
      data: new Uint8Array(370).fill(0xaf),
    });
  }
  tags.sort((a, b) => a.timestampMs - b.timestampMs);
  const parts = [
    encodeFlvHeader({ hasAudio: true, hasVideo: true }),
    ...tags.map(encodeFlvTag),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

const FILE = syntheticFlv();

Deno.bench({
  name: `FlvReader, ${(FILE.byteLength / 1e6).toFixed(1)} MB in 64 KiB chunks`,
  group: "flv_read",
  baseline: true,
  fn() {
    const reader = new FlvReader();
    let n = 0;
    for (let o = 0; o < FILE.byteLength; o += CHUNK_BYTES) {
      reader.push(FILE.subarray(o, o + CHUNK_BYTES));
      for (let t = reader.pull(); t; t = reader.pull()) n++;
    }
    if (n === 0) throw new Error("no tags");
  },
});

Deno.bench({
  name: "readFlvFile, whole buffer",
  group: "flv_read",
  fn() {
    if (readFlvFile(FILE).tags.length === 0) throw new Error("no tags");
  },
});

Deno.bench({
  name: "encodeFlvTag, 12.5 KB video tag",
  group: "flv_write",
  fn() {
    encodeFlvTag({
      type: 9,
      timestampMs: 1234,
      data: FILE.subarray(100, 100 + VIDEO_BYTES_PER_FRAME),
    });
  },
});
