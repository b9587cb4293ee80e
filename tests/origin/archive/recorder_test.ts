import assert from "node:assert/strict";
import { type FlvTag, readFlvFile } from "../../../codec/flv/mod.ts";
import { FlvFragmenter, readBoxHeader } from "../../../codec/mp4/mod.ts";
import { ArchiveError } from "../../../origin/archive/errors.ts";
import { indexFile } from "../../../origin/archive/finalize.ts";
import { RecordHook } from "../../../origin/archive/record_hook.ts";
import { Recorder } from "../../../origin/archive/recorder.ts";
import { silentLogger } from "../../../origin/log.ts";
import { StreamRegistry } from "../../../origin/stream/registry.ts";
import { hasBinary, runPeer, waitFor } from "../../_helpers/peers.ts";
import {
  canMount,
  captureLogger,
  policiesOf,
  smallDisk,
  unmount,
} from "./_fixture.ts";

const DEMO = new URL("../../../media/demo.flv", import.meta.url);
const haveFfprobe = await hasBinary("ffprobe");
const enc = { tag: (t: { data: Uint8Array }) => t.data };
const demoTags: FlvTag[] = readFlvFile(await Deno.readFile(DEMO)).tags;

interface Hooked {
  readonly bodies: Record<string, unknown>[];
  readonly fetch: typeof fetch;
}

/** A hook endpoint that fails `failures` times, then answers 204. */
function fakeHookEndpoint(failures = 0): Hooked {
  const bodies: Record<string, unknown>[] = [];
  let n = 0;
  const f = ((_url: string | URL | Request, init?: RequestInit) => {
    bodies.push(JSON.parse(String(init?.body)));
    n++;
    return Promise.resolve(
      new Response(null, { status: n <= failures ? 503 : 204 }),
    );
  }) as typeof fetch;
  return { bodies, fetch: f };
}

