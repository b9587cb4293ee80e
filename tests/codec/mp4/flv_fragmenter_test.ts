import assert from "node:assert/strict";
import {
  decodeVideoTagHeader,
  type FlvTag,
  readFlvFile,
} from "../../../codec/flv/mod.ts";
import {
  FlvFragmenter,
  Mp4Fragments,
  parseMovie,
  readBoxHeader,
  wholeFragmentsLength,
} from "../../../codec/mp4/mod.ts";
import { createPrng, mutate } from "../../_helpers/prng.ts";
import { hasBinary, runPeer } from "../../_helpers/peers.ts";

const DEMO = new URL("../../../media/demo.flv", import.meta.url);
const haveFfprobe = await hasBinary("ffprobe");

async function demoTags(): Promise<FlvTag[]> {
  return readFlvFile(await Deno.readFile(DEMO)).tags;
}

/** The whole file a fragmenter makes of `tags`. */
function fragment(tags: readonly FlvTag[], fragmentMs = 1000): Uint8Array {
  const f = new FlvFragmenter({ fragmentMs });
  const parts: Uint8Array[] = [];
  for (const t of tags) parts.push(...f.push(t).bytes);
  parts.push(...f.flush());
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

function topBoxes(file: Uint8Array) {
  const out: { type: string; start: number; size: number }[] = [];
  for (let o = 0; o + 8 <= file.length;) {
    const h = readBoxHeader(file, o, file.length)!;
    out.push({ type: h.type, start: h.start, size: h.size });
    o = h.end;
  }
  return out;
}

/** The tracks of a fragmented file, samples from every moof. */
function indexOf(file: Uint8Array) {
  const boxes = topBoxes(file);
  const moov = boxes.find((b) => b.type === "moov")!;
  const frag = new Mp4Fragments(
    parseMovie(file.subarray(moov.start, moov.start + moov.size), {
      fileSize: file.length,
    }),
    file.length,
  );
  for (const b of boxes) {
    if (b.type === "moof") {
      frag.push(file.subarray(b.start, b.start + b.size), b.start);
    }
  }
  return frag.finish();
}

Deno.test("FlvFragmenter turns an FLV with B-frames into fragments whose samples are the FLV's frames, times and composition offsets", async () => {
  const tags = await demoTags();
  const file = fragment(tags);
  const boxes = topBoxes(file);
  assert.deepEqual(boxes.slice(0, 2).map((b) => b.type), ["ftyp", "moov"]);
  const moofs = boxes.filter((b) => b.type === "moof").length;
  assert.ok(moofs >= 10 && moofs <= 12, `${moofs} fragments for 10 s`);
  const [video, audio] = indexOf(file);
  const frames = tags.filter((t) => t.type === 9 && t.data[1] === 1);
  const t0 = frames[0]!.timestampMs;
  assert.equal(video!.codec, "h264");
  assert.equal(video!.width, 640);
  assert.equal(video!.samples.count, frames.length);
  frames.forEach((t, i) => {
    assert.equal(
      video!.samples.dts[i],
      t.timestampMs - t0,
      `dts of frame ${i}`,
    );
    assert.equal(
      video!.samples.cts[i],
      decodeVideoTagHeader(t.data).compositionTimeMs,
    );
    assert.equal(video!.samples.sync![i], (t.data[0]! >> 4) === 1 ? 1 : 0);
  });
  const aacFrames = tags.filter((t) => t.type === 8 && t.data[1] === 1).length;
  assert.equal(audio!.codec, "aac");
  assert.equal(audio!.timescale, 44100);
  assert.equal(audio!.samples.count, aacFrames);
  assert.ok(audio!.samples.duration.every((d) => d === 1024));
});

Deno.test({
  name:
    "FlvFragmenter output plays in ffprobe with the FLV's duration and frame count",
  ignore: !haveFfprobe,
  async fn() {
    const tags = await demoTags();
    const path = await Deno.makeTempFile({ suffix: ".mp4" });
    try {
      await Deno.writeFile(path, fragment(tags));
      const out = await runPeer("ffprobe", [
        "-v",
        "error",
        "-count_packets",
        "-show_entries",
        "format=duration:stream=codec_name,nb_read_packets",
        "-of",
        "json",
        path,
      ]);
      assert.equal(out.code, 0, out.stderr);
      const j = JSON.parse(out.stdout);
      assert.deepEqual(
        j.streams.map((s: { codec_name: string }) => s.codec_name),
        ["h264", "aac"],
      );
      const frames = tags.filter((t) => t.type === 9 && t.data[1] === 1).length;
      assert.equal(Number(j.streams[0].nb_read_packets), frames);
      assert.ok(
        Math.abs(Number(j.format.duration) - 10.08) < 0.1,
        j.format.duration,
      );
    } finally {
      await Deno.remove(path);
    }
  },
});

Deno.test({
  name:
    "wholeFragmentsLength() keeps the whole fragments of a file cut anywhere: the truncated file plays",
  ignore: !haveFfprobe,
  async fn() {
    const file = fragment(await demoTags());
    const boxes = topBoxes(file);
    const moov = boxes.find((b) => b.type === "moov")!;
    const path = await Deno.makeTempFile({ suffix: ".mp4" });
    try {
      for (const frac of [0.13, 0.5, 0.77, 0.999]) {
        const cut = Math.floor(file.length * frac);
        const partial = file.subarray(0, cut);
        const keep = wholeFragmentsLength(topBoxes(partial), cut);
        assert.ok(
          keep > moov.start + moov.size && keep <= cut,
          `keep ${keep} of ${cut}`,
        );
        // Exactly at the end of a fragment's mdat.
        const last = boxes.find((b) => b.start + b.size === keep);
        assert.equal(last?.type, "mdat");
        await Deno.writeFile(path, file.subarray(0, keep));
        const out = await runPeer("ffprobe", [
          "-v",
          "error",
          "-show_entries",
          "format=duration",
          "-of",
          "csv=p=0",
          path,
        ]);
        assert.equal(out.code, 0, out.stderr);
        assert.equal(out.stderr, "");
        const d = Number(out.stdout.trim());
        assert.ok(d > 0 && d <= 10.1, `${frac}: ${d}`);
      }
      assert.equal(
        wholeFragmentsLength(topBoxes(file.subarray(0, 100)), 100),
        0,
        "no moov",
      );
    } finally {
      await Deno.remove(path);
    }
  },
});

Deno.test("FlvFragmenter ends the file at a codec change and starts only on a keyframe", async () => {
  const tags = await demoTags();
  const f = new FlvFragmenter();
  const seq = tags.find((t) => t.type === 9 && t.data[1] === 0)!;
  const inter = tags.find((t) =>
    t.type === 9 && t.data[1] === 1 && (t.data[0]! >> 4) === 2
  )!;
  f.push(seq);
  assert.equal(f.push(inter).bytes.length, 0, "no start on an inter frame");
  assert.equal(f.started, false);
  for (const t of tags.slice(0, 200)) f.push(t);
  assert.equal(f.started, true);
  assert.equal(
    f.push(seq).ended,
    false,
    "the same config again changes nothing",
  );
  const changed = { ...seq, data: seq.data.slice() };
  changed.data[changed.data.length - 1]! ^= 0xff;
  const r = f.push(changed);
  assert.equal(r.ended, true);
  assert.ok(
    r.bytes.length === 1 &&
      readBoxHeader(r.bytes[0]!, 0, r.bytes[0]!.length)?.type === "moof",
  );
  assert.deepEqual(f.push(tags[300]!).bytes, []);
});

Deno.test("FlvFragmenter never throws on mutated tags (fuzz, seeded)", async () => {
  const tags = (await demoTags()).slice(0, 60);
  const next = createPrng(0xf4a9);
  for (let round = 0; round < 200; round++) {
    const f = new FlvFragmenter({ fragmentMs: 100 });
    for (const t of tags) {
      const data = next() % 3 === 0 ? mutate(next, t.data) : t.data;
      f.push({ ...t, data });
    }
    f.flush();
  }
});

Deno.test("encodeFragment() writes 64-bit decode times (tfdt version 1) and signed composition offsets that Mp4Fragments reads back", async () => {
  const { encodeFragment, encodeInitSegment } = await import(
    "../../../codec/mp4/mod.ts"
  );
  const track = {
    id: 1,
    kind: "video" as const,
    codec: "h264" as const,
    timescale: 90_000,
    config: new Uint8Array([1, 100, 0, 31, 0xff, 0xe0, 0]),
    sampleEntry: undefined,
    width: 16,
    height: 16,
  };
  const base = 5_000_000_000; // past 2^32 ticks: 15 hours at 90 kHz
  const init = encodeInitSegment([track]);
  const frag = encodeFragment(7, [{
    track,
    baseDts: base,
    samples: [
      { duration: 3000, cts: 6000, sync: true, data: new Uint8Array(5) },
      { duration: 3000, cts: -3000, sync: false, data: new Uint8Array(7) },
    ],
  }]);
  const file = new Uint8Array(init.length + frag.length);
  file.set(init, 0);
  file.set(frag, init.length);
  const [t] = indexOf(file);
  assert.deepEqual([...t!.samples.dts], [base, base + 3000]);
  assert.deepEqual([...t!.samples.cts], [6000, -3000]);
  assert.deepEqual([...t!.samples.size], [5, 7]);
  assert.deepEqual([...t!.samples.sync!], [1, 0]);
  assert.equal(t!.samples.offset[1], t!.samples.offset[0]! + 5);
});

Deno.test("FlvFragmenter.cutNow() cuts what is ready at a moment of the caller's choosing: right after a keyframe's push, the cut ends before it and the next starts with it", async () => {
  const tags = await demoTags();
  const f = new FlvFragmenter({ fragmentMs: Infinity });
  const cuts: { durationMs: number; independent: boolean }[] = [];
  const bytes: Uint8Array[] = [];
  let frames = 0;
  for (const t of tags) {
    const out = f.push(t).bytes;
    bytes.push(...out);
    if (t.type !== 9 || !f.started) continue;
    const h = decodeVideoTagHeader(t.data);
    if (h.packetType !== 1) continue;
    frames++;
    // Cut at every keyframe (a segment boundary) and every 8 frames (a part).
    if (h.frameType === 1 || frames % 8 === 0) {
      const c = f.cutNow();
      if (c) {
        cuts.push(c);
        bytes.push(c.bytes);
      }
      assert.equal(f.readyMs, 0);
      assert.equal(f.cutNow(), undefined, "nothing ready twice in a row");
    }
  }
  const last = f.finish();
  assert.ok(last);
  cuts.push(last);
  bytes.push(last.bytes);
  assert.equal(f.finish(), undefined);
  // Every cut that followed a keyframe's push started with that keyframe.
  assert.ok(cuts.filter((c) => c.independent).length >= 2);
  assert.equal(cuts[0]!.independent, true);
  for (const c of cuts) assert.ok(c.durationMs > 0 && c.durationMs <= 8 * 41);
  // The cuts are the whole stream: their (video) durations add up to the file's video track,
  // which ends at most a few audio frames before its longest track.
  const total = cuts.reduce((n, c) => n + c.durationMs, 0);
  assert.ok(
    total <= f.durationMs && total > f.durationMs - 150,
    `${total} vs ${f.durationMs}`,
  );
  const file = new Uint8Array(bytes.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of bytes) {
    file.set(p, at);
    at += p.byteLength;
  }
  assert.equal(
    wholeFragmentsLength(topBoxes(file), file.byteLength),
    file.byteLength,
  );
});
