import assert from "node:assert/strict";
import {
  HlsSequenceStore,
  SEQUENCE_STATE_MAX_AGE_MS,
} from "../../../origin/hls/mod.ts";
import { silentLogger } from "../../../origin/log.ts";
import { createPrng, mutate } from "../../_helpers/prng.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "meridian-hls-state-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("HlsSequenceStore writes each stream's state to its own file and reads it back on open", async () => {
  await withDir(async (dir) => {
    const a = await HlsSequenceStore.open(dir, { log: silentLogger });
    assert.equal(a.get("live", "cam"), undefined);
    // Many sets in a row: at most one write in flight per stream, the last state wins.
    for (let i = 1; i <= 50; i++) {
      a.set("live", "cam", { nextSequence: i, discontinuities: i >> 3 });
    }
    a.set("other", "x.y-z", { nextSequence: 3, discontinuities: 0 });
    await a.flush();
    assert.deepEqual(
      JSON.parse(await Deno.readTextFile(`${dir}/live/cam.json`)),
      { nextSequence: 50, discontinuities: 6 },
    );
    const b = await HlsSequenceStore.open(dir, { log: silentLogger });
    assert.equal(b.size, 2);
    assert.deepEqual(b.get("live", "cam"), {
      nextSequence: 50,
      discontinuities: 6,
    });
    assert.deepEqual(b.get("other", "x.y-z"), {
      nextSequence: 3,
      discontinuities: 0,
    });
    // Names that are not safe path parts stay in memory only.
    b.set("..", "cam", { nextSequence: 1, discontinuities: 0 });
    await b.flush();
    assert.deepEqual(b.get("..", "cam"), {
      nextSequence: 1,
      discontinuities: 0,
    });
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names.sort(), ["live", "other"]);
  });
});

Deno.test("HlsSequenceStore.open() drops a torn write's temporary file, malformed and stale states", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/live`);
    // A kill between the write and the rename leaves the temporary file and the old state.
    await Deno.writeTextFile(
      `${dir}/live/cam.json`,
      '{"nextSequence":9,"discontinuities":1}',
    );
    await Deno.writeTextFile(`${dir}/live/cam.json.tmp`, '{"nextSeq');
    await Deno.writeTextFile(`${dir}/live/bad.json`, '{"nextSequence":-1}');
    await Deno.writeTextFile(
      `${dir}/live/old.json`,
      '{"nextSequence":4,"discontinuities":0}',
    );
    const past = new Date(Date.now() - SEQUENCE_STATE_MAX_AGE_MS - 60_000);
    await Deno.utime(`${dir}/live/old.json`, past, past);
    const s = await HlsSequenceStore.open(dir, { log: silentLogger });
    assert.deepEqual(s.get("live", "cam"), {
      nextSequence: 9,
      discontinuities: 1,
    });
    assert.equal(s.get("live", "bad"), undefined);
    assert.equal(s.get("live", "old"), undefined);
    const left = [];
    for await (const e of Deno.readDir(`${dir}/live`)) left.push(e.name);
    assert.deepEqual(left.sort(), ["bad.json", "cam.json"]);
  });
});

Deno.test("HlsSequenceStore.open() never throws on random or mutated state files (seeded)", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/live`);
    const next = createPrng(0x5eed);
    const seed = new TextEncoder().encode(
      '{"nextSequence":123,"discontinuities":4}',
    );
    for (let i = 0; i < 200; i++) {
      await Deno.writeFile(`${dir}/live/s${i}.json`, mutate(next, seed));
    }
    const s = await HlsSequenceStore.open(dir, { log: silentLogger });
    for (let i = 0; i < 200; i++) {
      const st = s.get("live", `s${i}`);
      if (st === undefined) continue;
      assert.ok(Number.isSafeInteger(st.nextSequence) && st.nextSequence >= 0);
      assert.ok(
        Number.isSafeInteger(st.discontinuities) && st.discontinuities >= 0,
      );
    }
  });
});

Deno.test("HlsSequenceStore counts a failed write and keeps the state in memory", async () => {
  await withDir(async (dir) => {
    let errors = 0;
    const s = await HlsSequenceStore.open(dir, {
      log: silentLogger,
      onWriteError: () => errors++,
    });
    // A file where the app's directory should be: the write cannot happen.
    await Deno.writeTextFile(`${dir}/live`, "not a directory");
    s.set("live", "cam", { nextSequence: 2, discontinuities: 0 });
    await s.flush();
    assert.equal(errors, 1);
    assert.deepEqual(s.get("live", "cam"), {
      nextSequence: 2,
      discontinuities: 0,
    });
  });
});
