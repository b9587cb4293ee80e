import assert from "node:assert/strict";
import {
  DISK_FULL_RETRY_MS,
  DvrStore,
} from "../../../origin/archive/dvr_store.ts";
import { parseIndex } from "../../../origin/archive/dvr_index.ts";
import {
  canMount,
  captureLogger,
  fakeHub,
  manualClock,
  policiesOf,
  segment,
  smallDisk,
  unmount,
} from "./_fixture.ts";

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "meridian-dvr-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("DvrStore keeps each segment on disk with an index line, in order, and reads the window back after a restart", async () => {
  await withDir(async (dir) => {
    const clock = manualClock(T0);
    const policies = policiesOf();
    const open = () =>
      DvrStore.open({
        dir,
        maxBytes: 1 << 30,
        policies,
        log: captureLogger().log,
        now: clock.now,
        sweepIntervalMs: 0,
      });
    const dvr = await open();
    const hub = fakeHub("live", "cam", T0);
    for (let i = 0; i < 5; i++) {
      dvr.onSegment(
        hub,
        segment("p", i, T0 + i * 2000, { discontinuity: i === 0 }),
      );
    }
    await dvr.flush();
    const v = dvr.view("live", "cam")!;
    assert.deepEqual(v.segments.map((s) => s.name), [
      "p-0.ts",
      "p-1.ts",
      "p-2.ts",
      "p-3.ts",
      "p-4.ts",
    ]);
    assert.equal(v.live, true);
    assert.equal(v.sessions.length, 1);
    assert.equal(v.bytes, 5 * 1880);
    const bytes = await Deno.readFile(`${dir}/live/cam/p-3.ts`);
    assert.equal(bytes.byteLength, 1880);
    assert.equal(bytes[0], 3);
    const index = parseIndex(
      await Deno.readTextFile(`${dir}/live/cam/${T0}.idx`),
    );
    assert.equal(index.header?.app, "live");
    assert.equal(index.entries.length, 5);
    assert.equal(index.entries[0]!.discontinuity, true);
    assert.equal(index.endedAtMs, undefined, "still live: no end line");
    // No close(): the process "dies" here; a second store reads the same window back.
    const again = await open();
    const w = again.view("live", "cam")!;
    assert.deepEqual(
      w.segments.map((s) => [s.name, s.programDateTimeMs, s.durationMs]),
      v.segments.map((s) => [s.name, s.programDateTimeMs, s.durationMs]),
    );
    assert.equal(w.live, false);
    assert.equal(
      w.sessions[0]!.endedAtMs,
      T0 + 5 * 2000,
      "a cut session ends with its last segment",
    );
    await dvr.close();
    await again.close();
  });
});

Deno.test("DvrStore drops a torn index line, skips entries whose file is gone and removes files no index names", async () => {
  await withDir(async (dir) => {
    const clock = manualClock(T0);
    const { log, lines } = captureLogger();
    const opts = {
      dir,
      maxBytes: 1 << 30,
      policies: policiesOf(),
      log,
      now: clock.now,
      sweepIntervalMs: 0,
    };
    const dvr = await DvrStore.open(opts);
    const hub = fakeHub("live", "cam", T0);
    for (let i = 0; i < 4; i++) {
      dvr.onSegment(hub, segment("p", i, T0 + i * 2000));
    }
    await dvr.flush();
    const d = `${dir}/live/cam`;
    // A crash mid-line, a segment file written without its line, a file lost.
    await Deno.writeTextFile(`${d}/${T0}.idx`, '{"n":"p-4.ts","q":4,"t":', {
      append: true,
    });
    await Deno.writeFile(`${d}/p-9.ts`, new Uint8Array(188));
    await Deno.remove(`${d}/p-1.ts`);
    await Deno.writeFile(`${d}/x.idx.tmp`, new Uint8Array(3));
    const again = await DvrStore.open(opts);
    assert.deepEqual(again.view("live", "cam")!.segments.map((s) => s.name), [
      "p-0.ts",
      "p-2.ts",
      "p-3.ts",
    ]);
    assert.equal(await exists(`${d}/p-9.ts`), false, "orphan removed");
    assert.equal(await exists(`${d}/x.idx.tmp`), false, "temporary removed");
    const line = lines.map((l) => JSON.parse(l)).find((l) =>
      l.msg === "DVR index recovered"
    );
    assert.deepEqual(
      [line?.tornLines, line?.missingFiles, line?.orphanFiles],
      [1, 1, 1],
    );
    await dvr.close();
    await again.close();
  });
});

