/**
 * MPEG-TS muxing throughput: raw TsMuxer PES packetization, and the whole HLS packager
 * (FLV tags in, segments out) over 60 s of synthetic 2.5 Mbit/s H.264 + AAC.
 *
 * Run: deno bench -A bench/ts_mux_bench.ts
 */
import { encodeAudioSpecificConfig } from "../codec/aac/mod.ts";
import type { FlvTag } from "../codec/flv/mod.ts";
import { encodeAvcDecoderConfig } from "../codec/h264/mod.ts";
import { StreamType, TsMuxer } from "../codec/mpegts/mod.ts";
import { HlsStream } from "../origin/hls/mod.ts";

const SECONDS = 60;
const VIDEO_BYTES_PER_FRAME = Math.round(2_500_000 / 8 / 25);
const AU = new Uint8Array(VIDEO_BYTES_PER_FRAME).fill(0x5a);
const ADTS = new Uint8Array(4 * 377).fill(0x21);

Deno.bench({
  name:
    `TsMuxer.writeVideo, ${VIDEO_BYTES_PER_FRAME} B access units (1 s of 25 fps)`,
  group: "ts_mux",
  baseline: true,
  fn() {
    const mux = new TsMuxer({
      videoStreamType: StreamType.H264,
      audioStreamType: StreamType.AacAdts,
    });
    for (let i = 0; i < 25; i++) {
      mux.writeVideo({
        dtsTicks: i * 3600,
        ptsTicks: i * 3600 + 3600,
        keyframe: i === 0,
        data: AU,
      });
    }
  },
});

Deno.bench({
  name: "TsMuxer.writeAudio, 4-frame AAC PES (1 s of 48 kHz)",
  group: "ts_mux",
  fn() {
    const mux = new TsMuxer({
      videoStreamType: StreamType.H264,
      audioStreamType: StreamType.AacAdts,
    });
    for (let i = 0; i < 12; i++) {
      mux.writeAudio({ ptsTicks: i * 7680, data: ADTS });
    }
  },
});

function syntheticTags(): FlvTag[] {
  const record = encodeAvcDecoderConfig({
    profileIndication: 0x42,
    profileCompatibility: 0xc0,
    levelIndication: 0x1e,
    naluLengthSize: 4,
    sps: [new Uint8Array([0x67, 0x42, 0xc0, 0x1e, 0xda])],
    pps: [new Uint8Array([0x68, 0xce, 0x0f, 0xc8])],
    extension: new Uint8Array(0),
  });
  const asc = encodeAudioSpecificConfig({
    objectType: 2,
    samplingFrequencyIndex: 3,
    channelConfiguration: 2,
  });
  const tags: FlvTag[] = [];
  for (let i = 0; i < SECONDS * 25; i++) {
    const size = VIDEO_BYTES_PER_FRAME;
    const data = new Uint8Array(5 + 4 + size).fill(0x5a);
    data.set([
      i % 50 === 0 ? 0x17 : 0x27,
      1,
      0,
      0,
      0,
      size >>> 24,
      (size >>> 16) & 0xff,
      (size >>> 8) & 0xff,
      size & 0xff,
    ]);
    data[9] = i % 50 === 0 ? 0x65 : 0x41;
    tags.push({ type: 9, timestampMs: i * 40, data });
  }
  for (let i = 0; i < (SECONDS * 48000) / 1024; i++) {
    const data = new Uint8Array(2 + 370).fill(0x21);
    data[0] = 0xaf;
    data[1] = 1;
    tags.push({ type: 8, timestampMs: Math.round((i * 64) / 3), data });
  }
  tags.sort((a, b) => a.timestampMs - b.timestampMs);
  return [
    {
      type: 9,
      timestampMs: 0,
      data: new Uint8Array([0x17, 0, 0, 0, 0, ...record]),
    },
    { type: 8, timestampMs: 0, data: new Uint8Array([0xaf, 0, ...asc]) },
    ...tags,
  ];
}

const TAGS = syntheticTags();

Deno.bench({
  name: `HlsStream, ${SECONDS} s of 2.5 Mbit/s H.264 + AAC into 2 s segments`,
  group: "hls_package",
  fn() {
    const hls = new HlsStream({
      streamName: "b",
      segmentNamePrefix: "b",
      now: () => 0,
    });
    for (const tag of TAGS) hls.onTag(tag);
    hls.onEnd();
    if (hls.segmentCount !== SECONDS / 2 || hls.droppedTags !== 0) {
      throw new Error("bad output");
    }
  },
});
