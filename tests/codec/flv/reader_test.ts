import assert from "node:assert/strict";
import {
  encodeFlvHeader,
  encodeFlvTag,
  FlvErrorCode,
  FlvFormatError,
  FlvReader,
  type FlvTag,
  MAX_TAG_BYTES,
  readFlvFile,
} from "../../../codec/flv/mod.ts";
import { mulberry32, randBytes, randInt } from "../../_helpers/prng.ts";

function sampleFile(): { bytes: Uint8Array; tags: FlvTag[] } {
  const tags: FlvTag[] = [
    { type: 18, timestampMs: 0, data: new Uint8Array([2, 0, 10]) },
    {
      type: 9,
      timestampMs: 0,
      data: new Uint8Array([0x17, 0, 0, 0, 0, 1, 0x64]),
    },
    { type: 8, timestampMs: 0, data: new Uint8Array([0xaf, 0, 0x12, 0x10]) },
    { type: 9, timestampMs: 40, data: new Uint8Array(1000).fill(7) },
    { type: 8, timestampMs: 0x01000023, data: new Uint8Array([0xaf, 1, 2, 3]) },
  ];
  const parts = [
    encodeFlvHeader({ hasAudio: true, hasVideo: true }),
    ...tags.map(encodeFlvTag),
  ];
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    bytes.set(p, o);
    o += p.byteLength;
  }
  return { bytes, tags };
}

Deno.test("readFlvFile() reads back encoded tags", () => {
  const { bytes, tags } = sampleFile();
  const file = readFlvFile(bytes);
  assert.deepEqual(file.header, {
    hasAudio: true,
    hasVideo: true,
    headerBytes: 9,
  });
  assert.deepEqual(file.tags, tags);
});

Deno.test("FlvReader.pull() yields the same tags for every split point", () => {
  const { bytes, tags } = sampleFile();
  for (let split = 0; split <= bytes.byteLength; split += 7) {
    const reader = new FlvReader();
    reader.push(bytes.subarray(0, split));
    const got = reader.pullAll();
    reader.push(bytes.subarray(split));
    got.push(...reader.pullAll());
    assert.deepEqual(got, tags, `split at ${split}`);
    assert.equal(reader.atTagBoundary, true);
  }
});

Deno.test("FlvReader.pull() works byte by byte", () => {
  const { bytes, tags } = sampleFile();
  const reader = new FlvReader();
  const got: FlvTag[] = [];
  for (let i = 0; i < bytes.byteLength; i++) {
    reader.push(bytes.subarray(i, i + 1));
    got.push(...reader.pullAll());
  }
  assert.deepEqual(got, tags);
});

Deno.test("FlvReader skips a header longer than 9 bytes", () => {
  const header = new Uint8Array([
    0x46,
    0x4c,
    0x56,
    1,
    4,
    0,
    0,
    0,
    12,
    0xee,
    0xee,
    0xee,
    0,
    0,
    0,
    0,
  ]);
  const tag = encodeFlvTag({
    type: 8,
    timestampMs: 1,
    data: new Uint8Array([0x2f]),
  });
  const file = readFlvFile(new Uint8Array([...header, ...tag]));
  assert.equal(file.header.headerBytes, 12);
  assert.equal(file.tags.length, 1);
});

Deno.test("FlvReader rejects a tag above maxTagBytes before buffering its body", () => {
  const reader = new FlvReader({ maxTagBytes: 100 });
  reader.push(encodeFlvHeader({ hasAudio: false, hasVideo: true }));
  reader.push(new Uint8Array([9, 0, 0, 101, 0, 0, 0, 0, 0, 0, 0]));
  assert.throws(
    () => reader.pull(),
    (e) => e instanceof FlvFormatError && e.code === FlvErrorCode.TagTooLarge,
  );
  // The reader stays failed.
  assert.throws(() => reader.push(new Uint8Array(1)), FlvFormatError);
  assert.throws(() => new FlvReader({ maxTagBytes: -1 }), RangeError);
  assert.equal(MAX_TAG_BYTES, 8 * 1024 * 1024);
});

Deno.test("FlvReader rejects a PreviousTagSize that disagrees with its tag", () => {
  const { bytes } = sampleFile();
  const copy = bytes.slice();
  copy[13 + 11 + 3 + 3] = copy[13 + 11 + 3 + 3]! ^ 0x40; // the first tag's PreviousTagSize
  assert.throws(
    () => readFlvFile(copy),
    (e) =>
      e instanceof FlvFormatError && e.code === FlvErrorCode.BadPreviousTagSize,
  );
});

Deno.test("readFlvFile() reports truncation", () => {
  const { bytes } = sampleFile();
  for (const cut of [3, 10, 20, bytes.byteLength - 1]) {
    assert.throws(
      () => readFlvFile(bytes.subarray(0, cut)),
      (e) => e instanceof FlvFormatError && e.code === FlvErrorCode.Truncated,
    );
  }
});

Deno.test("FlvReader fuzz: random, truncated, bit-flipped and huge-length inputs throw only FlvFormatError", () => {
  const rand = mulberry32(0x5eed_f1c0);
  const { bytes: base } = sampleFile();
  const inputs: Uint8Array[] = [];
  for (let i = 0; i < 500; i++) {
    inputs.push(randBytes(rand, randInt(rand, 300)));
  }
  for (let i = 0; i < 500; i++) {
    inputs.push(base.subarray(0, randInt(rand, base.byteLength)));
  }
  for (let i = 0; i < 600; i++) {
    const m = base.slice();
    for (let k = 1 + randInt(rand, 4); k > 0; k--) {
      const at = randInt(rand, m.byteLength);
      m[at] = m[at]! ^ (1 << randInt(rand, 8));
    }
    inputs.push(m);
  }
  for (let i = 0; i < 400; i++) {
    const m = base.slice();
    // Huge DataSize in the first tag header (offset 13 + 1).
    m[14] = 0xff;
    m[15] = randInt(rand, 256);
    m[16] = randInt(rand, 256);
    inputs.push(m.subarray(0, 13 + randInt(rand, m.byteLength - 13)));
  }
  let ok = 0;
  for (const input of inputs) {
    const reader = new FlvReader({ maxTagBytes: 4096 });
    try {
      // Push in random slices to exercise the chunk queue too.
      let o = 0;
      while (o < input.byteLength) {
        const n = 1 + randInt(rand, 64);
        reader.push(input.subarray(o, o + n));
        o += n;
        for (const tag of reader.pullAll()) {
          assert.ok([8, 9, 18].includes(tag.type));
          assert.ok(tag.data.byteLength <= 4096);
          encodeFlvTag(tag); // every returned tag re-encodes
        }
      }
      ok++;
    } catch (e) {
      assert.ok(e instanceof FlvFormatError, `unexpected ${e}`);
    }
  }
  assert.equal(inputs.length, 2000);
  assert.ok(ok > 0);
});
