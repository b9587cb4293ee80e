/**
 * VOD through a real origin, read back by ffprobe/ffmpeg and raw HTTP: every output of every
 * fixture (MP4 with B-frames and moov at the end, faststart MP4, fragmented MP4, FLV with and
 * without `keyframes` metadata, MP3 audio), seek by time within one GOP, frame-exact starts,
 * byte ranges and conditionals, HLS VOD duration, bad paths and bad files.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../../config/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { silentLogger } from "../../origin/log.ts";
import { type OriginHandle, startOrigin } from "../../origin/mod.ts";
import { hasBinary, runPeer } from "../_helpers/peers.ts";

const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe");

/** The fixtures, made once for the whole file (a few hundred KB each). */
async function makeLibrary(dir: string): Promise<void> {
  const src = [
    "-v",
    "error",
    "-y",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=320x240:rate=25",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=440:sample_rate=44100",
    "-t",
    "10",
  ];
  const h264 = [
    "-c:v",
    "libx264",
    "-preset",
    "veryfast",
    "-g",
    "50",
    "-keyint_min",
    "50",
    "-sc_threshold",
    "0",
  ];
  const run = async (args: string[]) => {
    const out = await runPeer("ffmpeg", args, 60_000);
    assert.equal(out.code, 0, out.stderr);
  };
  await Deno.mkdir(`${dir}/sub dir`, { recursive: true });
  await run([
    ...src,
    ...h264,
    "-bf",
    "2",
    "-c:a",
    "aac",
    "-b:a",
    "64k",
    `${dir}/end.mp4`,
  ]);
  await run([
    "-v",
    "error",
    "-y",
    "-i",
    `${dir}/end.mp4`,
    "-c",
    "copy",
    "-movflags",
    "+faststart",
    `${dir}/fast.mp4`,
  ]);
  await run([
    "-v",
    "error",
    "-y",
    "-i",
    `${dir}/end.mp4`,
    "-c",
    "copy",
    "-movflags",
    "+frag_keyframe+empty_moov+default_base_moof",
    `${dir}/frag.mp4`,
  ]);
  await run([
    "-v",
    "error",
    "-y",
    "-i",
    `${dir}/end.mp4`,
    "-c",
    "copy",
    "-f",
    "flv",
    `${dir}/plain.flv`,
  ]);
  await run([
    "-v",
    "error",
    "-y",
    "-i",
    `${dir}/end.mp4`,
    "-c",
    "copy",
    "-f",
    "flv",
    "-flvflags",
    "add_keyframe_index",
    `${dir}/indexed.flv`,
  ]);
  await run([
    ...src.slice(0, -2),
    "-t",
    "6",
    ...h264,
    "-c:a",
    "libmp3lame",
    "-f",
    "flv",
    `${dir}/mp3.flv`,
  ]);
  await Deno.copyFile(`${dir}/fast.mp4`, `${dir}/sub dir/中文 名.mp4`);
  // Bad files.
  await Deno.writeFile(`${dir}/empty.mp4`, new Uint8Array(0));
  const whole = await Deno.readFile(`${dir}/end.mp4`);
  await Deno.writeFile(
    `${dir}/cut.mp4`,
    whole.subarray(0, whole.length - 5000),
  ); // moov cut off
  await Deno.writeFile(
    `${dir}/noise.flv`,
    crypto.getRandomValues(new Uint8Array(4096)),
  );
  await Deno.writeFile(
    `${dir}/secret.txt`,
    new TextEncoder().encode("not media"),
  );
}

interface Probe {
  streams: {
    codec_name: string;
    codec_type: string;
    start_time?: string;
    duration?: string;
  }[];
  format: { duration?: string };
}

async function probe(url: string): Promise<Probe> {
  const out = await runPeer("ffprobe", [
    "-v",
    "error",
    "-show_streams",
    "-show_format",
    "-of",
    "json",
    url,
  ], 30_000);
  assert.equal(out.code, 0, `ffprobe ${url}: ${out.stderr}`);
  return JSON.parse(out.stdout);
}

/** Decodes everything; returns ffmpeg's error lines (none expected). */
async function decodeErrors(url: string): Promise<string> {
  const out = await runPeer("ffmpeg", [
    "-v",
    "error",
    "-i",
    url,
    "-f",
    "null",
    "-",
  ], 60_000);
  assert.equal(out.code, 0, out.stderr);
  return out.stderr.trim();
}

/** Presentation times of the decoded video frames (seconds), as ffprobe reports them. */
async function framePts(url: string): Promise<number[]> {
  const out = await runPeer("ffprobe", [
    "-v",
    "error",
    "-select_streams",
    "v",
    "-show_entries",
    "frame=pts_time",
    "-of",
    "csv=p=0",
    url,
  ], 30_000);
  assert.equal(out.code, 0, out.stderr);
  return out.stdout.trim().split("\n").filter(Boolean).map(Number);
}

