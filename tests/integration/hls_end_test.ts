/**
 * The end of a live HLS stream, with real peers: ffmpeg publishes over RTMP and stops; the
 * playlist (read from the origin and through an edge) gets EXT-X-ENDLIST once the grace is
 * over, is 404 after the retention, and a later publish goes on numbering.
 */
import assert from "node:assert/strict";
import { parseMediaPlaylist } from "../../codec/hls/mod.ts";
import { parseConfig } from "../../config/mod.ts";
import type { EdgeHandle } from "../../edge/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { silentLogger } from "../../origin/log.ts";
import { type OriginHandle, startOrigin } from "../../origin/mod.ts";
import { edgeConfig, startTestEdge } from "../edge/_helpers/fixtures.ts";
import {
  type BackgroundPeer,
  hasBinary,
  probeStreams,
  publishArgs,
  runPeer,
  startPeer,
  waitFor,
} from "../_helpers/peers.ts";

const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe");

const GRACE_S = 2;
const RETENTION_S = 3;

function metricValue(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function get(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
}

Deno.test({
  name:
    "HLS end: ffmpeg stops → origin and edge playlists get EXT-X-ENDLIST after the grace, then 404 after the retention; a new publish goes on numbering",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const metrics = new MetricsRegistry();
    const config = parseConfig({
      origin: {
        rtmpPort: 0,
        httpPort: 0,
        virtualLive: [],
        hls: {
          targetDurationSeconds: 1,
          windowSegments: 3,
          endGraceSeconds: GRACE_S,
          endedRetentionSeconds: RETENTION_S,
        },
      },
    });
    let origin: OriginHandle | undefined;
    let edge: EdgeHandle | undefined;
    let pub: BackgroundPeer | undefined;
    try {
      origin = await startOrigin(config.origin, { log: silentLogger, metrics });
      const o = origin;
      edge = await startTestEdge(
        edgeConfig([`http://127.0.0.1:${o.httpPort}`]),
      );
      const atOrigin = `http://127.0.0.1:${o.httpPort}/live/end.m3u8`;
      const atEdge = `http://127.0.0.1:${edge.port}/live/end.m3u8`;
      const rtmp = `rtmp://127.0.0.1:${o.rtmpPort}/live/end`;
      // 4 s in real time, 1 s GOPs: a few segments, then the publisher leaves.
      const out = await runPeer("ffmpeg", publishArgs(rtmp, 4, { gop: 25 }));
      assert.equal(out.code, 0, out.stderr);
      await waitFor(
        "the stream to leave the registry",
        () => (o.registry.get("live", "end") ? undefined : true),
        5_000,
        20,
      );
      const leftAt = Date.now();
      // In the grace: .flv and /api/streams say it is gone, the playlist is still live (a
      // republish would continue it).
      assert.equal(
        (await get(`http://127.0.0.1:${o.httpPort}/live/end.flv`)).status,
        404,
      );
      const live = await get(atOrigin);
      assert.equal(live.status, 200);
      const lastLive = parseMediaPlaylist(live.text);
      assert.equal(lastLive.ended, false);
      assert.ok(lastLive.segments.length >= 2, live.text);

      // EXT-X-ENDLIST once the grace is over, at the origin and through the edge.
      const endedAt: Record<string, number> = {};
      for (
        const [where, url] of [["origin", atOrigin], ["edge", atEdge]] as const
      ) {
        const text = await waitFor(
          `EXT-X-ENDLIST at the ${where}`,
          async () => {
            const r = await get(url);
            return r.status === 200 && /#EXT-X-ENDLIST\n$/.test(r.text)
              ? r.text
              : undefined;
          },
          (GRACE_S + 3) * 1000,
          50,
        );
        endedAt[where] = Date.now() - leftAt;
        const p = parseMediaPlaylist(text);
        assert.equal(p.ended, true);
        // The same segments as the last live playlist: nothing added, nothing lost.
        assert.deepEqual(
          p.segments.map((s) => s.uri),
          lastLive.segments.map((s) => s.uri),
          where,
        );
      }
      assert.ok(
        endedAt.origin! >= GRACE_S * 1000 - 100 &&
          endedAt.origin! <= GRACE_S * 1000 + 1000,
        `ENDLIST ${endedAt.origin} ms after the publisher left (grace ${GRACE_S} s)`,
      );
      // The edge keeps a live playlist at most one target duration (plus a poll step).
      assert.ok(
        endedAt.edge! <= endedAt.origin! + 1500,
        JSON.stringify(endedAt),
      );
      assert.match(metrics.render(), /meridian_origin_hls_ended_total 1\n/);
      assert.match(
        metrics.render(),
        /meridian_origin_hls_streams\{phase="ended"\} 1\n/,
      );
      // A player opening the ended playlist plays it to the end (ffprobe through the edge).
      assert.deepEqual(
        (await probeStreams(atEdge)).map((s) => s.codec_name).sort(),
        ["aac", "h264"],
      );

      // Then 404, origin and edge (the edge keeps the ended playlist 1 s: its max-age).
      const goneAt: Record<string, number> = {};
      for (
        const [where, url] of [["origin", atOrigin], ["edge", atEdge]] as const
      ) {
        await waitFor(
          `404 at the ${where}`,
          async () => {
            const r = await get(url);
            return r.status === 404 ? true : undefined;
          },
          (RETENTION_S + 4) * 1000,
          50,
        );
        goneAt[where] = Date.now() - leftAt;
      }
      assert.ok(
        goneAt.origin! >= (GRACE_S + RETENTION_S) * 1000 - 200,
        `404 after ${goneAt.origin} ms: the ended playlist stays ${RETENTION_S} s`,
      );
      assert.ok(goneAt.edge! <= goneAt.origin! + 2500, JSON.stringify(goneAt));
      const segment = `http://127.0.0.1:${o.httpPort}/live/${
        lastLive.segments[0]!.uri
      }`;
      assert.equal((await get(segment)).status, 404);
      assert.match(
        metrics.render(),
        /meridian_origin_hls_streams\{phase="ended"\} 0\n/,
      );

      // A new publish of the same key: a live playlist again, numbering going on (segment
      // names are never reused: edges keep segments for a day), marked as a discontinuity.
      pub = startPeer("ffmpeg", publishArgs(rtmp, 30, { gop: 25 }));
      const again = await waitFor("a live playlist again", async () => {
        const r = await get(atOrigin);
        return r.status === 200 ? parseMediaPlaylist(r.text) : undefined;
      }, 15_000);
      assert.equal(again.ended, false);
      const lastSeq = lastLive.mediaSequence + lastLive.segments.length - 1;
      assert.ok(
        again.mediaSequence > lastSeq,
        `media sequence ${again.mediaSequence} after ${lastSeq}`,
      );
      assert.equal(again.segments[0]!.discontinuity, true);
      assert.ok(
        !again.segments.some((s) =>
          lastLive.segments.some((l) => l.uri === s.uri)
        ),
      );
    } finally {
      await pub?.stop();
      await edge?.close();
      await origin?.close();
    }
  },
});

