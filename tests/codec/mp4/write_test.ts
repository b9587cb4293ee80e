import assert from "node:assert/strict";
import {
  childBoxes,
  Mp4FormatError,
  Mp4Fragments,
  parseMovie,
  planMp4,
  readBoxHeader,
} from "../../../codec/mp4/mod.ts";
import {
  SampleTableBuilder,
  type TrackIndex,
} from "../../../codec/samples/mod.ts";
import { createPrng, mutate, randomBytes } from "../../_helpers/prng.ts";

/** A synthetic 25 fps video track with B-frame offsets and a GOP of 10, at `base` offsets. */
function videoTrack(frames: number, base: number, stride: number): TrackIndex {
  const b = new SampleTableBuilder();
  for (let i = 0; i < frames; i++) {
    b.push(
      base + i * stride,
      100 + (i % 7),
      i * 512,
      512,
      (i % 3) * 512,
      i % 10 === 0,
    );
  }
  return {
    kind: "video",
    codec: "h264",
    timescale: 12800,
    config: new Uint8Array([1, 100, 0, 31, 0xff, 0xe0]),
    sampleEntry: undefined,
    width: 320,
    height: 240,
    mediaTime: 512,
    samples: b.finish(),
  };
}

function audioTrack(frames: number, base: number, stride: number): TrackIndex {
  const b = new SampleTableBuilder();
  for (let i = 0; i < frames; i++) {
    b.push(base + i * stride, 50, i * 1024, 1024, 0, true);
  }
  return {
    kind: "audio",
    codec: "aac",
    timescale: 44100,
    config: new Uint8Array([0x12, 0x10]),
    sampleEntry: undefined,
    sampleRate: 44100,
    channels: 2,
    mediaTime: 0,
    samples: b.finish(),
  };
}

function moovOf(head: Uint8Array): Uint8Array {
  const ftyp = readBoxHeader(head, 0, head.length)!;
  const moov = readBoxHeader(head, ftyp.end, head.length)!;
  assert.equal(moov.type, "moov");
  return head.subarray(moov.start, moov.end);
}

Deno.test("planMp4() writes tables that parseMovie() reads back sample for sample", () => {
  const v = videoTrack(50, 1000, 400);
  const a = audioTrack(80, 1200, 250);
  const plan = planMp4([{ track: v, first: 10, end: 40 }, {
    track: a,
    first: 0,
    end: 80,
  }], {
    startMs: 400,
  });
  const movie = parseMovie(moovOf(plan.head), { fileSize: plan.size });
  assert.equal(movie.tracks.length, 2);
  const [mv, ma] = movie.tracks;
  assert.equal(mv!.samples.count, 30);
  assert.equal(ma!.samples.count, 80);
  // Sizes, durations, composition offsets and sync flags survive; times are rebased to 0.
  for (let i = 0; i < 30; i++) {
    assert.equal(mv!.samples.size[i], v.samples.size[i + 10]);
    assert.equal(
      mv!.samples.dts[i],
      v.samples.dts[i + 10]! - v.samples.dts[10]!,
    );
    assert.equal(mv!.samples.cts[i], v.samples.cts[i + 10]);
    assert.equal(mv!.samples.sync![i], v.samples.sync![i + 10]);
  }
  // Offsets point into the mdat payload: each sample keeps its place in the merged ranges.
  const mdatStart = plan.head.length;
  const [r0] = plan.ranges;
  assert.equal(
    mv!.samples.offset[0],
    mdatStart + (v.samples.offset[10]! - r0![0]),
  );
  // The edit list starts video presentation at 400 ms: 5120 ticks + mediaTime 512 - dts 5120.
  assert.equal(mv!.mediaTime, 512);
  assert.equal(mv!.codec, "h264");
  assert.deepEqual(mv!.config, v.config);
  assert.equal(ma!.codec, "aac");
  assert.deepEqual(ma!.config, a.config);
  assert.equal(ma!.sampleRate, 44100);
});

