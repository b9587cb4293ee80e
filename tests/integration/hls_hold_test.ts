/**
 * Playlist requests that arrive between a stream going live (in `/api/streams`) and its first
 * segment are held until the segment exists, bounded in time and number; unknown streams are
 * 404 at once; a client that hangs up releases its hold.
 */
import assert from "node:assert/strict";
import { decodeCommand, type RtmpMessage } from "../../codec/rtmp/mod.ts";
import { encodeAvcDecoderConfig } from "../../codec/h264/mod.ts";
import { parseConfig } from "../../config/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { silentLogger } from "../../origin/log.ts";
import { type OriginHandle, startOrigin } from "../../origin/mod.ts";
import {
  type BackgroundPeer,
  hasBinary,
  publishArgs,
  startPeer,
  waitFor,
} from "../_helpers/peers.ts";
import { RawClient } from "../_helpers/rtmp_client.ts";
import {
  PPS_320X240_BASELINE,
  SPS_320X240_BASELINE,
} from "../fixtures/h264.ts";

const haveFfmpeg = await hasBinary("ffmpeg");

function metricValue(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

Deno.test({
  name:
    "HLS hold: a playlist fetched as soon as /api/streams lists an ffmpeg stream is held and answered 200 with its first segment; unknown streams 404 at once",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const metrics = new MetricsRegistry();
    const config = parseConfig({
      origin: { rtmpPort: 0, httpPort: 0, virtualLive: [] },
    });
    const origin = await startOrigin(config.origin, {
      log: silentLogger,
      metrics,
    });
    const http = `http://127.0.0.1:${origin.httpPort}`;
    let pub: BackgroundPeer | undefined;
    try {
      pub = startPeer(
        "ffmpeg",
        publishArgs(`rtmp://127.0.0.1:${origin.rtmpPort}/live/cam`, 30),
      );
      // What a player started from the stream list does: list, then open the playlist.
      const listed = await waitFor(
        "cam in /api/streams",
        async () => {
          const list = await (await fetch(`${http}/api/streams`)).json();
          return list.streams.find((s: { name: string }) => s.name === "cam");
        },
        20_000,
        10,
      );
      const t0 = Date.now();
      const [res, unknown] = await Promise.all([
        fetch(`${http}${listed.urls.hls}`),
        (async () => {
          const r = await fetch(`${http}/live/nobody.m3u8`);
          await r.body?.cancel();
          return { status: r.status, ms: Date.now() - t0 };
        })(),
      ]);
      const ms = Date.now() - t0;
      const text = await res.text();
      assert.equal(res.status, 200, text);
      assert.match(text, /#EXTINF:/);
      // Held for the first segment: one target (2 s) at most 1.5 × 2 s.
      assert.ok(ms <= 3_500, `answered after ${ms} ms`);
      assert.equal(
        metricValue(
          metrics.render(),
          'meridian_origin_hls_playlist_holds_total{outcome="ready"}',
        ),
        1,
        "the request was held, not answered from a segment already there",
      );
      assert.equal(unknown.status, 404);
      assert.ok(unknown.ms < 500, `unknown stream took ${unknown.ms} ms`);
    } finally {
      await pub?.stop();
      await origin.close();
    }
  },
});

/** Sends a GET on a fresh connection and returns it (the answer is read later). */
async function rawGet(port: number, path: string): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(
    new TextEncoder().encode(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
    ),
  );
  return conn;
}

/** Reads the response head of `conn` (within `timeoutMs`): status and fields. */
async function readHead(
  conn: Deno.TcpConn,
  timeoutMs: number,
): Promise<{ status: number; head: string }> {
  const buf = new Uint8Array(4096);
  let text = "";
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    while (!text.includes("\r\n\r\n")) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
  } finally {
    clearTimeout(timer);
  }
  const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
  if (!m) throw new Error(`no response head within ${timeoutMs} ms: ${text}`);
  return { status: Number(m[1]), head: text.split("\r\n\r\n")[0]! };
}

