import assert from "node:assert/strict";
import {
  ElementaryToFlv,
  FlvToElementary,
  isVideoKeyframe,
  isVideoSequenceHeader,
  videoCodecOf,
} from "../../../codec/flv/mod.ts";
import {
  PPS_320X240_BASELINE,
  SPS_320X240_BASELINE,
} from "../../fixtures/h264.ts";
import { HEVC_PPS, HEVC_SPS, HEVC_VPS } from "../../fixtures/h265.ts";

Deno.test("ElementaryToFlv.pushVideo() sends the AVC sequence header once, before the first frame, and again when the SPS changes", () => {
  const mux = new ElementaryToFlv({ encoder: "t" });
  const p = mux.pushVideo({
    codec: "avc",
    nalus: [new Uint8Array([0x41, 1])],
    dtsMs: 0,
    ptsMs: 0,
  });
  assert.deepEqual(p, [], "nothing decodable before the parameter sets");
  const k = mux.pushVideo({
    codec: "avc",
    nalus: [
      new Uint8Array([9, 0xf0]),
      SPS_320X240_BASELINE,
      PPS_320X240_BASELINE,
      new Uint8Array([0x65, 0x88]),
    ],
    dtsMs: 40,
    ptsMs: 80,
  });
  assert.deepEqual(k.map((t) => t.type), [18, 9, 9]);
  assert.ok(isVideoSequenceHeader(k[1]!.data));
  assert.ok(isVideoKeyframe(k[2]!.data));
  // CTS 40 ms, then AVCC of SPS, PPS, IDR (the AUD dropped).
  assert.deepEqual([...k[2]!.data.subarray(0, 9)], [
    0x17,
    1,
    0,
    0,
    40,
    0,
    0,
    0,
    SPS_320X240_BASELINE.byteLength,
  ]);
  assert.deepEqual(mux.picture, { width: 320, height: 240 });
  const again = mux.pushVideo({
    codec: "avc",
    nalus: [
      SPS_320X240_BASELINE,
      PPS_320X240_BASELINE,
      new Uint8Array([0x65, 1]),
    ],
    dtsMs: 80,
    ptsMs: 80,
  });
  assert.deepEqual(
    again.map((t) => t.type),
    [9],
    "same sets: no new sequence header",
  );
  const sps2 = SPS_320X240_BASELINE.slice();
  sps2[sps2.length - 1]! ^= 1;
  const changed = mux.pushVideo({
    codec: "avc",
    nalus: [sps2, PPS_320X240_BASELINE, new Uint8Array([0x65, 1])],
    dtsMs: 120,
    ptsMs: 120,
  });
  assert.equal(changed.length, 2);
  assert.ok(isVideoSequenceHeader(changed[0]!.data));
});

Deno.test("H.265 frames become Enhanced RTMP hvc1 tags and read back as NALUs", () => {
  const mux = new ElementaryToFlv({ encoder: "t" });
  mux.setParameterSets("hevc", {
    vps: [HEVC_VPS],
    sps: [HEVC_SPS],
    pps: [HEVC_PPS],
  });
  const idr = new Uint8Array([0x26, 0x01, 0xaf, 0x09]);
  const tags = mux.pushVideo({
    codec: "hevc",
    nalus: [idr],
    dtsMs: 0,
    ptsMs: 0,
  });
  assert.deepEqual(tags.map((t) => t.type), [18, 9, 9]);
  assert.equal(videoCodecOf(tags[1]!.data), "hevc");
  assert.ok(isVideoKeyframe(tags[2]!.data));
  const reader = new FlvToElementary();
  const events = tags.flatMap((t) => reader.push(t));
  assert.deepEqual(events.map((e) => e.kind), ["video-config", "video"]);
  const cfg = events[0]!;
  assert.ok(cfg.kind === "video-config");
  assert.deepEqual([cfg.track.width, cfg.track.height, cfg.track.vps.length], [
    320,
    240,
    1,
  ]);
  const f = events[1]!;
  assert.ok(f.kind === "video");
  assert.deepEqual(f.nalus, [idr]);
  assert.equal(f.keyframe, true);
});

Deno.test("ElementaryToFlv.pushAudio() carries G.711 and MP3 with their SoundFormats; FlvToElementary names unsupported codecs once", () => {
  const mux = new ElementaryToFlv({ encoder: "t", expectVideo: false });
  const a = mux.pushAudio({
    codec: "g711u",
    data: new Uint8Array([1, 2]),
    ptsMs: 20,
  });
  assert.deepEqual(a.map((t) => [t.type, t.data[0]]), [[18, 2], [8, 0x82]]);
  const reader = new FlvToElementary();
  assert.deepEqual(reader.push(a[1]!).map((e) => e.kind), [
    "audio-config",
    "audio",
  ]);
  const opus = {
    type: 8 as const,
    timestampMs: 0,
    data: new Uint8Array([0x91, 0x4f, 0x70, 0x75, 0x73, 0]),
  };
  assert.deepEqual(reader.push(opus).map((e) => e.kind), ["unsupported"]);
  assert.deepEqual(reader.push(opus), []);
});
