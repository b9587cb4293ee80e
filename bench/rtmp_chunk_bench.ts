/**
 * RTMP chunk codec throughput.
 *
 * Run: `deno bench -A bench/rtmp_chunk_bench.ts`. Each parse iteration feeds the whole stream
 * once, so throughput in MB/s = (the MB in the bench name) / (avg time per iteration in
 * seconds); e.g. 24.3 MB at 20 ms/iter is ~1215 MB/s.
 */
import {
  encodeRtmpMediaTag,
  encodeRtmpMessage,
  encodeSetChunkSize,
  RtmpChunkReader,
} from "../codec/rtmp/mod.ts";

const CHUNK_SIZE = 4096;
const READ_BYTES = 64 * 1024;

/** A publisher-like stream: 25 fps video (one 60 KB keyframe per 50 frames) and AAC audio. */
function buildStream(seconds: number): Uint8Array {
  const parts: Uint8Array[] = [
    encodeRtmpMessage(encodeSetChunkSize(CHUNK_SIZE), 128),
  ];
  for (let frame = 0; frame < seconds * 25; frame++) {
    const size = frame % 50 === 0 ? 60_000 : 8_000;
    const ts = frame * 40;
    parts.push(
      encodeRtmpMediaTag({
        type: 9,
        timestampMs: ts,
        data: new Uint8Array(size),
      }, CHUNK_SIZE),
    );
    parts.push(
      encodeRtmpMediaTag({
        type: 8,
        timestampMs: ts,
        data: new Uint8Array(370),
      }, CHUNK_SIZE),
    );
    parts.push(
      encodeRtmpMediaTag({
        type: 8,
        timestampMs: ts + 23,
        data: new Uint8Array(370),
      }, CHUNK_SIZE),
    );
  }
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

const stream = buildStream(60);
const mb = (stream.byteLength / 1e6).toFixed(1);

Deno.bench({
  name: `RtmpChunkReader.push() ${mb} MB in 64 KiB reads`,
  group: "chunk parse",
  baseline: true,
  fn() {
    const reader = new RtmpChunkReader();
    for (let o = 0; o < stream.byteLength; o += READ_BYTES) {
      reader.push(stream.subarray(o, o + READ_BYTES));
    }
  },
});

Deno.bench({
  name: `RtmpChunkReader.push() ${mb} MB in 1460-byte reads (one TCP segment)`,
  group: "chunk parse",
  fn() {
    const reader = new RtmpChunkReader();
    for (let o = 0; o < stream.byteLength; o += 1460) {
      reader.push(stream.subarray(o, o + 1460));
    }
  },
});

const keyframe = {
  type: 9 as const,
  timestampMs: 1000,
  data: new Uint8Array(60_000),
};
const interframe = {
  type: 9 as const,
  timestampMs: 1040,
  data: new Uint8Array(8_000),
};

Deno.bench({
  name: "encodeRtmpMediaTag() 60 KB keyframe",
  group: "media tag encode",
  fn() {
    encodeRtmpMediaTag(keyframe, CHUNK_SIZE);
  },
});

Deno.bench({
  name: "encodeRtmpMediaTag() 8 KB frame",
  group: "media tag encode",
  fn() {
    encodeRtmpMediaTag(interframe, CHUNK_SIZE);
  },
});
