/**
 * End to end: a virtual-live channel over a 3-file playlist made here by ffmpeg (two MP4s of
 * different sizes, one with B-frames, and an FLV the size of the second MP4), run on a clock
 * three times faster than real time. ffprobe reads its packets over HTTP-FLV for more than
 * three loops (timestamps strictly increasing per stream, a new-extradata packet at each
 * change of parameters); every HLS segment listed meanwhile is fetched and probed
 * (EXT-X-DISCONTINUITY exactly where the picture size changes); RTMP play, HTTP-FLV and HLS
 * each carry H.264 and AAC; the guide and the admin API work over real HTTP.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../../config/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { silentLogger } from "../../origin/log.ts";
import { startOrigin } from "../../origin/mod.ts";
import {
  hasBinary,
  probeStreams,
  runPeer,
  waitFor,
} from "../_helpers/peers.ts";

const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe");
/** How much faster than real time the channel runs. */
const SPEED = 3;
const TOKEN = "integration-admin-token-0123";
const FILE_SECONDS = 2;
/** Video frames per file (25 fps). */
const FRAMES = FILE_SECONDS * 25;

async function makeClip(
  path: string,
  size: string,
  x264: string[],
): Promise<void> {
  const out = await runPeer("ffmpeg", [
    "-v",
    "error",
    "-nostdin",
    "-y",
    "-f",
    "lavfi",
    "-i",
    `testsrc2=size=${size}:rate=25`,
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=440:sample_rate=44100",
    "-t",
    String(FILE_SECONDS),
    "-c:v",
    "libx264",
    ...x264,
    // One keyframe a second: whole GOPs make 1 s HLS segments.
    "-g",
    "25",
    "-keyint_min",
    "25",
    "-sc_threshold",
    "0",
    "-c:a",
    "aac",
    "-b:a",
    "64k",
    path,
  ], 30_000);
  assert.equal(out.code, 0, out.stderr);
}

interface Packet {
  "codec_type": string;
  dts?: number;
  flags: string;
  "side_data_list"?: { "side_data_type": string }[];
}

interface SeenSegment {
  sequence: number;
  discontinuity: boolean;
  bytes: Uint8Array;
}

/** Polls the live playlist until `done()`, fetching each new segment once. */
async function watchHls(
  base: string,
  done: () => boolean,
): Promise<Map<number, SeenSegment>> {
  const seen = new Map<number, SeenSegment>();
  const deadline = Date.now() + 60_000;
  while (!done() && Date.now() < deadline) {
    const res = await fetch(`${base}/live/tv.m3u8`);
    const text = await res.text();
    if (res.ok) {
      const mediaSeq = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1]);
      let seq = mediaSeq;
      let disc = false;
      for (const line of text.split("\n")) {
        if (line === "#EXT-X-DISCONTINUITY") disc = true;
        else if (line !== "" && !line.startsWith("#")) {
          if (!seen.has(seq)) {
            const seg = await fetch(`${base}/live/${line}`);
            const bytes = new Uint8Array(await seg.arrayBuffer());
            if (seg.ok) {
              seen.set(seq, { sequence: seq, discontinuity: disc, bytes });
            }
          }
          seq++;
          disc = false;
        }
      }
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  return seen;
}

