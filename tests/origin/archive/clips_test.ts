import assert from "node:assert/strict";
import { type FlvTag, readFlvFile } from "../../../codec/flv/mod.ts";
import { parseMediaPlaylist } from "../../../codec/hls/mod.ts";
import { presentationTicks } from "../../../codec/samples/mod.ts";
import { type ClipJob, ClipJobs } from "../../../origin/archive/clips.ts";
import { DvrStore } from "../../../origin/archive/dvr_store.ts";
import { ArchiveError } from "../../../origin/archive/errors.ts";
import { indexFile } from "../../../origin/archive/finalize.ts";
import { HlsStream } from "../../../origin/hls/mod.ts";
import { silentLogger } from "../../../origin/log.ts";
import { VodService } from "../../../origin/vod/mod.ts";
import { hasBinary, runPeer, waitFor } from "../../_helpers/peers.ts";
import {
  canMount,
  type captureLogger,
  fakeHub,
  policiesOf,
  smallDisk,
  unmount,
} from "./_fixture.ts";

const DEMO = new URL("../../../media/demo.flv", import.meta.url);
const demo: FlvTag[] = readFlvFile(await Deno.readFile(DEMO)).tags;
const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe");
/** The wall clock demo.flv was "published" at: its PDTs are T0 + its timestamps. */
const T0 = Date.now() - 60_000;
const GOP_S = 2;

interface Setup {
  readonly dir: string;
  readonly lib: string;
  readonly jobs: ClipJobs;
  readonly dvr: DvrStore;
  readonly vod: VodService;
  reopen(opts?: { maxConcurrent?: number }): Promise<ClipJobs>;
  close(): Promise<void>;
}

