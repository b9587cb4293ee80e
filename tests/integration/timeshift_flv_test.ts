/**
 * HTTP-FLV time-shift with real peers: ffmpeg publishes (1 s GOPs); `.flv?start=T` plays from
 * the keyframe at or before T at live speed (ffprobe reads the whole range, which takes real
 * time), and a request from just now catches up with the DVR and joins the live edge: the
 * tags go on without a gap or a repeat until the publisher leaves.
 */
import assert from "node:assert/strict";
import { FlvReader, type FlvTag } from "../../codec/flv/mod.ts";
import { parseConfig } from "../../config/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { silentLogger } from "../../origin/log.ts";
import { type OriginHandle, startOrigin } from "../../origin/mod.ts";
import {
  type BackgroundPeer,
  hasBinary,
  publishArgs,
  runPeer,
  startPeer,
  waitFor,
} from "../_helpers/peers.ts";

const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe");

async function sessionStart(base: string): Promise<number> {
  const b = await (await fetch(`${base}/programs`)).json();
  return b.programs.find((p: { kind: string }) => p.kind === "session").recorded
    .startUnix;
}

/** Reads an FLV body to its end (bounded), returning its tags. */
async function readTags(url: string, timeoutMs: number): Promise<FlvTag[]> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "video/x-flv");
  const reader = new FlvReader();
  const tags: FlvTag[] = [];
  for await (const chunk of res.body!) {
    reader.push(chunk);
    tags.push(...reader.pullAll());
  }
  return tags;
}

Deno.test({
  name:
    "time-shift FLV: ?start=T plays from the keyframe at T at live speed; from just now it joins the live edge with no gap or repeat",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "meridian-ts-flv-" });
    const config = parseConfig({
      origin: {
        rtmpPort: 0,
        httpPort: 0,
        virtualLive: [],
        hls: { targetDurationSeconds: 1, endGraceSeconds: 0.5 },
        defaultApp: { dvr: { windowSeconds: 120 } },
      },
    });
    let origin: OriginHandle | undefined;
    let pub: BackgroundPeer | undefined;
    try {
      origin = await startOrigin(config.origin, {
        log: silentLogger,
        metrics: new MetricsRegistry(),
        dataDir: dir,
      });
      const o = origin;
      const base = `http://127.0.0.1:${o.httpPort}/live/tf`;
      pub = startPeer(
        "ffmpeg",
        publishArgs(`rtmp://127.0.0.1:${o.rtmpPort}/live/tf`, 14, { gop: 25 }),
      );
      await waitFor(
        "3 s kept",
        async () => {
          const r = await fetch(`${base}/programs`);
          if (!r.ok) return (await r.body?.cancel(), undefined);
          const b = await r.json();
          const s = b.programs.find((p: { kind: string }) =>
            p.kind === "session"
          );
          return s && s.recorded.endUnix - s.recorded.startUnix >= 4;
        },
        20_000,
        100,
      );

      // From just now: the DVR's last segments, then the live edge until the publisher leaves.
      const joinStarted = Date.now();
      const tags = await readTags(
        `${base}.flv?start=${(Date.now() - 1500) / 1000}`,
        30_000,
      );
      const video = tags.filter((t) => t.type === 9 && t.data[1] === 1);
      assert.ok(video.length > 100, `${video.length} video frames`);
      // Continuous: every frame 40 ms after the one before, none twice, none missing.
      const steps = video.slice(1).map((t, i) =>
        t.timestampMs - video[i]!.timestampMs
      );
      assert.ok(
        steps.every((d) => d >= 30 && d <= 50),
        `frame steps ${[...new Set(steps)].join(",")}`,
      );
      assert.equal(video[0]!.data[0]! >> 4, 1, "starts on a keyframe");
      const metrics =
        await (await fetch(`http://127.0.0.1:${o.httpPort}/metrics`)).text();
      assert.match(
        metrics,
        /meridian_origin_timeshift_flv_total\{outcome="joined"\} 1/,
      );
      // It ended with the publisher, live: not minutes of replay after it.
      await pub.child.status;
      assert.ok(Date.now() - joinStarted < 20_000);
      await pub.stop();
      pub = undefined;
      await waitFor(
        "the end of the grace",
        () => o.registry.get("live", "tf") === undefined,
      );
      await new Promise((r) => setTimeout(r, 700));

      // A range that is all recorded: from 3 s in, at live speed, to the end.
      const s0 = await sessionStart(base);
      const started = Date.now();
      const probe = await runPeer("ffprobe", [
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-show_entries",
        "packet=pts_time,flags",
        "-of",
        "json",
        `${base}.flv?start=${s0 + 3}`,
      ], 60_000);
      const took = (Date.now() - started) / 1000;
      assert.equal(probe.code, 0, probe.stderr);
      const packets = JSON.parse(probe.stdout).packets as {
        pts_time: string;
        flags: string;
      }[];
      assert.ok(packets[0]!.flags.startsWith("K"), "from a keyframe");
      const span = Number(packets.at(-1)!.pts_time) -
        Number(packets[0]!.pts_time);
      // 14 s published, from 3 s: about 11 s (±1 GOP), sent at live speed after a 2 s burst.
      assert.ok(Math.abs(span - 11) <= 1.5, `span ${span}`);
      assert.ok(took >= span - 2 - 1, `sent in ${took} s: faster than live`);
      // Before the window, or garbage: JSON errors.
      const old = await fetch(`${base}.flv?start=${s0 - 3600}`);
      assert.equal(old.status, 416);
      assert.equal((await old.json()).code, "ARCHIVE_OUT_OF_WINDOW");
      const bad = await fetch(`${base}.flv?start=yesterday`);
      assert.equal(bad.status, 400);
      await bad.body?.cancel();
    } finally {
      await pub?.stop();
      await origin?.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
