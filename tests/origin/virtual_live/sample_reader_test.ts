import assert from "node:assert/strict";
import {
  MAX_SAMPLE_BYTES,
  SAMPLE_BLOCK_BYTES,
  SampleReader,
} from "../../../origin/virtual_live/sample_reader.ts";
import { VirtualLiveError } from "../../../origin/virtual_live/errors.ts";

/** A byte at each offset that names it (so a wrong offset reads wrong bytes). */
const byteAt = (offset: number) => (offset * 31 + (offset >>> 11)) & 0xff;

async function withFile<T>(
  size: number,
  fn: (path: string) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "vlive_reader_" });
  const path = `${dir}/f.bin`;
  const bytes = new Uint8Array(size).map((_, i) => byteAt(i));
  await Deno.writeFile(path, bytes);
  try {
    return await fn(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function check(got: Uint8Array, offset: number, size: number): void {
  assert.equal(got.byteLength, size);
  for (let i = 0; i < size; i += 997) {
    assert.equal(got[i], byteAt(offset + i), `byte ${offset + i}`);
  }
  assert.equal(got[size - 1], byteAt(offset + size - 1));
}

Deno.test("SampleReader.read() returns the bytes at any offset: within a block, across blocks, two regions at once, larger than a block", async () => {
  const size = 3 * SAMPLE_BLOCK_BYTES + 12345;
  await withFile(size, async (path) => {
    const r = await SampleReader.open(path);
    try {
      // Sequential frames through blocks (a frame straddling a block's end starts a new one).
      let o = 0;
      while (o + 70_001 <= size) {
        check(await r.read(o, 70_001), o, 70_001);
        o += 70_001;
      }
      // Two interleaved regions far apart (video run, audio run).
      for (let i = 0; i < 20; i++) {
        check(await r.read(1000 + i * 5000, 4000), 1000 + i * 5000, 4000);
        check(
          await r.read(2 * SAMPLE_BLOCK_BYTES + i * 900, 800),
          2 * SAMPLE_BLOCK_BYTES + i * 900,
          800,
        );
      }
      // A frame bigger than a block, read straight into the caller's buffer after a header.
      const into = new Uint8Array(5 + SAMPLE_BLOCK_BYTES + 10);
      await r.read(17, SAMPLE_BLOCK_BYTES + 10, into.subarray(5));
      check(into.subarray(5), 17, SAMPLE_BLOCK_BYTES + 10);
      // Copies: a later read does not change what an earlier one returned.
      const first = await r.read(0, 100);
      await r.read(3 * SAMPLE_BLOCK_BYTES, 100);
      await r.read(SAMPLE_BLOCK_BYTES, 100);
      check(first, 0, 100);
    } finally {
      r.close();
      r.close(); // idempotent
    }
  });
});

Deno.test("SampleReader.read() refuses a frame past the end of the file or over MAX_SAMPLE_BYTES", async () => {
  await withFile(10_000, async (path) => {
    const r = await SampleReader.open(path);
    try {
      const truncated = (message: RegExp) => (e: unknown) =>
        e instanceof VirtualLiveError && e.code === "VIRTUAL_LIVE_TRUNCATED" &&
        message.test(e.message);
      await assert.rejects(
        () => r.read(9_990, 20),
        truncated(/the file ends at 10000, before 10010/),
      );
      await assert.rejects(
        () => r.read(0, 2 * SAMPLE_BLOCK_BYTES),
        truncated(/the file ends at 10000, before 2097152/),
      );
      await assert.rejects(() => r.read(0, MAX_SAMPLE_BYTES + 1), RangeError);
      check(await r.read(9_000, 1_000), 9_000, 1_000);
    } finally {
      r.close();
    }
  });
});

Deno.test("SampleReader reads a frame 5 GiB into a (sparse) file: offsets past 4 GiB, one block read", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vlive_reader_" });
  const path = `${dir}/sparse.bin`;
  const at = 5 * 1024 ** 3;
  try {
    const f = await Deno.open(path, { write: true, create: true });
    await f.seek(at, Deno.SeekMode.Start);
    await f.write(new Uint8Array([1, 2, 3, 4, 5]));
    f.close();
    const r = await SampleReader.open(path);
    try {
      assert.deepEqual([...await r.read(at + 1, 3)], [2, 3, 4]);
    } finally {
      r.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