/** Publishes `live/{name}` with an AVC sequence header and no frame: live, never a segment. */
async function publishWithoutFrames(
  origin: OriginHandle,
  name: string,
): Promise<RawClient> {
  const isCommand = (n: string) => (m: RtmpMessage) =>
    m.typeId === 20 && decodeCommand(m.payload, 20).name === n;
  const pub = await RawClient.connect(origin.rtmpPort);
  await pub.send("connect", 1, {
    app: "live",
    tcUrl: `rtmp://127.0.0.1:${origin.rtmpPort}/live`,
  }, []);
  await pub.send("createStream", 2, null, []);
  await pub.until((m) =>
    isCommand("_result")(m) && decodeCommand(m.payload, 20).transactionId === 2
  );
  await pub.send("publish", 0, null, [name, "live"], 1);
  await pub.until(isCommand("onStatus"));
  const record = encodeAvcDecoderConfig({
    profileIndication: 0x42,
    profileCompatibility: 0xc0,
    levelIndication: 0x0d,
    naluLengthSize: 4,
    sps: [SPS_320X240_BASELINE],
    pps: [PPS_320X240_BASELINE],
    extension: new Uint8Array(0),
  });
  await pub.sendTag({
    type: 9,
    timestampMs: 0,
    data: new Uint8Array([0x17, 0, 0, 0, 0, ...record]),
  });
  await waitFor(
    "the stream to be live",
    () => origin.registry.get("live", name) ? true : undefined,
  );
  return pub;
}

for (const httpServer of ["http1", "deno"] as const) {
  Deno.test({
    name:
      `HLS hold (${httpServer} server): held requests are capped (503 beyond), released by a client hanging up, and 404 after 1.5 target durations`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const metrics = new MetricsRegistry();
      const config = parseConfig({
        origin: {
          rtmpPort: 0,
          httpPort: 0,
          httpServer,
          virtualLive: [],
          hls: { targetDurationSeconds: 2, maxHeldPlaylistRequests: 2 },
        },
      });
      const origin = await startOrigin(config.origin, {
        log: silentLogger,
        metrics,
      });
      const port = origin.httpPort;
      const held = () =>
        metricValue(
          metrics.render(),
          "meridian_origin_hls_held_playlist_requests",
        );
      const conns: Deno.TcpConn[] = [];
      const closeQuietly = (c: Deno.TcpConn) => {
        try {
          c.close();
        } catch {
          // already closed
        }
      };
      let pub: RawClient | undefined;
      try {
        pub = await publishWithoutFrames(origin, "still");
        const t1 = Date.now();
        const c1 = await rawGet(port, "/live/still.m3u8");
        const c2 = await rawGet(port, "/live/still.m3u8");
        conns.push(c1, c2);
        await waitFor("two held requests", () => held() === 2 || undefined);

        // Over the cap: 503 at once, with Retry-After, not cached.
        const c3 = await rawGet(port, "/live/still.m3u8");
        conns.push(c3);
        const busy = await readHead(c3, 1_000);
        assert.equal(busy.status, 503);
        assert.match(busy.head, /\r\nretry-after: 1/i);
        assert.match(busy.head, /\r\ncache-control: no-store/i);

        // A client that hangs up frees its place long before the hold would end (3 s).
        closeQuietly(c1);
        await waitFor(
          "the hang-up to release a hold",
          () => held() === 1 || undefined,
          2_000,
          20,
        );
        assert.ok(
          Date.now() - t1 < 2_500,
          `released ${Date.now() - t1} ms after the request`,
        );
        const c4 = await rawGet(port, "/live/still.m3u8");
        conns.push(c4);
        await waitFor("the freed place taken", () => held() === 2 || undefined);

        // Unknown streams are never held.
        const t5 = Date.now();
        const c5 = await rawGet(port, "/live/nobody.m3u8");
        conns.push(c5);
        assert.equal((await readHead(c5, 1_000)).status, 404);
        assert.ok(Date.now() - t5 < 500);

        // No segment within 1.5 × 2 s: 404 then.
        const timedOut = await readHead(c2, 6_000);
        const ms = Date.now() - t1;
        assert.equal(timedOut.status, 404);
        assert.ok(ms >= 2_900 && ms <= 4_500, `timed out after ${ms} ms`);
        assert.equal((await readHead(c4, 6_000)).status, 404);
        await waitFor("no held request", () => held() === 0 || undefined);
        const text = metrics.render();
        for (
          const [outcome, n] of [["busy", 1], ["aborted", 1], ["timeout", 2]]
        ) {
          assert.equal(
            metricValue(
              text,
              `meridian_origin_hls_playlist_holds_total{outcome="${outcome}"}`,
            ),
            n,
            `${outcome} in\n${text}`,
          );
        }
      } finally {
        for (const c of conns) closeQuietly(c);
        pub?.conn.close();
        await origin.close();
      }
    },
  });
}