let shared: { dir: string; origin: OriginHandle; base: string } | undefined;
async function setup() {
  if (shared) return shared;
  const dir = await Deno.makeTempDir({ prefix: "meridian-vod-" });
  await makeLibrary(dir);
  const outside = await Deno.makeTempDir({ prefix: "meridian-outside-" });
  await Deno.writeFile(
    `${outside}/private.mp4`,
    await Deno.readFile(`${dir}/fast.mp4`),
  );
  await Deno.symlink(`${outside}/private.mp4`, `${dir}/escape.mp4`);
  const config = parseConfig({
    origin: {
      rtmpPort: 0,
      httpPort: 0,
      virtualLive: [],
      vod: { libraries: [{ path: dir, prefix: "/vod/" }] },
    },
  });
  const origin = await startOrigin(config.origin, {
    log: silentLogger,
    metrics: new MetricsRegistry(),
  });
  shared = { dir, origin, base: `http://127.0.0.1:${origin.httpPort}/vod` };
  return shared;
}

const T = { ignore: !haveFfmpeg, sanitizeOps: false, sanitizeResources: false };

Deno.test({
  ...T,
  name:
    "vod: ffprobe reads every output of every fixture with both tracks, the source's duration, and no decode error",
  async fn() {
    const { base } = await setup();
    for (
      const name of [
        "end.mp4",
        "fast.mp4",
        "frag.mp4",
        "plain.flv",
        "indexed.flv",
      ]
    ) {
      const stem = name.replace(/\.\w+$/, "");
      for (
        const out of [
          `${name}`,
          `${stem}.mp4`,
          `${stem}.flv`,
          `${name}.m3u8`,
          `${stem}.m3u8`,
        ]
      ) {
        const url = `${base}/${out}`;
        const p = await probe(url);
        const types = p.streams.map((s) => `${s.codec_type}:${s.codec_name}`)
          .sort();
        assert.deepEqual(types, ["audio:aac", "video:h264"], url);
        if (!out.endsWith(".m3u8")) {
          assert.ok(
            Math.abs(Number(p.format.duration) - 10) < 0.15,
            `${url}: duration ${p.format.duration}`,
          );
        }
        assert.equal(await decodeErrors(url), "", url);
      }
    }
    const mp3 = await probe(`${base}/mp3.mp4`);
    assert.deepEqual(mp3.streams.map((s) => s.codec_name).sort(), [
      "h264",
      "mp3",
    ]);
    assert.equal(await decodeErrors(`${base}/mp3.m3u8`), "");
  },
});