Deno.test("DvrStore slides each stream's window: older segments leave memory and disk, an emptied ended session's index goes", async () => {
  await withDir(async (dir) => {
    const clock = manualClock(T0);
    const dvr = await DvrStore.open({
      dir,
      maxBytes: 1 << 30,
      policies: policiesOf({
        apps: [{ name: "tv", dvr: { enabled: true, windowSeconds: 10 } }],
      }),
      log: captureLogger().log,
      now: clock.now,
      sweepIntervalMs: 0,
    });
    const first = fakeHub("tv", "one", T0);
    for (let i = 0; i < 3; i++) {
      clock.ms = T0 + (i + 1) * 2000;
      dvr.onSegment(first, segment("a", i, T0 + i * 2000));
    }
    dvr.onPublishEnd(first);
    const second = fakeHub("tv", "one", T0 + 20_000);
    clock.ms = T0 + 22_000;
    dvr.onSegment(
      second,
      segment("b", 3, T0 + 20_000, { discontinuity: true }),
    );
    await dvr.flush();
    // The window is 10 s before 22 s: the first session's segments (0..6 s) are gone.
    const v = dvr.view("tv", "one")!;
    assert.deepEqual(v.segments.map((s) => s.name), ["b-3.ts"]);
    assert.equal(v.sessions.length, 1);
    await dvr.flush();
    await new Promise((r) => setTimeout(r, 50)); // file removal runs after memory
    assert.equal(await exists(`${dir}/tv/one/a-0.ts`), false);
    assert.equal(await exists(`${dir}/tv/one/${T0}.idx`), false);
    assert.equal(await exists(`${dir}/tv/one/b-3.ts`), true);
    assert.equal(dvr.stats.evicted.window, 3);
    // A stream with no new segments still slides (the sweep).
    clock.ms = T0 + 40_000;
    dvr.sweep();
    assert.equal(dvr.view("tv", "one")?.segments.length ?? 0, 0);
    await dvr.close();
  });
});

Deno.test("DvrStore bounds bytes per app and overall, oldest first across streams, with a log line", async () => {
  await withDir(async (dir) => {
    const clock = manualClock(T0 + 100_000);
    const { log, lines } = captureLogger();
    const dvr = await DvrStore.open({
      dir,
      maxBytes: 10 * 1000,
      policies: policiesOf({
        apps: [{ name: "tv", dvr: { enabled: true, maxBytes: 3000 } }],
      }),
      log,
      now: clock.now,
      sweepIntervalMs: 0,
    });
    const a = fakeHub("tv", "a", T0);
    const b = fakeHub("tv", "b", T0);
    const c = fakeHub("live", "c", T0);
    // tv/a and tv/b interleave in time; each segment is 1000 bytes.
    for (let i = 0; i < 4; i++) {
      dvr.onSegment(a, segment("a", i, T0 + i * 2000, { bytes: 1000 }));
      dvr.onSegment(b, segment("b", i, T0 + i * 2000 + 1000, { bytes: 1000 }));
    }
    await dvr.flush();
    const kept = [
      ...dvr.view("tv", "a")!.segments,
      ...dvr.view("tv", "b")!.segments,
    ].map((s) => s.name).sort();
    assert.deepEqual(
      kept,
      ["a-3.ts", "b-2.ts", "b-3.ts"],
      "the app's newest 3000 bytes",
    );
    for (let i = 0; i < 9; i++) {
      dvr.onSegment(
        c,
        segment("c", i, T0 + 10_000 + i * 2000, { bytes: 1000 }),
      );
    }
    await dvr.flush();
    assert.ok(dvr.totalBytes <= 10_000, `total ${dvr.totalBytes}`);
    // The oldest went first: tv's segments (before 10 s) before any of live/c.
    assert.equal(dvr.view("tv", "a")?.segments.length ?? 0, 0);
    assert.ok(dvr.stats.evicted.max_bytes >= 5);
    const logged = lines.map((l) => JSON.parse(l)).filter((l) =>
      l.msg === "DVR over maxBytes: oldest segments evicted"
    );
    assert.ok(logged.some((l) => l.scope === "app tv"));
    assert.ok(logged.some((l) => l.scope === "all apps"));
    await dvr.close();
  });
});