async function setup(
  origin: Record<string, unknown>,
  opts: {
    splitMs?: number;
    splitBytes?: number;
    hook?: Hooked;
    libraryDir?: string;
    stateDir?: string;
    log?: ReturnType<typeof captureLogger>;
  } = {},
) {
  const dir = await Deno.makeTempDir({ prefix: "meridian-rec-" });
  const registry = new StreamRegistry({
    gopCache: true,
    maxGopCacheBytes: 1 << 20,
    flushIntervalMs: 0,
    encoders: { flv: enc, rtmp: enc },
    log: silentLogger,
  });
  const hook = new RecordHook({
    url: opts.hook ? "http://hook.test/done" : "",
    timeoutMs: 1000,
    log: silentLogger,
    ...(opts.hook ? { fetch: opts.hook.fetch } : {}),
    sleep: () => Promise.resolve(),
  });
  const libraryDir = opts.libraryDir ?? `${dir}/lib`;
  const recorder = await Recorder.open({
    libraryDir,
    libraryPrefix: "/vod/",
    pathPattern: "recordings/{app}/{stream}/{start}.{ext}",
    splitMs: opts.splitMs ?? 0,
    splitBytes: opts.splitBytes ?? 0,
    fragmentMs: 1000,
    stateDir: opts.stateDir ?? `${dir}/state`,
  }, {
    registry,
    policies: policiesOf(origin),
    hook,
    log: opts.log?.log ?? silentLogger,
  });
  return {
    dir,
    libraryDir,
    registry,
    recorder,
    hook,
    async close() {
      await recorder.close();
      await hook.close(1000);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Publishes demo.flv (10 s) into `app/stream` at once and ends it. */
function publishDemo(registry: StreamRegistry, app: string, stream: string) {
  const hub = registry.startPublish(app, stream, {
    peer: "t",
    protocol: "rtmp",
  });
  for (const t of demoTags) hub.pushTag(t);
  hub.end();
  return hub;
}

async function ffprobeDuration(path: string): Promise<number> {
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
  assert.equal(out.stderr, "", "ffprobe has nothing to complain about");
  return Number(out.stdout.trim());
}

Deno.test("Recorder records a publish of an app that says so into faststart MP4 and FLV in the library, lists it and tells onRecordDone (retried)", async () => {
  const endpoint = fakeHookEndpoint(2);
  const t = await setup(
    {
      apps: [{
        name: "tv",
        record: { enabled: true, formats: ["mp4", "flv"] },
      }],
    },
    { hook: endpoint },
  );
  try {
    publishDemo(t.registry, "tv", "cam");
    await waitFor(
      "both files done",
      () =>
        t.recorder.list().files.length === 2 && t.recorder.activeCount === 0,
    );
    const { files, active } = t.recorder.list();
    assert.equal(active.length, 0);
    assert.deepEqual(files.map((f) => f.format).sort(), ["flv", "mp4"]);
    for (const f of files) {
      assert.equal(f.state, "done");
      assert.match(
        f.path,
        /^recordings\/tv\/cam\/\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.(mp4|flv)$/,
      );
      assert.equal(f.url, `/vod/${f.path}`);
      assert.ok(Math.abs(f.duration - 10) < 0.2, `${f.format} ${f.duration} s`);
      assert.equal(
        f.bytes,
        (await Deno.stat(`${t.libraryDir}/${f.path}`)).size,
      );
    }
    const mp4 = files.find((f) => f.format === "mp4")!;
    const bytes = await Deno.readFile(`${t.libraryDir}/${mp4.path}`);
    const first = readBoxHeader(bytes, 0, bytes.length)!;
    const second = readBoxHeader(bytes, first.end, bytes.length)!;
    assert.deepEqual([first.type, second.type], ["ftyp", "moov"], "faststart");
    const media = await indexFile(`${t.libraryDir}/${mp4.path}`);
    assert.equal(media.fragmented, false);
    assert.equal(media.moovAtStart, true);
    // The same frames as the source.
    const frames = demoTags.filter((x) =>
      x.type === 9 && x.data[1] === 1
    ).length;
    assert.equal(
      media.index.tracks.find((x) => x.kind === "video")!.samples.count,
      frames,
    );
    if (haveFfprobe) {
      for (const f of files) {
        const d = await ffprobeDuration(`${t.libraryDir}/${f.path}`);
        assert.ok(Math.abs(d - 10.08) < 0.2, `${f.format}: ffprobe ${d} s`);
      }
    }
    // Two failures, then delivered: three attempts per file.
    await waitFor("the hook deliveries", () => t.hook.pending === 0);
    assert.equal(endpoint.bodies.length, 2 + 2);
    assert.equal(t.hook.stats.delivered, 2);
    const told = endpoint.bodies.at(-1)!;
    assert.deepEqual(Object.keys(told).sort(), [
      "action",
      "app",
      "bytes",
      "duration",
      "format",
      "path",
      "start",
      "stream",
      "url",
    ]);
    assert.equal(told.app, "tv");
  } finally {
    await t.close();
  }
});

Deno.test("Recorder API: start a live stream, 409 when it records, 404 when not live or not recording, stop finalizes", async () => {
  const t = await setup({});
  try {
    await assert.rejects(
      () => t.recorder.start("live", "cam"),
      (e) => e instanceof ArchiveError && e.status === 404,
    );
    const hub = t.registry.startPublish("live", "cam", {
      peer: "t",
      protocol: "rtmp",
    });
    for (const tag of demoTags.slice(0, 150)) hub.pushTag(tag);
    const started = await t.recorder.start("live", "cam", ["flv"]);
    assert.equal(started.by, "api");
    assert.deepEqual(started.formats, ["flv"]);
    await assert.rejects(
      () => t.recorder.start("live", "cam"),
      (e) => e instanceof ArchiveError && e.status === 409,
    );
    for (const tag of demoTags.slice(150)) hub.pushTag(tag);
    assert.equal(t.recorder.list().active[0]!.files[0]!.state, "recording");
    const stopped = await t.recorder.stop("live", "cam");
    assert.equal(stopped.files.length, 1);
    assert.equal(stopped.files[0]!.state, "done");
    // It began at the first keyframe after the start: up to a GOP (2 s) less than what was left.
    assert.ok(stopped.files[0]!.duration > 3 && stopped.files[0]!.duration < 8);
    await assert.rejects(
      () => t.recorder.stop("live", "cam"),
      (e) => e instanceof ArchiveError && e.status === 404,
    );
    hub.end();
  } finally {
    await t.close();
  }
});

Deno.test("Recorder splits a recording at keyframes after splitSeconds: every file plays and they add up", async () => {
  const t = await setup(
    { defaultApp: { record: { enabled: true, formats: ["mp4"] } } },
    { splitMs: 3000 },
  );
  try {
    publishDemo(t.registry, "live", "cam");
    await waitFor(
      "the recording to end",
      () => t.recorder.activeCount === 0 && t.recorder.list().files.length >= 3,
    );
    // All in the same second here: `-1`, `-2` name the later ones.
    const n = (p: string) => Number(/-(\d+)\.mp4$/.exec(p)?.[1] ?? 0);
    const files = t.recorder.list().files.sort((a, b) => n(a.path) - n(b.path));
    // 2 s GOPs: cuts at the keyframes at 4 s and 8 s.
    assert.deepEqual(files.map((f) => Math.round(f.duration)), [4, 4, 2]);
    assert.equal(
      new Set(files.map((f) => f.path)).size,
      3,
      "distinct names, even within a second",
    );
    if (haveFfprobe) {
      let sum = 0;
      for (const f of files) {
        sum += await ffprobeDuration(`${t.libraryDir}/${f.path}`);
      }
      assert.ok(Math.abs(sum - 10.08) < 0.3, `${sum}`);
    }
  } finally {
    await t.close();
  }
});

Deno.test("Recorder at start-up repairs a file a crash cut mid-fragment, finalizes it and reports it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "meridian-rec-crash-" });
  try {
    // What a killed origin leaves: a fragmented MP4 cut mid-fragment, and its journal.
    const f = new FlvFragmenter({ fragmentMs: 1000 });
    const parts: Uint8Array[] = [];
    for (const tag of demoTags) parts.push(...f.push(tag).bytes);
    const whole = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let o = 0;
    for (const p of parts) {
      whole.set(p, o);
      o += p.byteLength;
    }
    const rel = "recordings/live/cam/2024-05-01T12-00-00Z.mp4";
    await Deno.mkdir(`${dir}/lib/recordings/live/cam`, { recursive: true });
    await Deno.writeFile(
      `${dir}/lib/${rel}`,
      whole.subarray(0, Math.floor(whole.length * 0.6)),
    );
    await Deno.mkdir(`${dir}/state/recordings/active`, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/state/recordings/active/j1.json`,
      JSON.stringify({
        id: "j1",
        app: "live",
        stream: "cam",
        format: "mp4",
        path: `${dir}/lib/${rel}`,
        relPath: rel,
        startedAtMs: Date.UTC(2024, 4, 1, 12),
      }),
    );
    const endpoint = fakeHookEndpoint();
    const log = captureLogger();
    const t = await setup({}, {
      libraryDir: `${dir}/lib`,
      stateDir: `${dir}/state`,
      hook: endpoint,
      log,
    });
    try {
      const [file] = t.recorder.list().files;
      assert.equal(file?.state, "recovered");
      assert.equal(file?.path, rel);
      assert.ok(
        file!.duration > 4 && file!.duration < 6.5,
        `${file!.duration}`,
      );
      const media = await indexFile(`${dir}/lib/${rel}`);
      assert.equal(media.fragmented, false, "finalized");
      assert.equal(media.moovAtStart, true);
      if (haveFfprobe) {
        const d = await ffprobeDuration(`${dir}/lib/${rel}`);
        assert.ok(
          Math.abs(d - file!.duration) < 0.1,
          `${d} vs ${file!.duration}`,
        );
      }
      assert.deepEqual(
        [...Deno.readDirSync(`${dir}/state/recordings/active`)],
        [],
      );
      assert.ok(
        log.lines.some((l) => l.includes("recording repaired after a crash")),
      );
      await waitFor("the hook", () => endpoint.bodies.length === 1);
    } finally {
      await t.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Recorder refuses a folder that cannot be written with a clear error, and nothing else is disturbed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "meridian-rec-ro-" });
  try {
    await Deno.writeTextFile(`${dir}/not-a-folder`, "x");
    const log = captureLogger();
    const t = await setup({}, { libraryDir: `${dir}/not-a-folder/lib`, log });
    try {
      const hub = t.registry.startPublish("live", "cam", {
        peer: "t",
        protocol: "rtmp",
      });
      for (const tag of demoTags.slice(0, 50)) hub.pushTag(tag);
      await assert.rejects(
        () => t.recorder.start("live", "cam"),
        (e) =>
          e instanceof ArchiveError && e.status === 500 &&
          /^Cannot record into '.*not-a-folder\/lib\/recordings\/live\/cam\/.*\.mp4': Not a directory/
            .test(e.message),
      );
      assert.equal(t.recorder.activeCount, 0);
      assert.equal(hub.live, true);
      for (const tag of demoTags.slice(50)) hub.pushTag(tag);
      hub.end();
    } finally {
      await t.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "Recorder on a disk that fills mid-recording: the file fails with a clear state, keeps what was written whole (it plays), the live stream goes on",
  ignore: !canMount, // needs `mount -t tmpfs` (root in this container)
  async fn() {
    const disk = (await smallDisk(200))!;
    const log = captureLogger();
    const t = await setup(
      { defaultApp: { record: { enabled: true, formats: ["mp4"] } } },
      { libraryDir: disk, log },
    );
    try {
      const hub = t.registry.startPublish("live", "cam", {
        peer: "t",
        protocol: "rtmp",
      });
      let delivered = 0;
      hub.addViewer({
        format: "flv",
        id: "v",
        write: (b) => (delivered += b.byteLength, true),
        close() {},
      });
      for (const tag of demoTags) hub.pushTag(tag);
      hub.flush();
      assert.ok(delivered > 300_000, "the viewer got the whole stream");
      assert.equal(hub.live, true);
      hub.end();
      await waitFor(
        "the recording to end",
        () => t.recorder.list().files.length === 1,
      );
      const [file] = t.recorder.list().files;
      assert.equal(file!.state, "failed");
      assert.match(
        file!.error!,
        /^Cannot record into '.*\.mp4': the disk is full$/,
      );
      const path = `${disk}/${file!.path}`;
      const media = await indexFile(path);
      assert.equal(media.fragmented, true, "kept as written: fragmented");
      assert.ok(
        media.index.durationMs > 1000,
        `${media.index.durationMs} ms kept`,
      );
      assert.equal((await Deno.stat(path)).size, file!.bytes);
      if (haveFfprobe) {
        const d = await ffprobeDuration(path);
        assert.ok(d > 1 && d < 10, `${d}`);
      }
      assert.equal(
        log.lines.filter((l) => l.includes("recording file failed")).length,
        1,
      );
    } finally {
      await t.close();
      await unmount(disk);
    }
  },
});

Deno.test("Recorder splits by size too: at the first keyframe once a file holds splitBytes", async () => {
  const t = await setup(
    { defaultApp: { record: { enabled: true, formats: ["flv"] } } },
    { splitBytes: 100_000 },
  );
  try {
    publishDemo(t.registry, "live", "cam");
    await waitFor(
      "the recording to end",
      () => t.recorder.activeCount === 0 && t.recorder.list().files.length >= 2,
    );
    const files = t.recorder.list().files;
    // demo.flv is about 390 KB: files of 100 KB and more, each ending on a keyframe (2 s).
    assert.ok(files.length >= 3 && files.length <= 5, `${files.length} files`);
    for (const f of files) {
      const ok = Math.abs(f.duration / 2 - Math.round(f.duration / 2)) < 0.1 ||
        f ===
          files.find((x) =>
            x.duration === Math.min(...files.map((y) => y.duration))
          );
      assert.ok(ok, `${f.duration} s is whole GOPs (or the last file)`);
    }
    const total = files.reduce((n, f) => n + f.duration, 0);
    assert.ok(Math.abs(total - 10) < 0.3, `${total} s in all`);
  } finally {
    await t.close();
  }
});
