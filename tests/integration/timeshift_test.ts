/**
 * Time-shift with real peers: ffmpeg publishes over RTMP (1 s GOPs, 1 s segments); the
 * `?offset=` and `?start=&end=` playlists play in ffprobe with the durations their ranges ask
 * for, carry EXT-X-PROGRAM-DATE-TIME on every segment, and are cached by an edge for as long
 * as the origin says (a closed range is immutable, an open one a second).
 */
import assert from "node:assert/strict";
import {
  type ParsedMediaPlaylist,
  parseMediaPlaylist,
} from "../../codec/hls/mod.ts";
import { parseConfig } from "../../config/mod.ts";
import type { EdgeHandle } from "../../edge/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { silentLogger } from "../../origin/log.ts";
import { type OriginHandle, startOrigin } from "../../origin/mod.ts";
import { edgeConfig, startTestEdge } from "../edge/_helpers/fixtures.ts";
import {
  type BackgroundPeer,
  hasBinary,
  publishArgs,
  startPeer,
  waitFor,
} from "../_helpers/peers.ts";
import { probedSeconds } from "./_archive.ts";

const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe");

async function playlist(url: string): Promise<ParsedMediaPlaylist> {
  const res = await fetch(url);
  const text = await res.text();
  assert.equal(res.status, 200, `${url}: ${text}`);
  return parseMediaPlaylist(text);
}

const total = (p: ParsedMediaPlaylist) =>
  p.segments.reduce((n, s) => n + s.durationSeconds, 0);

Deno.test({
  name:
    "time-shift: ffmpeg publishes 12 s; offset and start/end playlists play in ffprobe for their ranges (±1 segment), PDT on every segment; an edge caches them with the origin's TTLs",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "meridian-timeshift-" });
    const config = parseConfig({
      origin: {
        rtmpPort: 0,
        httpPort: 0,
        virtualLive: [],
        hls: {
          targetDurationSeconds: 1,
          windowSegments: 3,
          endGraceSeconds: 0.5,
        },
        defaultApp: { dvr: { windowSeconds: 120 } },
      },
    });
    let origin: OriginHandle | undefined;
    let edge: EdgeHandle | undefined;
    let pub: BackgroundPeer | undefined;
    try {
      origin = await startOrigin(config.origin, {
        log: silentLogger,
        metrics: new MetricsRegistry(),
        dataDir: dir,
      });
      const o = origin;
      const base = `http://127.0.0.1:${o.httpPort}/live/ts`;
      pub = startPeer(
        "ffmpeg",
        publishArgs(`rtmp://127.0.0.1:${o.rtmpPort}/live/ts`, 12, { gop: 25 }),
      );
      // While live: `offset` is sent to its absolute start, and the range grows (EVENT).
      await waitFor(
        "4 segments kept",
        async () => {
          const r = await fetch(`${base}/programs`);
          const b = await r.json();
          return r.ok && b.programs?.[0] &&
            b.programs[0].recorded.endUnix - b.programs[0].recorded.startUnix >=
              4;
        },
        20_000,
        100,
      );
      const redirect = await fetch(`${base}.m3u8?offset=-3`, {
        redirect: "manual",
      });
      assert.equal(redirect.status, 302);
      await redirect.body?.cancel();
      const live = await playlist(`${base}.m3u8?offset=-3`);
      assert.equal(live.playlistType, "EVENT");
      assert.equal(live.ended, false);
      assert.ok(live.segments.length >= 2 && live.segments.length <= 5);

      await pub.child.status;
      await pub.stop();
      pub = undefined;
      await waitFor(
        "the grace to pass",
        () => o.registry.get("live", "ts") === undefined,
      );
      await new Promise((r) => setTimeout(r, 700)); // endGraceSeconds: 0.5

      // The whole session, from the programme list.
      const programs = await (await fetch(`${base}/programs`)).json();
      const session = programs.programs.find((p: { kind: string }) =>
        p.kind === "session"
      );
      assert.ok(session, JSON.stringify(programs));
      const whole = await playlist(
        `http://127.0.0.1:${o.httpPort}${session.urls.hls}`,
      );
      assert.equal(whole.playlistType, "VOD");
      assert.ok(whole.ended);
      assert.ok(
        whole.segments.length >= 9,
        `${whole.segments.length} segments`,
      );
      assert.ok(
        whole.segments.every((s) => Number.isFinite(s.programDateTimeMs)),
        "EXT-X-PROGRAM-DATE-TIME on every segment",
      );

      // A closed range from segment 2 to segment 8 (their own PDTs): exactly those segments.
      const s = whole.segments;
      const from = s[2]!.programDateTimeMs;
      const to = s[8]!.programDateTimeMs;
      const rangeUrl = `${base}.m3u8?start=${from / 1000}&end=${to / 1000}`;
      const range = await playlist(rangeUrl);
      assert.deepEqual(
        range.segments.map((x) => x.uri),
        s.slice(2, 8).map((x) => x.uri),
      );
      const asked = (to - from) / 1000;
      const probed = await probedSeconds(rangeUrl);
      assert.ok(
        Math.abs(probed - asked) <= 1,
        `ffprobe ${probed.toFixed(3)} s for a ${asked.toFixed(3)} s range`,
      );
      // ISO 8601 and a range cut mid-segment: the segments holding it (at most one more).
      const iso = `${base}.m3u8?start=${
        new Date(from + 300).toISOString()
      }&end=${new Date(to - 300).toISOString()}`;
      const cut = await playlist(iso);
      assert.equal(cut.segments[0]!.uri, s[2]!.uri);
      assert.equal(cut.segments.at(-1)!.uri, s[7]!.uri);

      // `offset` after the end: from that moment to the end of the recording, ENDLIST.
      const ago = (Date.now() - s[0]!.programDateTimeMs) / 1000;
      const offsetUrl = `${base}.m3u8?offset=-${Math.ceil(ago)}`;
      const fromOffset = await playlist(offsetUrl);
      assert.equal(fromOffset.ended, true);
      const expected = total(whole);
      const probedAll = await probedSeconds(offsetUrl);
      assert.ok(
        Math.abs(probedAll - expected) <= 1,
        `ffprobe ${probedAll.toFixed(3)} s for the ${
          expected.toFixed(3)
        } s session`,
      );

      // Through an edge: the closed range is stored (immutable) and hit the second time.
      edge = await startTestEdge(
        edgeConfig([`http://127.0.0.1:${o.httpPort}`]),
      );
      const atEdge = `http://127.0.0.1:${edge.port}/live/ts.m3u8?start=${
        from / 1000
      }&end=${to / 1000}`;
      const first = await fetch(atEdge);
      assert.equal(first.status, 200);
      assert.match(first.headers.get("cache-control") ?? "", /immutable/);
      await first.body?.cancel();
      const second = await fetch(atEdge);
      assert.equal(second.status, 200);
      assert.match(second.headers.get("cache-status") ?? "", /hit/);
      assert.equal(await second.text(), await (await fetch(rangeUrl)).text());
    } finally {
      await pub?.stop();
      await edge?.close();
      await origin?.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