Deno.test({
  name:
    "virtual live: a 3-file playlist (MP4, MP4, FLV) runs 3 loops with strictly increasing timestamps; HLS breaks only at size changes; HTTP-FLV, HLS and RTMP play",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vlive_it_" });
    const a = `${dir}/a.mp4`;
    const b = `${dir}/b.mp4`;
    const c = `${dir}/c.flv`;
    // a: 320x240 with B-frames (an edit list); b and c: 480x270, the same encoder settings, so
    // the same AVC configuration: no discontinuity between them.
    await makeClip(a, "320x240", ["-preset", "veryfast", "-bf", "2"]);
    await makeClip(b, "480x270", ["-preset", "ultrafast", "-bf", "0"]);
    await makeClip(c, "480x270", ["-preset", "ultrafast", "-bf", "0"]);

    const config = parseConfig({
      origin: {
        rtmpPort: 0,
        httpPort: 0,
        adminToken: TOKEN,
        hls: { targetDurationSeconds: 1, windowSegments: 6 },
        virtualLive: [{ app: "live", stream: "tv", playlist: [a, b, c] }],
      },
    });
    const t0 = Date.now();
    const p0 = performance.now();
    const metrics = new MetricsRegistry();
    const origin = await startOrigin(config.origin, {
      log: silentLogger,
      metrics,
      virtualLiveClock: () => t0 + (performance.now() - p0) * SPEED,
    });
    const http = `http://127.0.0.1:${origin.httpPort}`;
    let flvDone = false;
    try {
      // 3.4 loops of packets: 3 files x (50 video + ~88 audio) a loop.
      const packets = Math.round(3.4 * 3 * (FRAMES + 88));
      const hls = watchHls(http, () => flvDone);
      const probe = runPeer("ffprobe", [
        "-v",
        "error",
        "-rw_timeout",
        "10000000",
        "-read_intervals",
        `%+#${packets}`,
        "-show_entries",
        "packet=codec_type,dts,flags:packet_side_data=side_data_type",
        "-of",
        "json",
        `${http}/live/tv.flv`,
      ], 45_000).finally(() => flvDone = true);
      const out = await probe;
      assert.equal(out.code, 0, out.stderr);
      const list: Packet[] = JSON.parse(out.stdout).packets;
      assert.ok(list.length >= packets * 0.95, `${list.length} packets`);
      for (const kind of ["video", "audio"]) {
        const dts = list.filter((p) => p.codec_type === kind).map((p) =>
          p.dts!
        );
        for (let i = 1; i < dts.length; i++) {
          assert.ok(
            dts[i]! > dts[i - 1]!,
            `${kind} dts ${dts[i - 1]} then ${dts[i]} at packet ${i}`,
          );
        }
      }
      const video = list.filter((p) => p.codec_type === "video");
      assert.ok(
        video.length >= 3 * 3 * FRAMES,
        `${video.length} video packets`,
      );
      // Parameters change twice a loop (a→b, c→a): FFmpeg marks each with new extradata.
      const changes = video.filter((p) =>
        p.side_data_list?.some((s) =>
          /extradata/i.test(s.side_data_type)
        )
      ).length;
      assert.ok(
        changes >= 5,
        `${changes} parameter changes in ${video.length} frames`,
      );

      const loops = Number(
        /meridian_origin_virtual_live_loops_total\{stream="live\/tv"\} (\d+)/
          .exec(metrics.render())?.[1],
      );
      assert.ok(loops >= 3, `loops ${loops}`);

      // HLS: a discontinuity exactly where the picture size changes from the segment before.
      const segments = [...(await hls).values()].sort((x, y) =>
        x.sequence - y.sequence
      );
      assert.ok(segments.length >= 8, `${segments.length} segments seen`);
      const sizes: string[] = [];
      for (const s of segments) {
        const path = `${dir}/seg${s.sequence}.ts`;
        await Deno.writeFile(path, s.bytes);
        const st = await probeStreams(path);
        const v = st.find((x) => x.codec_type === "video") as
          | { width: number; height: number }
          | undefined;
        assert.ok(v, `segment ${s.sequence} has video`);
        sizes.push(`${v.width}x${v.height}`);
        assert.deepEqual(
          st.map((x) => x.codec_name).sort(),
          ["aac", "h264"],
          `segment ${s.sequence}`,
        );
      }
      let breaks = 0;
      let sameSize = 0;
      for (let i = 1; i < segments.length; i++) {
        if (segments[i]!.sequence !== segments[i - 1]!.sequence + 1) continue;
        const changed = sizes[i] !== sizes[i - 1];
        assert.equal(
          segments[i]!.discontinuity,
          changed,
          `segment ${segments[i]!.sequence}: ${sizes[i - 1]} → ${
            sizes[i]
          }, discontinuity ${segments[i]!.discontinuity}\n${sizes.join(" ")}`,
        );
        if (changed) breaks++;
        else sameSize++;
      }
      assert.ok(
        breaks >= 2 && sameSize >= 2,
        `${breaks} breaks, ${sameSize} continuations`,
      );

      // Every live output carries both tracks.
      const codecs = (s: { codec_name: string }[]) =>
        s.map((x) => x.codec_name).sort();
      assert.deepEqual(codecs(await probeStreams(`${http}/live/tv.flv`)), [
        "aac",
        "h264",
      ]);
      assert.deepEqual(codecs(await probeStreams(`${http}/live/tv.m3u8`)), [
        "aac",
        "h264",
      ]);
      assert.deepEqual(
        codecs(
          await probeStreams(`rtmp://127.0.0.1:${origin.rtmpPort}/live/tv`),
        ),
        ["aac", "h264"],
      );

      // The guide, and a playlist replaced through the admin API at the next boundary.
      const guide = await (await fetch(`${http}/live/tv/programs`)).json();
      assert.ok(
        ["a.mp4", "b.mp4", "c.flv"].includes(guide.now.file),
        JSON.stringify(guide),
      );
      assert.ok(guide.next.file, JSON.stringify(guide));
      const denied = await fetch(`${http}/admin/channels/live/tv`, {
        method: "PUT",
        body: JSON.stringify({ playlist: [c] }),
      });
      await denied.body?.cancel();
      assert.equal(denied.status, 401);
      const put = await fetch(`${http}/admin/channels/live/tv`, {
        method: "PUT",
        headers: { Authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ playlist: [c] }),
      });
      assert.equal(put.status, 200, await put.clone().text());
      assert.deepEqual((await put.json()).playlist, [c]);
      await waitFor("the new playlist to play", async () => {
        const g = await (await fetch(`${http}/live/tv/programs`)).json();
        return g.now?.file === "c.flv" && g.next?.file === "c.flv"
          ? true
          : undefined;
      }, 15_000);
    } finally {
      flvDone = true;
      await origin.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