Deno.test("DvrStore removes at start-up what a stream whose DVR is now off still keeps", async () => {
  await withDir(async (dir) => {
    const clock = manualClock(T0);
    const base = {
      dir,
      maxBytes: 1 << 30,
      log: captureLogger().log,
      now: clock.now,
      sweepIntervalMs: 0,
    };
    const dvr = await DvrStore.open({ ...base, policies: policiesOf() });
    dvr.onSegment(fakeHub("live", "cam", T0), segment("p", 0, T0));
    await dvr.close();
    const off = await DvrStore.open({
      ...base,
      policies: policiesOf({ defaultApp: { dvr: { enabled: false } } }),
    });
    assert.equal(off.view("live", "cam"), undefined);
    assert.equal(off.stats.evicted.policy, 1);
    // And no new segments are kept for it.
    off.onSegment(fakeHub("live", "cam", T0 + 1), segment("q", 1, T0 + 10));
    await off.flush();
    assert.equal(off.view("live", "cam"), undefined);
    await off.close();
  });
});

Deno.test({
  name:
    "DvrStore on a full disk stops DVR writes, logs once, keeps what it had and resumes when there is room",
  ignore: !canMount, // needs `mount -t tmpfs` (root in this container)
  async fn() {
    const dir = (await smallDisk(256))!;
    try {
      const clock = manualClock(T0);
      const { log, lines } = captureLogger();
      const dvr = await DvrStore.open({
        dir,
        maxBytes: 1 << 30,
        policies: policiesOf(),
        log,
        now: clock.now,
        sweepIntervalMs: 0,
      });
      const hub = fakeHub("live", "cam", T0);
      // 60 KB segments on a 256 KB disk: the fifth cannot fit.
      for (let i = 0; i < 8; i++) {
        clock.ms = T0 + i * 2000;
        dvr.onSegment(hub, segment("p", i, T0 + i * 2000, { bytes: 60_000 }));
        await dvr.flush();
      }
      assert.equal(dvr.diskFull, true);
      const kept = dvr.view("live", "cam")!.segments.map((s) => s.name);
      assert.ok(kept.length >= 3 && kept.length <= 4, kept.join());
      assert.ok(dvr.stats.dropped.disk_full >= 4);
      const full = lines.filter((l) => l.includes("DVR disk full"));
      assert.equal(full.length, 1, "one log line, not one per segment");
      // Every kept segment is whole on disk.
      for (const name of kept) {
        assert.equal((await Deno.stat(`${dir}/live/cam/${name}`)).size, 60_000);
      }
      // Room again (the window slid), and the retry time passed: writes resume.
      for (const name of kept.slice(0, 2)) {
        await Deno.remove(`${dir}/live/cam/${name}`);
      }
      clock.ms += DISK_FULL_RETRY_MS + 1;
      dvr.onSegment(hub, segment("p", 20, clock.ms, { bytes: 60_000 }));
      await dvr.flush();
      assert.equal(dvr.diskFull, false);
      assert.ok(lines.some((l) => l.includes("DVR writes resumed")));
      await dvr.close();
    } finally {
      await unmount(dir);
    }
  },
});

Deno.test("DvrStore rewrites a long live session's index without the lines of evicted segments, and it reads back the same", async () => {
  await withDir(async (dir) => {
    const clock = manualClock(T0);
    const opts = {
      dir,
      maxBytes: 1 << 30,
      policies: policiesOf({ defaultApp: { dvr: { windowSeconds: 20 } } }),
      log: captureLogger().log,
      now: clock.now,
      sweepIntervalMs: 0,
      compactMinDeadLines: 10,
    };
    const dvr = await DvrStore.open(opts);
    const hub = fakeHub("live", "cam", T0);
    for (let i = 0; i < 60; i++) {
      clock.ms = T0 + (i + 1) * 2000;
      dvr.onSegment(hub, segment("p", i, T0 + i * 2000, { bytes: 188 }));
      await dvr.flush();
    }
    const kept = dvr.view("live", "cam")!.segments.map((s) => s.name);
    assert.ok(kept.length <= 12, `${kept.length} kept`);
    const lines = (await Deno.readTextFile(`${dir}/live/cam/${T0}.idx`))
      .trim().split("\n");
    // Header + kept ones + fewer than 2 × the threshold of dead lines: not 61 lines.
    assert.ok(
      lines.length < 1 + kept.length + 2 * 10 + 1,
      `${lines.length} lines`,
    );
    assert.match(lines[0]!, /"session"/, "the header stays first");
    const again = await DvrStore.open(opts);
    assert.deepEqual(
      again.view("live", "cam")!.segments.map((s) => s.name),
      kept,
    );
    await dvr.close();
    await again.close();
  });
});