Deno.test("planMp4() switches to co64 and a 64-bit mdat past 4 GiB, and parseMovie() reads them", () => {
  // 20,000 samples 250 KiB apart: one merged range of 5 GB.
  const v = videoTrack(20_000, 0, 250 * 1024);
  const plan = planMp4([{ track: v, first: 0, end: 20_000 }], { startMs: 0 });
  assert.ok(plan.size > 0xffff_ffff);
  const moov = moovOf(plan.head);
  const text = new TextDecoder("latin1").decode(moov);
  assert.ok(text.includes("co64") && !text.includes("stco"));
  const mdat = readBoxHeader(plan.head, plan.head.length - 16, Infinity)!;
  assert.equal(mdat.type, "mdat");
  assert.equal(mdat.headerBytes, 16);
  const movie = parseMovie(moov, { fileSize: plan.size });
  const s = movie.tracks[0]!.samples;
  assert.equal(s.count, 20_000);
  assert.ok(s.offset[19_999]! > 0xffff_ffff);
  assert.equal(s.offset[19_999]! - s.offset[0]!, v.samples.offset[19_999]!);
});

Deno.test("parseMovie() refuses samples past the end of the file with a clear error", () => {
  const v = videoTrack(10, 0, 200);
  const plan = planMp4([{ track: v, first: 0, end: 10 }], { startMs: 0 });
  assert.throws(
    () => parseMovie(moovOf(plan.head), { fileSize: plan.head.length + 100 }),
    (e) =>
      e instanceof Mp4FormatError && e.code === "MP4_SAMPLE_PAST_END" &&
      /past the file's/.test(e.message),
  );
});

Deno.test("parseMovie() fuzz: random and mutated moov boxes throw Mp4FormatError or parse", () => {
  const next = createPrng(0x6d6f6f76);
  const v = videoTrack(30, 0, 150);
  const a = audioTrack(40, 100, 120);
  const plan = planMp4([{ track: v, first: 0, end: 30 }, {
    track: a,
    first: 0,
    end: 40,
  }], {
    startMs: 0,
  });
  const seed = moovOf(plan.head);
  let parsed = 0;
  for (let n = 0; n < 3000; n++) {
    const input = n % 5 === 0
      ? randomBytes(next, 1 + (next() % 600))
      : mutate(next, seed);
    try {
      parseMovie(input, { fileSize: plan.size });
      parsed++;
    } catch (e) {
      if (!(e instanceof Mp4FormatError)) {
        throw new Error(`case ${n}: ${e instanceof Error ? e.name : e}: ${e}`, {
          cause: e,
        });
      }
    }
  }
  assert.ok(parsed > 0, "some mutations still parse");
});

Deno.test("Mp4Fragments fuzz: mutated moof boxes throw Mp4FormatError or add samples", () => {
  const next = createPrng(0x6d6f6f66);
  const v = videoTrack(1, 0, 100);
  const plan = planMp4([{ track: v, first: 0, end: 1 }], { startMs: 0 });
  const movie = parseMovie(moovOf(plan.head), { fileSize: 1 << 20 });
  // A moof: mfhd, traf(tfhd track 1 default-base-is-moof, tfdt, trun with 3 samples).
  const u32 = (
    x: number,
  ) => [x >>> 24, (x >>> 16) & 255, (x >>> 8) & 255, x & 255];
  const box = (t: string, ...p: number[][]) => {
    const body = p.flat();
    return [
      ...u32(8 + body.length),
      ...[...t].map((c) => c.charCodeAt(0)),
      ...body,
    ];
  };
  const moof = new Uint8Array(box(
    "moof",
    box("mfhd", [0, 0, 0, 0], u32(1)),
    box(
      "traf",
      box("tfhd", [0, 2, 0, 0x20], u32(1), u32(0x01010000)),
      box("tfdt", [1, 0, 0, 0], u32(0), u32(9000)),
      box(
        "trun",
        [0, 0, 0x03, 0x01],
        u32(3),
        u32(200),
        u32(512),
        u32(100),
        u32(512),
        u32(120),
        u32(512),
        u32(90),
      ),
    ),
  ));
  const ok = new Mp4Fragments(movie, 1 << 20);
  ok.push(moof, 1000);
  const t = ok.finish()[0]!.samples;
  assert.equal(t.count, 4);
  assert.equal(t.dts[1], 9000);
  assert.equal(t.offset[1], 1200);
  assert.equal(t.offset[3], 1200 + 100 + 120);
  for (let n = 0; n < 2000; n++) {
    const f = new Mp4Fragments(movie, 1 << 20);
    try {
      f.push(mutate(next, moof), 1000);
      const s = f.finish()[0]!.samples;
      for (let i = 0; i < s.count; i++) {
        assert.ok(s.offset[i]! + s.size[i]! <= 1 << 20);
      }
    } catch (e) {
      if (!(e instanceof Mp4FormatError)) throw e;
    }
  }
});

