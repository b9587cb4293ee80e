import assert from "node:assert/strict";
import {
  encodeFlvHeader,
  encodeFlvTag,
  FlvTagType,
} from "../../../codec/flv/mod.ts";
import { concatBytes } from "../../../codec/bytes/concat.ts";
import { indexMediaFile, Library, VodError } from "../../../origin/vod/mod.ts";
import { createPrng, mutate } from "../../_helpers/prng.ts";

/** A small FLV: AVC + AAC sequence headers, then `frames` video and audio frames. */
function flvBytes(frames: number): Uint8Array {
  const avcc = new Uint8Array([
    1,
    66,
    0,
    30,
    0xff,
    0xe1,
    0,
    4,
    0x67,
    66,
    0,
    30,
    1,
    0,
    2,
    0x68,
    0xce,
  ]);
  const tags: Uint8Array[] = [
    encodeFlvHeader({ hasAudio: true, hasVideo: true }),
    encodeFlvTag({
      type: FlvTagType.Video,
      timestampMs: 0,
      data: concatBytes([new Uint8Array([0x17, 0, 0, 0, 0]), avcc]),
    }),
    encodeFlvTag({
      type: FlvTagType.Audio,
      timestampMs: 0,
      data: new Uint8Array([0xaf, 0, 0x12, 0x10]),
    }),
  ];
  for (let i = 0; i < frames; i++) {
    const key = i % 10 === 0;
    tags.push(encodeFlvTag({
      type: FlvTagType.Video,
      timestampMs: i * 40,
      data: new Uint8Array([
        key ? 0x17 : 0x27,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        2,
        key ? 0x65 : 0x41,
        i & 255,
      ]),
    }));
    tags.push(encodeFlvTag({
      type: FlvTagType.Audio,
      timestampMs: i * 40 + 3,
      data: new Uint8Array([0xaf, 1, 0x21, i & 255, 7]),
    }));
  }
  return concatBytes(tags);
}

async function index(dir: string, name: string, bytes: Uint8Array) {
  await Deno.writeFile(`${dir}/${name}`, bytes);
  const f = await new Library({ path: dir, prefix: "/vod/" }).stat(name);
  return await indexMediaFile(f!);
}

Deno.test("indexMediaFile() turns FLV tags into samples: payload offsets past the codec headers, keyframes, configs", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = await index(dir, "a.flv", flvBytes(30));
    const [v, a] = m.index.tracks;
    assert.equal(v!.codec, "h264");
    assert.equal(v!.samples.count, 30);
    assert.deepEqual([...v!.samples.sync!].reduce((x, y) => x + y, 0), 3);
    assert.equal(v!.samples.size[0], 6); // 11-byte body minus the 5-byte AVC header
    assert.equal(v!.samples.duration[5], 40);
    assert.equal(a!.codec, "aac");
    assert.equal(a!.sampleRate, 44100);
    assert.equal(a!.samples.count, 30);
    const file = await Deno.readFile(`${dir}/a.flv`);
    assert.equal(file[v!.samples.offset[0]! + 4], 0x65); // the NALU, after its 4-byte length
    assert.ok(Math.abs(m.index.durationMs - 1200) <= 40);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("indexMediaFile() fuzz: mutated and cut FLV and MP4 files index or fail with a VodError, never hang or crash", async () => {
  const dir = await Deno.makeTempDir();
  const next = createPrng(0x666c7631);
  try {
    const seed = flvBytes(20);
    for (let n = 0; n < 300; n++) {
      const bytes = mutate(next, seed);
      const name = n % 2 ? "x.flv" : "x.mp4";
      try {
        const m = await index(dir, name, bytes);
        for (const t of m.index.tracks) {
          for (let i = 0; i < t.samples.count; i++) {
            assert.ok(
              t.samples.offset[i]! + t.samples.size[i]! <= bytes.length,
            );
          }
        }
      } catch (e) {
        if (!(e instanceof VodError)) {
          throw new Error(`case ${n}: ${e}`, { cause: e });
        }
        assert.ok(e.status >= 400 && e.status < 600);
        assert.match(e.message, /^Cannot /);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("indexMediaFile() indexes a fragmented MP4 being written: a last fragment whose mdat is not whole yet is left out", async () => {
  const { readFlvFile } = await import("../../../codec/flv/mod.ts");
  const { FlvFragmenter } = await import("../../../codec/mp4/mod.ts");
  const tags = readFlvFile(
    await Deno.readFile(new URL("../../../media/demo.flv", import.meta.url)),
  ).tags;
  const f = new FlvFragmenter({ fragmentMs: 1000 });
  const parts: Uint8Array[] = [];
  for (const t of tags) parts.push(...f.push(t).bytes);
  parts.push(...f.flush());
  const whole = concatBytes(parts);
  // Everything up to the middle of the last fragment's mdat.
  const lastMoof = whole.length - parts.at(-1)!.length;
  const cut = whole.subarray(
    0,
    lastMoof + Math.floor(parts.at(-1)!.length / 2),
  );
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/rec.mp4`, cut);
    const lib = new Library({ path: dir, prefix: "/vod/" });
    const file = (await lib.stat("rec.mp4"))!;
    const media = await indexMediaFile(file);
    assert.equal(media.fragmented, true);
    const video = media.index.tracks.find((t) => t.kind === "video")!;
    const all = tags.filter((t) => t.type === 9 && t.data[1] === 1).length;
    assert.ok(video.samples.count > all * 0.8 && video.samples.count < all);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
