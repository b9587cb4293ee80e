import assert from "node:assert/strict";
import {
  audioCodecOf,
  decodeAudioTagHeader,
  decodeVideoTagHeader,
  FlvFormatError,
  isAudioSequenceHeader,
  isVideoKeyframe,
  isVideoSequenceHeader,
  videoCodecOf,
} from "../../../codec/flv/mod.ts";

const fourcc = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

Deno.test("decodeVideoTagHeader() reads legacy AVC with a negative composition time", () => {
  const h = decodeVideoTagHeader(
    new Uint8Array([0x27, 1, 0xff, 0xff, 0xd8, 0, 0, 0, 1, 0x41]),
  );
  assert.deepEqual(h, {
    codec: "avc",
    enhanced: false,
    frameType: 2,
    packetType: 1,
    compositionTimeMs: -40,
    payloadOffset: 5,
  });
});

Deno.test("decodeVideoTagHeader() reads Enhanced RTMP headers", () => {
  // hvc1 CodedFrames carries SI24 composition time.
  assert.deepEqual(
    decodeVideoTagHeader(
      new Uint8Array([0x91, ...fourcc("hvc1"), 0, 0, 80, 0xaa]),
    ),
    {
      codec: "hevc",
      enhanced: true,
      frameType: 1,
      packetType: 1,
      compositionTimeMs: 80,
      payloadOffset: 8,
    },
  );
  // CodedFramesX: implied zero, no SI24.
  assert.deepEqual(
    decodeVideoTagHeader(new Uint8Array([0xa3, ...fourcc("hvc1"), 0xaa])),
    {
      codec: "hevc",
      enhanced: true,
      frameType: 2,
      packetType: 3,
      compositionTimeMs: 0,
      payloadOffset: 5,
    },
  );
  // av01 CodedFrames has no composition time.
  assert.deepEqual(
    decodeVideoTagHeader(new Uint8Array([0x91, ...fourcc("av01"), 0x12])),
    {
      codec: "av1",
      enhanced: true,
      frameType: 1,
      packetType: 1,
      compositionTimeMs: 0,
      payloadOffset: 5,
    },
  );
  assert.equal(
    decodeVideoTagHeader(new Uint8Array([0x90, ...fourcc("xxxx")])).codec,
    undefined,
  );
});

Deno.test("decodeVideoTagHeader() throws FlvFormatError on short bodies", () => {
  for (
    const b of [[], [0x17, 1], [0x91, 0x68, 0x76], [0x91, ...fourcc("hvc1"), 0]]
  ) {
    assert.throws(
      () => decodeVideoTagHeader(new Uint8Array(b)),
      FlvFormatError,
    );
  }
});

Deno.test("isVideoKeyframe() and isVideoSequenceHeader() classify legacy and enhanced tags", () => {
  const cases: [number[], boolean, boolean][] = [
    [[0x17, 1, 0, 0, 0], true, false],
    [[0x17, 0, 0, 0, 0], false, true],
    [[0x27, 1, 0, 0, 0], false, false],
    [[0x1c, 1, 0, 0, 0], true, false], // legacy HEVC id 12
    [[0x1c, 0, 0, 0, 0], false, true],
    [[0x93, ...fourcc("hvc1")], true, false], // keyframe, CodedFramesX
    [[0x90, ...fourcc("vp09")], false, true], // SequenceStart
    [[0x95, ...fourcc("av01")], false, true], // MPEG2TSSequenceStart
    [[0x94, ...fourcc("av01")], false, false], // Metadata
    [[0x92, ...fourcc("av01")], false, false], // SequenceEnd
    [[0x12], true, false], // Sorenson H.263 keyframe
    [[], false, false],
    [[0x17], false, false],
  ];
  for (const [bytes, key, seq] of cases) {
    const d = new Uint8Array(bytes);
    assert.equal(isVideoKeyframe(d), key, `keyframe ${bytes}`);
    assert.equal(isVideoSequenceHeader(d), seq, `sequence header ${bytes}`);
  }
});

Deno.test("videoCodecOf() names legacy ids and FourCCs", () => {
  assert.equal(videoCodecOf(new Uint8Array([0x17, 0, 0, 0, 0])), "avc");
  assert.equal(videoCodecOf(new Uint8Array([0x1c, 0, 0, 0, 0])), "hevc");
  assert.equal(videoCodecOf(new Uint8Array([0x90, ...fourcc("vp09")])), "vp9");
  assert.equal(videoCodecOf(new Uint8Array([0x90, ...fourcc("avc1")])), "avc");
  assert.equal(videoCodecOf(new Uint8Array([0x14])), "vp6");
  assert.equal(videoCodecOf(new Uint8Array([0x1f])), undefined);
  assert.equal(videoCodecOf(new Uint8Array(0)), undefined);
});

Deno.test("audio classification: AAC, MP3, enhanced Opus", () => {
  assert.equal(
    isAudioSequenceHeader(new Uint8Array([0xaf, 0, 0x12, 0x10])),
    true,
  );
  assert.equal(isAudioSequenceHeader(new Uint8Array([0xaf, 1, 0x21])), false);
  assert.equal(isAudioSequenceHeader(new Uint8Array([0x2f, 0])), false);
  assert.equal(
    isAudioSequenceHeader(new Uint8Array([0x90, ...fourcc("Opus")])),
    true,
  );
  assert.equal(audioCodecOf(new Uint8Array([0xaf])), undefined); // too short for AAC
  assert.equal(audioCodecOf(new Uint8Array([0x2f, 0xff, 0xfb])), "mp3");
  assert.equal(audioCodecOf(new Uint8Array([0xe2])), "mp3"); // MP3 8 kHz
  assert.equal(audioCodecOf(new Uint8Array([0x91, ...fourcc("Opus")])), "opus");
  assert.equal(audioCodecOf(new Uint8Array([0xb6])), "speex");
  assert.deepEqual(decodeAudioTagHeader(new Uint8Array([0x2f, 0xff])), {
    codec: "mp3",
    soundFormat: 2,
    packetType: undefined,
    payloadOffset: 1,
  });
});