/** A DVR holding demo.flv as live/cam (2 s segments), a library holding demo.flv. */
async function setup(
  opts: {
    maxConcurrent?: number;
    lib?: string;
    log?: ReturnType<typeof captureLogger>;
    ffmpegPath?: string;
    /** The live packager's segment target (2 s GOPs: 4000 puts two in a segment). */
    targetDurationMs?: number;
  } = {},
): Promise<Setup> {
  const dir = await Deno.makeTempDir({ prefix: "meridian-clips-" });
  const lib = opts.lib ?? `${dir}/lib`;
  await Deno.mkdir(lib, { recursive: true });
  await Deno.copyFile(DEMO, `${lib}/demo.flv`);
  const dvr = await DvrStore.open({
    dir: `${dir}/dvr`,
    maxBytes: 1 << 30,
    policies: policiesOf(),
    log: silentLogger,
    sweepIntervalMs: 0,
  });
  const hub = fakeHub("live", "cam", T0);
  let ts = 0;
  const hls = new HlsStream({
    streamName: "cam",
    segmentNamePrefix: "c",
    ...(opts.targetDurationMs
      ? { targetDurationMs: opts.targetDurationMs }
      : {}),
    now: () => T0 + ts,
    onSegmentClosed: (s) => dvr.onSegment(hub, s),
  });
  for (const t of demo) {
    ts = t.timestampMs;
    hls.onTag(t);
  }
  hls.onEnd();
  dvr.onPublishEnd(hub);
  await dvr.flush();
  const vod = new VodService({
    libraries: [{ path: lib, prefix: "/vod/" }],
    hlsSegmentSeconds: 2,
    indexCacheBytes: 1 << 24,
    maxAgeSeconds: 60,
    ffmpegPath: "",
  }, { log: silentLogger });
  const make = (maxConcurrent = opts.maxConcurrent ?? 2) =>
    ClipJobs.open({
      stateDir: `${dir}/state/clips`,
      workDir: `${dir}/state/work`,
      libraryDir: lib,
      libraryPrefix: "/vod/",
      clipPattern: "clips/{app}/{stream}/{name}.{ext}",
      maxConcurrent,
      hlsSegmentMs: 2000,
      ffmpegPath: opts.ffmpegPath ?? "",
    }, {
      dvr,
      vod,
      isOpen: () => false,
      log: opts.log?.log ?? silentLogger,
    });
  let jobs = await make();
  return {
    dir,
    lib,
    dvr,
    vod,
    get jobs() {
      return jobs;
    },
    async reopen(o = {}) {
      jobs = await make(o.maxConcurrent);
      return jobs;
    },
    async close() {
      await jobs.close();
      await dvr.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const unix = (ms: number) => ms / 1000;

async function finished(jobs: ClipJobs, id: string): Promise<ClipJob> {
  return await waitFor(
    `clip ${id}`,
    () => {
      const j = jobs.get(id);
      return j && ["done", "failed", "cancelled"].includes(j.state)
        ? j
        : undefined;
    },
    30_000,
    10,
  );
}

async function frames(path: string): Promise<number> {
  const media = await indexFile(path);
  return media.index.tracks.find((t) => t.kind === "video")!.samples.count;
}

Deno.test("clips: a DVR range cut on keyframes into MP4 and FLV, within one GOP of what was asked, with progress reported", async () => {
  const t = await setup();
  try {
    for (const format of ["mp4", "flv"] as const) {
      const job = await t.jobs.submit({
        app: "live",
        stream: "cam",
        start: unix(T0 + 3000),
        end: new Date(T0 + 7500).toISOString(),
        format,
      });
      assert.ok(["queued", "running"].includes(job.state), job.state);
      const seen = new Set<number>();
      const done = await waitFor(
        "the clip",
        () => {
          const j = t.jobs.get(job.id)!;
          seen.add(j.percent);
          return j.state === "done" || j.state === "failed" ? j : undefined;
        },
        30_000,
        1,
      );
      assert.equal(done.state, "done", JSON.stringify(done.error));
      assert.equal(done.percent, 100);
      assert.match(
        done.path!,
        new RegExp(`^clips/live/cam/.*_5s\\.${format}$`),
      );
      assert.equal(done.url, `/vod/${done.path}`);
      const media = await indexFile(`${t.lib}/${done.path}`);
      // Asked 4.5 s; cut from the keyframe at 2 s to the one at 6 s.
      assert.ok(
        Math.abs(media.index.durationMs / 1000 - 4.5) <= GOP_S,
        `${format}: ${media.index.durationMs} ms`,
      );
      assert.equal(done.duration, Math.round(media.index.durationMs) / 1000);
      assert.equal(done.bytes, (await Deno.stat(`${t.lib}/${done.path}`)).size);
      // The library serves it at once.
      const res = await t.vod.handle(new Request(`http://o${done.url}`));
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }
    // A library file cut the same way.
    const job = await t.jobs.submit({
      path: "demo.flv",
      start: 1,
      end: 5,
      format: "mp4",
    });
    const done = await finished(t.jobs, job.id);
    assert.equal(done.state, "done", JSON.stringify(done.error));
    assert.equal(done.path, "clips/vod/demo/demo_1-5.mp4");
    const d = (await indexFile(`${t.lib}/${done.path}`)).index.durationMs /
      1000;
    assert.ok(Math.abs(d - 4) <= GOP_S, `${d}`);
  } finally {
    await t.close();
  }
});

Deno.test("clips: an HLS package in the library (playlist and segments), served by the library", async () => {
  const t = await setup();
  try {
    const job = await t.jobs.submit({
      app: "live",
      stream: "cam",
      start: unix(T0 + 2000),
      end: unix(T0 + 8000),
      format: "hls",
      // A name with folders (as the console offers: the source's path) keeps its last part.
      name: "uploads/精彩 highlight",
    });
    const done = await finished(t.jobs, job.id);
    assert.equal(done.state, "done", JSON.stringify(done.error));
    assert.equal(done.path, "clips/live/cam/精彩 highlight.m3u8");
    const res = await t.vod.handle(new Request(`http://o${done.url}`));
    assert.equal(res.status, 200);
    assert.equal(
      res.headers.get("content-type"),
      "application/vnd.apple.mpegurl",
    );
    const p = parseMediaPlaylist(await res.text());
    assert.equal(p.ended, true);
    const total = p.segments.reduce((n, s) => n + s.durationSeconds, 0);
    assert.ok(Math.abs(total - 6) < 0.1, `${total}`);
    for (const s of p.segments) {
      const seg = await t.vod.handle(
        new Request(`http://o/vod/clips/live/cam/${s.uri}`),
      );
      assert.equal(seg.status, 200, s.uri);
      assert.equal(seg.headers.get("content-type"), "video/mp2t");
      assert.equal((await seg.arrayBuffer()).byteLength % 188, 0);
    }
  } finally {
    await t.close();
  }
});

Deno.test("clips: an HLS clip of the DVR reuses the kept segments: those inside hard-linked, the ends sliced at keyframes", async () => {
  // 4 s segments of two 2 s GOPs: the cuts fall inside segments.
  const t = await setup({ targetDurationMs: 4000 });
  try {
    const dvrDir = t.dvr.streamDir("live", "cam");
    const kept = t.dvr.view("live", "cam")!.segments;
    assert.ok(
      kept.every((s) =>
        Math.abs(s.durationMs - 4000) < 100 || s === kept.at(-1)
      ),
    );
    const cut = async (startS: number, endS: number, name: string) => {
      const job = await t.jobs.submit({
        app: "live",
        stream: "cam",
        start: unix(T0 + startS * 1000),
        end: unix(T0 + endS * 1000),
        format: "hls",
        name,
      });
      const done = await finished(t.jobs, job.id);
      assert.equal(done.state, "done", JSON.stringify(done.error));
      const text = await Deno.readTextFile(`${t.lib}/${done.path}`);
      return { done, p: parseMediaPlaylist(text) };
    };
    // 2.5..9.5 s: from the keyframe at 2 s (the second half of [0, 4)), [4, 8) whole, to the
    // keyframe at 8 s (the start of [8, 12): nothing of it).
    const a = await cut(2.5, 9.5, "a");
    assert.deepEqual(
      a.p.segments.map((s) => s.durationSeconds),
      [2, 4],
    );
    assert.equal(a.done.duration, 6);
    assert.equal(a.p.segments[0]!.programDateTimeMs, T0 + 2000);
    assert.equal(
      a.p.segments[1]!.programDateTimeMs,
      kept[1]!.programDateTimeMs,
    );
    assert.ok(a.p.segments.every((s) => !s.discontinuity));
    const whole = await Deno.stat(`${t.lib}/clips/live/cam/a/1.ts`);
    const source = await Deno.stat(`${dvrDir}/${kept[1]!.name}`);
    assert.equal(
      whole.ino,
      source.ino,
      "the kept segment itself (a hard link)",
    );
    const head = await Deno.readFile(`${t.lib}/clips/live/cam/a/0.ts`);
    assert.ok(head.byteLength < source.size, "the first piece is sliced");
    // 2.5..7 s: both ends inside [4, 8)'s neighbours: [2, 4) of [0, 4), [4, 6) of [4, 8).
    const b = await cut(2.5, 7, "b");
    assert.deepEqual(
      b.p.segments.map((s) => s.durationSeconds),
      [2, 2],
    );
    // 0.5..3.5 s: one piece, [0, 2) of [0, 4).
    const c = await cut(0.5, 3.5, "c");
    assert.deepEqual(c.p.segments.map((s) => s.durationSeconds), [2]);
    if (haveFfmpeg) {
      for (const [name, want] of [["a", 6], ["b", 4], ["c", 2]] as const) {
        const out = await runPeer("ffprobe", [
          "-v",
          "error",
          "-show_entries",
          "stream=codec_type:format=duration",
          "-of",
          "json",
          `${t.lib}/clips/live/cam/${name}.m3u8`,
        ]);
        assert.equal(out.code, 0, out.stderr);
        assert.equal(out.stderr, "", `${name}: no decode error`);
        const probed = JSON.parse(out.stdout);
        assert.deepEqual(
          probed.streams.map((s: { codec_type: string }) => s.codec_type)
            .sort(),
          ["audio", "video"],
        );
        assert.ok(
          Math.abs(Number(probed.format.duration) - want) < 0.2,
          `${name}: ffprobe ${probed.format.duration} s for ${want} s`,
        );
      }
    }
    // A library file's HLS clip is remuxed (no kept segments to reuse).
    const job = await t.jobs.submit({
      path: "demo.flv",
      start: 2,
      end: 8,
      format: "hls",
      name: "from-file",
    });
    const done = await finished(t.jobs, job.id);
    assert.equal(done.state, "done", JSON.stringify(done.error));
    const p = parseMediaPlaylist(
      await Deno.readTextFile(`${t.lib}/${done.path}`),
    );
    const total = p.segments.reduce((n, s) => n + s.durationSeconds, 0);
    assert.ok(Math.abs(total - 6) < 0.1, `${total}`);
  } finally {
    await t.close();
  }
});

Deno.test({
  name:
    "clips: exact: true starts and ends on the frames asked for (partial GOPs re-encoded, the GOPs between copied byte for byte)",
  ignore: !haveFfmpeg,
  async fn() {
    const t = await setup();
    try {
      // 3.2 s to 7.6 s: mid-GOP at both ends (GOPs start at 0, 2, 4, 6, 8 s).
      const job = await t.jobs.submit({
        app: "live",
        stream: "cam",
        start: unix(T0 + 3200),
        end: unix(T0 + 7600),
        format: "mp4",
        exact: true,
      });
      const done = await finished(t.jobs, job.id);
      assert.equal(done.state, "done", JSON.stringify(done.error));
      const path = `${t.lib}/${done.path}`;
      // 25 fps: 4.4 s is 110 frames, exactly.
      assert.equal(await frames(path), 110);
      const media = await indexFile(path);
      const v = media.index.tracks.find((x) => x.kind === "video")!;
      assert.equal(v.samples.sync![0], 1, "starts on a keyframe");
      const pts = [...Array(v.samples.count).keys()].map((i) =>
        presentationTicks(v, i) / v.timescale
      ).sort((a, b) => a - b);
      assert.ok(Math.abs(pts[0]!) < 0.001, `first frame at ${pts[0]}`);
      assert.ok(
        Math.abs(pts.at(-1)! - (4.4 - 0.04)) < 0.002,
        `last at ${pts.at(-1)}`,
      );
      // The GOP at 4..6 s is the source's own: its keyframe's bytes are the DVR's.
      const src = await indexFile(`${t.dir}/lib/demo.flv`);
      const sv = src.index.tracks.find((x) => x.kind === "video")!;
      const k4 = [...Array(sv.samples.count).keys()].find((i) =>
        sv.samples.sync![i] &&
        Math.abs(sv.samples.dts[i]! / sv.timescale - 4) < 0.03
      )!;
      const clipFile = await Deno.readFile(path);
      const srcFile = await Deno.readFile(`${t.dir}/lib/demo.flv`);
      const k = [...Array(v.samples.count).keys()].find((i) =>
        i > 0 && v.samples.sync![i] === 1
      )!;
      assert.deepEqual(
        clipFile.subarray(
          v.samples.offset[k]!,
          v.samples.offset[k]! + v.samples.size[k]!,
        ),
        srcFile.subarray(
          sv.samples.offset[k4]!,
          sv.samples.offset[k4]! + sv.samples.size[k4]!,
        ),
      );
      // ffmpeg decodes every frame without a complaint.
      const out = await runPeer("ffmpeg", [
        "-v",
        "error",
        "-i",
        path,
        "-f",
        "null",
        "-",
      ]);
      assert.equal(out.code, 0);
      assert.equal(out.stderr.trim(), "");
      const probe = await runPeer("ffprobe", [
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-count_frames",
        "-show_entries",
        "stream=nb_read_frames,duration",
        "-of",
        "json",
        path,
      ]);
      const st = JSON.parse(probe.stdout).streams[0];
      assert.equal(Number(st.nb_read_frames), 110);
      assert.ok(Math.abs(Number(st.duration) - 4.4) < 0.041, st.duration);
      // FLV too, from a library file.
      const flv = await t.jobs.submit({
        path: "demo.flv",
        start: 1.2,
        end: 2.6,
        format: "flv",
        exact: true,
      });
      const f = await finished(t.jobs, flv.id);
      assert.equal(f.state, "done", JSON.stringify(f.error));
      assert.equal(await frames(`${t.lib}/${f.path}`), 35);
      const dec = await runPeer("ffmpeg", [
        "-v",
        "error",
        "-i",
        `${t.lib}/${f.path}`,
        "-f",
        "null",
        "-",
      ]);
      assert.equal(dec.stderr.trim(), "");
    } finally {
      await t.close();
    }
  },
});

Deno.test("clips: bad requests are refused at once with the field, the window or the file named; nothing is queued", async () => {
  const t = await setup();
  try {
    const refuse = async (
      body: unknown,
      status: number,
      check?: (e: ArchiveError) => void,
    ) => {
      await assert.rejects(() => t.jobs.submit(body), (e) => {
        assert.ok(e instanceof ArchiveError, String(e));
        assert.equal(e.status, status, JSON.stringify(body));
        check?.(e);
        return true;
      });
    };
    const base = { app: "live", stream: "cam", format: "mp4" };
    await refuse(
      { ...base, start: unix(T0 + 5000), end: unix(T0 + 1000) },
      400,
      (e) => assert.equal(e.field, "end"),
    );
    await refuse(
      { ...base, start: -5, end: unix(T0) },
      400,
      (e) => assert.equal(e.field, "start"),
    );
    await refuse({ ...base, start: "soon", end: unix(T0) }, 400);
    await refuse(
      { ...base, start: unix(T0), end: unix(T0 + 1000), format: "avi" },
      400,
      (e) => assert.equal(e.field, "format"),
    );
    for (const name of ["../.x", "", "a/", "a\u0000b", "x".repeat(101), 7]) {
      await refuse(
        { ...base, start: unix(T0), end: unix(T0 + 1000), name },
        400,
        (e) => assert.equal(e.field, "name"),
      );
    }
    await refuse({
      ...base,
      start: unix(T0),
      end: unix(T0 + 1000),
      exact: "yes",
    }, 400);
    await refuse({
      ...base,
      start: unix(T0),
      end: unix(T0 + 1000),
      color: "red",
    }, 400);
    await refuse({
      ...base,
      stream: "never",
      start: unix(T0),
      end: unix(T0 + 1000),
    }, 404);
    await refuse(
      { ...base, start: unix(T0 - 3_600_000), end: unix(T0 - 3_590_000) },
      416,
      (e) => {
        assert.equal(e.available?.startUnix, Math.floor(T0 / 1000));
      },
    );
    await refuse(
      { ...base, start: unix(T0 + 2000), end: unix(T0 + 120_000) },
      416,
    );
    await refuse({ path: "nope.mp4", start: 0, end: 1, format: "mp4" }, 404);
    await refuse({ path: "../demo.flv", start: 0, end: 1, format: "mp4" }, 400);
    await refuse({ path: "demo.flv", start: 30, end: 40, format: "mp4" }, 416);
    assert.deepEqual(t.jobs.list(), []);
  } finally {
    await t.close();
  }
});

Deno.test("clips: a queued job is cancelled at once; jobs survive a restart (queued ones resume, running ones start over)", async () => {
  const t = await setup({ maxConcurrent: 1 });
  try {
    const req = {
      app: "live",
      stream: "cam",
      start: unix(T0),
      end: unix(T0 + 9000),
      format: "mp4",
    };
    const a = await t.jobs.submit(req);
    const b = await t.jobs.submit(req);
    const cancelled = await t.jobs.cancel(b.id);
    assert.equal(cancelled.state, "cancelled");
    await assert.rejects(
      () => t.jobs.cancel(b.id),
      (e) => e instanceof ArchiveError && e.status === 409,
    );
    await assert.rejects(
      () => t.jobs.cancel("nope"),
      (e) => e instanceof ArchiveError && e.status === 404,
    );
    // Shut down with `a` running (or still queued) and `c` queued behind it.
    const c = await t.jobs.submit({ ...req, format: "flv" });
    await t.jobs.close();
    const onDisk = JSON.parse(
      await Deno.readTextFile(`${t.dir}/state/clips/${c.id}.json`),
    );
    assert.equal(onDisk.state, "queued");
    const aOnDisk = JSON.parse(
      await Deno.readTextFile(`${t.dir}/state/clips/${a.id}.json`),
    );
    assert.ok(
      ["queued", "running", "done"].includes(aOnDisk.state),
      aOnDisk.state,
    );
    const jobs = await t.reopen();
    const [ra, rc] = [await finished(jobs, a.id), await finished(jobs, c.id)];
    assert.equal(ra.state, "done");
    assert.equal(rc.state, "done");
    assert.equal(jobs.get(b.id)?.state, "cancelled");
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(`${t.lib}/clips/live/cam`))).filter((
        e,
      ) => e.name.startsWith(".")),
      [],
      "no partial file left",
    );
  } finally {
    await t.close();
  }
});

