import assert from "node:assert/strict";
import {
  decodeVideoTagHeader,
  type FlvTag,
  readFlvFile,
} from "../../../codec/flv/mod.ts";
import { naluType, splitAvccNalus } from "../../../codec/h264/mod.ts";
import { TsSampleReader } from "../../../codec/mpegts/mod.ts";
import { HlsStream } from "../../../origin/hls/mod.ts";
import type { HlsSegment } from "../../../origin/hls/mod.ts";
import { createPrng, mutate } from "../../_helpers/prng.ts";

const DEMO = new URL("../../../media/demo.flv", import.meta.url);
const demo: FlvTag[] = readFlvFile(await Deno.readFile(DEMO)).tags;

/** demo.flv packaged as the live packager does, timestamps shifted by `shiftMs`. */
function segmentsOf(tags: readonly FlvTag[], shiftMs = 0): HlsSegment[] {
  const out: HlsSegment[] = [];
  const hls = new HlsStream({
    streamName: "t",
    segmentNamePrefix: "p",
    now: () => 0,
    targetDurationMs: 2000,
    onSegmentClosed: (s) => out.push(s),
  });
  for (const t of tags) {
    hls.onTag(
      t.type === 18 ? t : { ...t, timestampMs: t.timestampMs + shiftMs },
    );
  }
  hls.onEnd();
  return out;
}

function readAll(segments: readonly HlsSegment[]) {
  const r = new TsSampleReader();
  const samples = segments.flatMap((s) => r.read(s.bytes, s.mediaStartMs!));
  return { r, samples };
}

const videoFrames = (tags: readonly FlvTag[]) =>
  tags.filter((t) => t.type === 9 && t.data[1] === 1);

for (const shiftMs of [0, 95_443_000]) {
  Deno.test(`TsSampleReader gives back the FLV's frames from the packager's segments: times, composition, keyframes, NALUs${shiftMs ? " (across the 33-bit clock wrap)" : ""}`, () => {
    const { r, samples } = readAll(segmentsOf(demo, shiftMs));
    const video = samples.filter((s) => s.kind === "video");
    const frames = videoFrames(demo);
    assert.equal(video.length, frames.length);
    frames.forEach((t, i) => {
      const h = decodeVideoTagHeader(t.data);
      const s = video[i]!;
      assert.ok(
        Math.abs(s.dtsMs - (t.timestampMs + shiftMs)) < 0.02,
        `dts ${i}: ${s.dtsMs}`,
      );
      assert.ok(
        Math.abs(s.ptsMs - s.dtsMs - h.compositionTimeMs) < 0.02,
        `cts ${i}`,
      );
      assert.equal(s.sync, h.frameType === 1, `keyframe ${i}`);
      // The same slices (the packager added AUD, SPS and PPS; they are left out again).
      const want = splitAvccNalus(t.data.subarray(5), 4).filter((n) =>
        ![7, 8, 9].includes(naluType(n))
      );
      assert.deepEqual(splitAvccNalus(s.data, 4), want, `NALUs of ${i}`);
    });
    const audio = samples.filter((s) => s.kind === "audio");
    const aac = demo.filter((t) => t.type === 8 && t.data[1] === 1);
    assert.equal(audio.length, aac.length);
    aac.forEach((t, i) =>
      assert.deepEqual(audio[i]!.data, t.data.subarray(2), `AAC frame ${i}`)
    );
    assert.equal(r.config.video?.width, 640);
    assert.equal(r.config.video?.height, 360);
    assert.equal(r.config.audio?.sampleRate, 44100);
    assert.equal(r.config.audio?.channels, 2);
    assert.deepEqual([...r.unsupported], []);
  });
}

Deno.test("TsSampleReader throws TsFormatError or reads mutated segments, never anything else (fuzz, seeded)", async () => {
  const { TsFormatError } = await import("../../../codec/mpegts/mod.ts");
  const seg = segmentsOf(demo.slice(0, 120))[0]!;
  const next = createPrng(0x75a);
  for (let i = 0; i < 300; i++) {
    const bytes = mutate(next, seg.bytes);
    try {
      new TsSampleReader().read(bytes, 0);
    } catch (e) {
      assert.ok(
        e instanceof TsFormatError ||
          (e instanceof Error && /FormatError$/.test(e.name)),
        String(e),
      );
    }
  }
});