Deno.test("childBoxes() refuses a child that runs past its parent", () => {
  const bytes = new Uint8Array([
    0,
    0,
    0,
    16,
    0x66,
    0x72,
    0x65,
    0x65,
    0,
    0,
    0,
    0,
  ]);
  assert.throws(() => childBoxes(bytes, 0, bytes.length), Mp4FormatError);
});

Deno.test("planMp4InPlace() fills the room before a payload with ftyp, moov, free and a 64-bit mdat header that parse back to the samples in place", async () => {
  const { planMp4InPlace } = await import("../../../codec/mp4/mod.ts");
  const headBytes = 64 * 1024;
  const v = videoTrack(50, headBytes, 300);
  const a = audioTrack(80, headBytes + 150, 300);
  const payloadBytes = 80 * 300 + 200;
  const head = planMp4InPlace(
    [{ track: v, first: 10, end: 40 }, { track: a, first: 0, end: 80 }],
    { startMs: 0 },
    { headBytes, payloadBytes },
  )!;
  assert.equal(head.length, headBytes);
  const types: string[] = [];
  let mdat;
  for (let o = 0; o + 8 <= head.length;) {
    const h = readBoxHeader(head, o, headBytes + payloadBytes)!;
    types.push(h.type);
    if (h.type === "mdat") mdat = h;
    if (h.type === "mdat") break;
    o = h.end;
  }
  assert.deepEqual(types, ["ftyp", "moov", "free", "mdat"]);
  assert.equal(mdat!.headerBytes, 16);
  assert.equal(mdat!.start + mdat!.size, headBytes + payloadBytes);
  const moov = readBoxHeader(
    head,
    readBoxHeader(head, 0, headBytes)!.end,
    headBytes,
  )!;
  const movie = parseMovie(head.subarray(moov.start, moov.end), {
    fileSize: headBytes + payloadBytes,
  });
  const got = movie.tracks.find((t) => t.kind === "video")!;
  assert.equal(got.samples.count, 30);
  assert.equal(got.samples.offset[0], v.samples.offset[10]);
  // Too little room: no head (the caller copies instead).
  assert.equal(
    planMp4InPlace([{ track: v, first: 0, end: 50 }], { startMs: 0 }, {
      headBytes: 256,
      payloadBytes,
    }),
    undefined,
  );
});

Deno.test("planMp4() keeps every chosen sample inside its ranges when a file's offsets go back", () => {
  // Two chunks stored out of order (a muxer may place a later chunk first): samples 5..9 lie
  // before samples 0..4 in the file.
  const b = new SampleTableBuilder();
  for (let i = 0; i < 10; i++) {
    const off = i < 5 ? 10_000 + i * 100 : 1_000 + (i - 5) * 100;
    b.push(off, 100, i * 512, 512, 0, i === 0 || i === 5);
  }
  const v: TrackIndex = { ...videoTrack(1, 0, 1), samples: b.finish() };
  const plan = planMp4([{ track: v, first: 0, end: 10 }], { startMs: 0 });
  const covered = (o: number, n: number) =>
    plan.ranges.some(([a, len]) => o >= a && o + n <= a + len);
  for (let i = 0; i < 10; i++) {
    assert.ok(covered(v.samples.offset[i]!, 100), `sample ${i}`);
  }
  const movie = parseMovie(moovOf(plan.head), { fileSize: plan.size });
  assert.equal(movie.tracks[0]!.samples.count, 10);
});