Deno.test({
  ...T,
  name:
    "vod: HLS VOD is a VOD playlist whose EXTINFs add up to the source's duration within one frame",
  async fn() {
    const { base } = await setup();
    for (const name of ["end.mp4", "frag.mp4", "plain.flv"]) {
      const res = await fetch(`${base}/${name}.m3u8`);
      assert.equal(res.status, 200);
      assert.equal(
        res.headers.get("content-type"),
        "application/vnd.apple.mpegurl",
      );
      const text = await res.text();
      assert.match(text, /#EXT-X-PLAYLIST-TYPE:VOD/);
      assert.match(text, /#EXT-X-ENDLIST\n$/);
      const extinf = [...text.matchAll(/#EXTINF:([\d.]+),/g)].map((m) =>
        Number(m[1])
      );
      const total = extinf.reduce((a, b) => a + b, 0);
      // The playlist runs from 0 to where the source's video ends.
      const frames = await framePts(`${base}/${name}`);
      const videoEnd = frames[frames.length - 1]! + 0.04; // 25 fps
      assert.ok(
        Math.abs(total - videoEnd) <= 0.041,
        `${name}: EXTINF total ${total} vs video end ${videoEnd}`,
      );
      // Segments are cut at keyframes near the 4 s target (GOP 2 s): 4, 4, 2.
      assert.deepEqual(extinf.map((d) => Math.round(d)), [4, 4, 2]);
      const target = Number(/#EXT-X-TARGETDURATION:(\d+)/.exec(text)![1]);
      assert.ok(extinf.every((d) => Math.round(d) <= target));
      // A segment answers on its own, in any order (stateless).
      const seg = await fetch(`${base}/${name}/2.ts`);
      assert.equal(seg.status, 200);
      const bytes = new Uint8Array(await seg.arrayBuffer());
      assert.equal(bytes.length % 188, 0);
      assert.equal(bytes[0], 0x47);
      assert.equal((await fetch(`${base}/${name}/3.ts`)).status, 404);
    }
    const started = await (await fetch(`${base}/end.mp4.m3u8?start=5`)).text();
    assert.match(started, /#EXT-X-START:TIME-OFFSET=5\.000,PRECISE=YES/);
  },
});

Deno.test({
  ...T,
  name:
    "vod: ?start= lands on the keyframe at or before it (within one GOP), and accurate=1 on the exact frame",
  async fn() {
    const { base } = await setup();
    for (const name of ["end.mp4", "plain.flv", "frag.mp4"]) {
      // MP4: time is rebased to the keyframe at 4 s, so 6 s remain; FLV keeps the file's time.
      const mp4 = await probe(
        `${base}/${name}?start=5`.replace(/\.flv\?/, ".mp4?"),
      );
      const left = Number(mp4.format.duration);
      assert.ok(
        left >= 5 && left <= 6 + 0.15,
        `${name} mp4 ?start=5 lasts ${left}`,
      );
      const flv = await probe(
        `${base}/${name.replace(/\.\w+$/, "")}.flv?start=5`,
      );
      const vStart = Number(
        flv.streams.find((s) => s.codec_type === "video")!.start_time,
      );
      assert.ok(
        vStart >= 3.99 && vStart <= 5,
        `${name} flv ?start=5 starts at ${vStart}`,
      );
      // Frame-exact: the first frame shown is the one at 5.000 s, and exactly 5 s of frames follow.
      const pts = await framePts(
        `${base}/${name.replace(/\.flv$/, ".mp4")}?start=5&accurate=1`.replace(
          /\.mp4\.mp4/,
          ".mp4",
        ),
      );
      assert.ok(
        Math.abs(pts[0]!) < 0.001,
        `${name} accurate first frame at ${pts[0]}`,
      );
      assert.ok(
        Math.abs(pts.length - 125) <= 2,
        `${name} accurate: ${pts.length} frames`,
      );
    }
    // The FLV accurate start names itself and wraps the frames before it in seek commands.
    const res = await fetch(`${base}/plain.flv?start=5&accurate=1`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const text = new TextDecoder("latin1").decode(bytes.subarray(0, 400));
    assert.match(text, /accurateStartSeconds/);
    let commands = 0;
    for (let i = 13; i + 12 < bytes.length;) {
      const size = (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!;
      if (bytes[i] === 9 && (bytes[i + 11]! >> 4) === 5) commands++;
      i += 11 + size + 4;
    }
    assert.equal(commands, 2);
    // Out of range or malformed: JSON 400.
    for (const q of ["start=11", "start=-1", "start=abc", "start=4&end=3"]) {
      const r = await fetch(`${base}/end.mp4?${q}`);
      assert.equal(r.status, 400, q);
      assert.match((await r.json()).error, /Cannot/);
    }
  },
});

Deno.test({
  ...T,
  name:
    "vod: byte ranges, If-Range, ETag/304 and HEAD on raw, faststart and generated outputs",
  async fn() {
    const { base } = await setup();
    for (
      const path of [
        "fast.mp4",
        "end.mp4",
        "plain.mp4",
        "end.flv?start=3",
        "plain.flv",
      ]
    ) {
      const full = await fetch(`${base}/${path}`);
      assert.equal(full.status, 200);
      assert.equal(full.headers.get("accept-ranges"), "bytes");
      const etag = full.headers.get("etag")!;
      assert.match(etag, /^"[^"]+"$/);
      const body = new Uint8Array(await full.arrayBuffer());
      assert.equal(Number(full.headers.get("content-length")), body.length);
      for (
        const [a, b] of [[0, 99], [1000, 70_000], [
          body.length - 10,
          body.length - 1,
        ]] as const
      ) {
        const r = await fetch(`${base}/${path}`, {
          headers: { Range: `bytes=${a}-${b}` },
        });
        assert.equal(r.status, 206, path);
        assert.equal(
          r.headers.get("content-range"),
          `bytes ${a}-${b}/${body.length}`,
        );
        assert.deepEqual(
          new Uint8Array(await r.arrayBuffer()),
          body.subarray(a, b + 1),
          `${path} ${a}-${b}`,
        );
      }
      const past = await fetch(`${base}/${path}`, {
        headers: { Range: `bytes=${body.length}-` },
      });
      assert.equal(past.status, 416);
      await past.body?.cancel();
      const stale = await fetch(`${base}/${path}`, {
        headers: { Range: "bytes=0-9", "If-Range": '"other"' },
      });
      assert.equal(stale.status, 200);
      await stale.body?.cancel();
      const cond = await fetch(`${base}/${path}`, {
        headers: { "If-None-Match": etag },
      });
      assert.equal(cond.status, 304);
      const head = await fetch(`${base}/${path}`, { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(Number(head.headers.get("content-length")), body.length);
    }
    // The moov-at-end file goes out moov first: a browser can start without the file's end.
    const head = new Uint8Array(
      await (await fetch(`${base}/end.mp4`, {
        headers: { Range: "bytes=0-63" },
      })).arrayBuffer(),
    );
    const ftypSize = new DataView(head.buffer).getUint32(0);
    assert.equal(
      new TextDecoder().decode(head.subarray(ftypSize + 4, ftypSize + 8)),
      "moov",
    );
  },
});

Deno.test({
  ...T,
  name:
    "vod: traversal, encoded and double-encoded paths, NUL, backslashes and symlinks out of the library are refused with JSON",
  async fn() {
    const { base, origin } = await setup();
    const port = origin.httpPort;
    const raw = async (target: string): Promise<string> => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(
        new TextEncoder().encode(
          `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        ),
      );
      const chunks: Uint8Array[] = [];
      const buf = new Uint8Array(65536);
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        chunks.push(buf.slice(0, n));
      }
      conn.close();
      return new TextDecoder().decode(
        new Uint8Array(chunks.flatMap((c) => [...c])),
      );
    };
    for (
      const target of [
        "/vod/../etc/passwd.mp4",
        "/vod/%2e%2e/%2e%2e/etc/passwd.mp4",
        "/vod/%252e%252e/x.mp4",
        "/vod/sub%5c..%5cend.mp4",
        "/vod/end%00.mp4",
        "/vod//etc/passwd.mp4",
        "/vod/.hidden.mp4",
        "/vod/escape.mp4",
        "/vod/secret.txt",
        "/vod/missing.mp4",
      ]
    ) {
      const res = await raw(target);
      const status = Number(res.split(" ")[1]);
      assert.ok(
        status === 400 || status === 404,
        `${target}: ${res.slice(0, 80)}`,
      );
      if (
        status !== 404 || target.startsWith("/vod/e") ||
        target.startsWith("/vod/m")
      ) {
        assert.match(res, /\{"error":"Cannot/, target);
      }
      assert.ok(!res.includes("not media"), target);
    }
    const zh = await fetch(
      `${base}/sub%20dir/${encodeURIComponent("中文 名")}.mp4`,
    );
    assert.equal(zh.status, 200);
    await zh.body?.cancel();
  },
});

Deno.test({
  ...T,
  name:
    "vod: empty, cut and random files get 4xx JSON and the server keeps serving; the library follows file changes without a restart",
  async fn() {
    const { base, dir } = await setup();
    for (const name of ["empty.mp4", "cut.mp4", "noise.flv"]) {
      for (const out of [name, `${name}.m3u8`]) {
        const r = await fetch(
          `${base}/${out}${out.endsWith("m3u8") ? "" : "?start=1"}`,
        );
        assert.ok(r.status === 422 || r.status === 415, `${out}: ${r.status}`);
        const body = await r.json();
        assert.match(body.error, /Cannot/);
      }
    }
    const ok = await fetch(`${base}/fast.mp4`, { method: "HEAD" });
    assert.equal(ok.status, 200);
    // Listing: metadata of the good files, an error for the bad ones.
    const list =
      (await (await fetch(`${base.replace(/\/vod$/, "")}/api/vod`)).json())
        .files as Record<string, unknown>[];
    const end = list.find((f) => f.path === "end.mp4") as {
      video: { codec: string; width: number; fps: number; keyframes: number };
      moovAtStart: boolean;
      durationSeconds: number;
    };
    assert.equal(end.video.codec, "h264");
    assert.equal(end.video.width, 320);
    assert.equal(end.video.fps, 25);
    assert.equal(end.video.keyframes, 5);
    assert.equal(end.moovAtStart, false);
    assert.ok(Math.abs(end.durationSeconds - 10) < 0.1);
    assert.ok(list.find((f) => f.path === "cut.mp4")!.error);
    assert.ok(list.some((f) => f.path === "sub dir/中文 名.mp4"));
    // Add, replace, delete: no restart.
    await Deno.copyFile(`${dir}/mp3.flv`, `${dir}/new.flv`);
    const added = await probe(`${base}/new.mp4`);
    assert.ok(Math.abs(Number(added.format.duration) - 6) < 0.15);
    await Deno.copyFile(`${dir}/plain.flv`, `${dir}/new.flv`);
    const replaced = await probe(`${base}/new.mp4`);
    assert.ok(
      Math.abs(Number(replaced.format.duration) - 10) < 0.15,
      `replaced: ${replaced.format.duration}`,
    );
    await Deno.remove(`${dir}/new.flv`);
    assert.equal(
      (await (await fetch(`${base}/new.mp4`)).json()).code,
      "VOD_NOT_FOUND",
    );
  },
});

Deno.test({
  ...T,
  name: "vod: shut down the shared origin",
  async fn() {
    if (shared) {
      await shared.origin.close();
      await Deno.remove(shared.dir, { recursive: true });
    }
  },
});