Deno.test({
  name:
    "clips: a disk that fills mid-clip fails the job with ARCHIVE_DISK_FULL; nothing partial stays, what was there stays",
  ignore: !canMount,
  async fn() {
    const disk = (await smallDisk(600))!;
    try {
      const t = await setup({ lib: disk });
      try {
        // demo.flv (394 KB) is on the disk; a second copy of it cannot fit.
        const job = await t.jobs.submit({
          path: "demo.flv",
          start: 0,
          end: 10,
          format: "flv",
        });
        const done = await finished(t.jobs, job.id);
        assert.equal(done.state, "failed");
        assert.equal(done.error?.code, "ARCHIVE_DISK_FULL");
        const names =
          (await Array.fromAsync(Deno.readDir(`${disk}/clips/vod/demo`))).map((
            e,
          ) => e.name);
        assert.deepEqual(names, []);
        assert.equal(
          (await Deno.stat(`${disk}/demo.flv`)).size,
          (await Deno.stat(DEMO)).size,
        );
      } finally {
        await t.close();
      }
    } finally {
      await unmount(disk);
    }
  },
});

Deno.test("clips: DELETE cancels a running job (its ffmpeg killed, nothing left); a missing ffmpeg fails an exact clip clearly", async () => {
  const bin = await Deno.makeTempDir({ prefix: "meridian-fake-ffmpeg-" });
  // An "ffmpeg" that never finishes: the job is surely running when it is cancelled.
  await Deno.writeTextFile(`${bin}/ffmpeg`, "#!/bin/sh\nexec sleep 30\n");
  await Deno.chmod(`${bin}/ffmpeg`, 0o755);
  const t = await setup({ ffmpegPath: `${bin}/ffmpeg` });
  try {
    const req = {
      app: "live",
      stream: "cam",
      start: unix(T0 + 3200),
      end: unix(T0 + 7600),
      format: "mp4",
      exact: true,
    };
    const job = await t.jobs.submit(req);
    await waitFor(
      "ffmpeg to run",
      async () => {
        for await (const e of Deno.readDir(`${t.dir}/state/work/${job.id}`)) {
          if (e.name.endsWith(".mp4")) return true;
        }
        return undefined;
      },
      10_000,
      10,
    );
    assert.equal(t.jobs.get(job.id)!.state, "running");
    const started = Date.now();
    const c = await t.jobs.cancel(job.id);
    assert.equal(c.state, "cancelled");
    assert.ok(Date.now() - started < 5000, "the sleeping ffmpeg was killed");
    assert.equal(
      (await Array.fromAsync(Deno.readDir(`${t.dir}/state/work`))).length,
      0,
    );
    const saved = JSON.parse(
      await Deno.readTextFile(`${t.dir}/state/clips/${job.id}.json`),
    );
    assert.equal(saved.state, "cancelled");
  } finally {
    await t.close();
    await Deno.remove(bin, { recursive: true });
  }
  const m = await setup({ ffmpegPath: "/nonexistent/ffmpeg" });
  try {
    const job = await m.jobs.submit({
      path: "demo.flv",
      start: 1.2,
      end: 2.6,
      format: "mp4",
      exact: true,
    });
    const done = await finished(m.jobs, job.id);
    assert.equal(done.state, "failed");
    assert.equal(done.error?.code, "ARCHIVE_TOOL");
    assert.match(
      done.error!.message,
      /^Cannot cut frame-exactly: ffmpeg cannot run/,
    );
  } finally {
    await m.close();
  }
});
