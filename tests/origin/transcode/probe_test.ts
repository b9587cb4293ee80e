import assert from "node:assert/strict";
import { FlvTagType } from "../../../codec/flv/mod.ts";
import { encodeAvcDecoderConfig } from "../../../codec/h264/mod.ts";
import { StreamProbe } from "../../../origin/transcode/probe.ts";

/** SPS of an x264 1920x1080 High-profile stream (as in codec/h264/sps.ts). */
const SPS = new Uint8Array([
  0x67,
  0x64,
  0x00,
  0x28,
  0xac,
  0xd9,
  0x40,
  0x78,
  0x02,
  0x27,
  0xe5,
  0xc0,
  0x44,
  0x00,
  0x00,
  0x03,
  0x00,
  0x04,
  0x00,
  0x00,
  0x03,
  0x00,
  0xc8,
  0x3c,
  0x60,
  0xc6,
  0x58,
]);
const config = encodeAvcDecoderConfig({
  profileIndication: 0x64,
  profileCompatibility: 0,
  levelIndication: 0x28,
  naluLengthSize: 4,
  sps: [SPS],
  pps: [new Uint8Array([0x68, 0xeb, 0xe3, 0xcb])],
  extension: new Uint8Array(0),
});

Deno.test("StreamProbe reads size and codecs from the sequence headers and the frame rate from timestamps", () => {
  const p = new StreamProbe();
  assert.equal(p.frameRate, undefined);
  p.onTag({
    type: FlvTagType.Video,
    timestampMs: 0,
    data: new Uint8Array([0x17, 0, 0, 0, 0, ...config]),
  });
  p.onTag({
    type: FlvTagType.Audio,
    timestampMs: 0,
    data: new Uint8Array([0xaf, 0, 0x12, 0x10]),
  });
  for (let i = 0; i < 50; i++) {
    p.onTag({
      type: FlvTagType.Video,
      timestampMs: i * 40,
      data: new Uint8Array([
        i % 25 ? 0x27 : 0x17,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        1,
        0x41,
      ]),
    });
  }
  assert.deepEqual(p.video, {
    codec: "avc",
    codecs: "avc1.640028",
    width: 1920,
    height: 1080,
  });
  assert.deepEqual(p.codecs, ["avc1.640028", "mp4a.40.2"]);
  assert.equal(p.keyframes, 2);
  assert.equal(p.frameRate, 25);
  // A republish (timestamps back to 0) starts the measurement over.
  p.onTag({
    type: FlvTagType.Video,
    timestampMs: 0,
    data: new Uint8Array([0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65]),
  });
  assert.equal(p.frameRate, undefined);
});

Deno.test("StreamProbe names MP3 and other codecs, and never throws on a broken header", () => {
  const p = new StreamProbe();
  p.onTag({
    type: FlvTagType.Audio,
    timestampMs: 0,
    data: new Uint8Array([0x2f, 0xff, 0xfb, 0x90, 0]),
  });
  assert.deepEqual(p.audio, { codec: "mp3", codecs: "mp4a.40.34" });
  p.onTag({
    type: FlvTagType.Video,
    timestampMs: 0,
    data: new Uint8Array([0x1c, 0, 0, 0, 0, 1]),
  });
  assert.deepEqual(p.video, {
    codec: "hevc",
    codecs: undefined,
    width: undefined,
    height: undefined,
  });
  const broken = new StreamProbe();
  broken.onTag({
    type: FlvTagType.Video,
    timestampMs: 0,
    data: new Uint8Array([0x17, 0, 0, 0, 0, 1, 0x64]),
  });
  assert.match(
    broken.lastError ?? "",
    /Cannot decode AVCDecoderConfigurationRecord/,
  );
  assert.equal(broken.video, undefined);
  assert.deepEqual(broken.codecs, []);
});