Deno.test({
  name:
    "HLS end: a republish within the grace continues the live playlist behind a DISCONTINUITY, never ENDLIST",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const metrics = new MetricsRegistry();
    const config = parseConfig({
      origin: {
        rtmpPort: 0,
        httpPort: 0,
        virtualLive: [],
        hls: {
          targetDurationSeconds: 1,
          windowSegments: 4,
          endGraceSeconds: GRACE_S,
          endedRetentionSeconds: RETENTION_S,
        },
      },
    });
    const origin = await startOrigin(config.origin, {
      log: silentLogger,
      metrics,
    });
    const url = `http://127.0.0.1:${origin.httpPort}/live/re.m3u8`;
    const rtmp = `rtmp://127.0.0.1:${origin.rtmpPort}/live/re`;
    let pub: BackgroundPeer | undefined;
    try {
      const first = await runPeer("ffmpeg", publishArgs(rtmp, 3, { gop: 25 }));
      assert.equal(first.code, 0, first.stderr);
      const leftAt = Date.now();
      const before = parseMediaPlaylist((await get(url)).text);
      pub = startPeer("ffmpeg", publishArgs(rtmp, 30, { gop: 25 }));
      await waitFor(
        "the republish",
        () => origin.registry.get("live", "re") ? true : undefined,
        GRACE_S * 1000,
        20,
      );
      // Watched until well past the first publisher's grace: it never ended.
      const seen: string[] = [];
      let after: ReturnType<typeof parseMediaPlaylist> | undefined;
      while (Date.now() - leftAt < (GRACE_S + 2) * 1000) {
        const r = await get(url);
        assert.equal(r.status, 200, r.text);
        seen.push(r.text);
        after = parseMediaPlaylist(r.text);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(seen.every((t) => !t.includes("#EXT-X-ENDLIST")));
      assert.equal(
        metricValue(metrics.render(), "meridian_origin_hls_ended_total"),
        undefined,
      );
      // The republish's segments follow behind a discontinuity, numbering going on.
      const i = after!.segments.findIndex((s) => s.discontinuity);
      assert.ok(i >= 0 && i < after!.segments.length - 1, seen.at(-1));
      assert.ok(after!.mediaSequence >= before.mediaSequence);
    } finally {
      await pub?.stop();
      await origin.close();
    }
  },
});
