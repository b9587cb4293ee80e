/**
 * SRT end to end: ffmpeg publishes MPEG-TS over SRT (libsrt in both), ffprobe reads the stream
 * back over HTTP-FLV, HLS, RTMP and SRT; a wrong passphrase is refused in the handshake; garbage
 * TS, a bad streamid and a play of a stream that is not live close only their own connection.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../../config/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { silentLogger } from "../../origin/log.ts";
import { startOrigin } from "../../origin/mod.ts";
import { loadLibsrt, SrtOpt, SrtSockState } from "../../origin/srt/libsrt.ts";
import {
  hasBinary,
  probeStreams,
  runPeer,
  startPeer,
  waitFor,
} from "../_helpers/peers.ts";

const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe");
let haveLibsrt = true;
try {
  loadLibsrt("").release();
} catch {
  haveLibsrt = false;
}

/** ffmpeg args publishing a small H.264/AAC MPEG-TS to an SRT URL for `seconds`. */
function srtPublishArgs(url: string, seconds: number): string[] {
  return [
    "-v",
    "error",
    "-nostdin",
    "-re",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=320x240:rate=25",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=1000:sample_rate=44100",
    "-t",
    String(seconds),
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-tune",
    "zerolatency",
    "-g",
    "25",
    "-c:a",
    "aac",
    "-b:a",
    "64k",
    "-f",
    "mpegts",
    url,
  ];
}

function codecs(streams: { codec_name: string }[]): string[] {
  return streams.map((s) => s.codec_name).sort();
}

async function startTestOrigin(srt: Record<string, unknown> = {}) {
  const metrics = new MetricsRegistry();
  const config = parseConfig({
    origin: {
      rtmpPort: 0,
      httpPort: 0,
      virtualLive: [],
      rtsp: { enabled: false },
      srt: { port: 0, ...srt },
    },
  });
  const origin = await startOrigin(config.origin, {
    log: silentLogger,
    metrics,
  });
  assert.ok(origin.srtPort, "the SRT listener started");
  return { origin, metrics, srtPort: origin.srtPort! };
}

Deno.test({
  name:
    "origin/srt: ffmpeg publishes over SRT; ffprobe reads it over HTTP-FLV, HLS, RTMP and SRT",
  ignore: !haveFfmpeg || !haveLibsrt,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { origin, metrics, srtPort } = await startTestOrigin();
    const srt = `srt://127.0.0.1:${srtPort}`;
    const pub = startPeer(
      "ffmpeg",
      srtPublishArgs(`${srt}?streamid=#!::r=live/s1,m=publish`, 20),
    );
    try {
      const hub = await waitFor("the SRT publish", () => {
        const h = origin.registry.get("live", "s1");
        return h?.codecs.video && h.codecs.audio ? h : undefined;
      }, 15_000);
      assert.equal(hub.publisher.protocol, "srt");
      assert.deepEqual(hub.codecs, { video: "avc", audio: "aac" });
      const http = `http://127.0.0.1:${origin.httpPort}`;
      assert.deepEqual(codecs(await probeStreams(`${http}/live/s1.flv`)), [
        "aac",
        "h264",
      ]);
      assert.deepEqual(
        codecs(
          await probeStreams(`rtmp://127.0.0.1:${origin.rtmpPort}/live/s1`),
        ),
        ["aac", "h264"],
      );
      assert.deepEqual(
        codecs(await probeStreams(`${srt}?streamid=#!::r=live/s1,m=request`)),
        ["aac", "h264"],
      );
      await waitFor("two HLS segments", async () => {
        const res = await fetch(`${http}/live/s1.m3u8`);
        const text = await res.text();
        return (text.match(/#EXTINF/g) ?? []).length >= 2;
      }, 15_000);
      assert.deepEqual(codecs(await probeStreams(`${http}/live/s1.m3u8`)), [
        "aac",
        "h264",
      ]);
      const text = metrics.render();
      assert.match(
        text,
        /meridian_origin_ingest_sessions_total\{protocol="srt",action="publish"\} 1/,
      );
      assert.match(
        text,
        /meridian_origin_ingest_sessions_total\{protocol="srt",action="play"\} 1/,
      );
    } finally {
      await pub.stop();
      await origin.close();
    }
  },
});

Deno.test({
  name:
    "origin/srt: a wrong passphrase is refused in the handshake, the right one publishes",
  ignore: !haveFfmpeg || !haveLibsrt,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const passphrase = "correct-horse-battery";
    const { origin, srtPort } = await startTestOrigin({ passphrase });
    const url = (p: string) =>
      `srt://127.0.0.1:${srtPort}?streamid=#!::r=live/enc,m=publish&passphrase=${p}`;
    try {
      const wrong = await runPeer(
        "ffmpeg",
        srtPublishArgs(url("wrong-passphrase"), 3),
        20_000,
      );
      assert.notEqual(wrong.code, 0, "ffmpeg with a wrong passphrase fails");
      assert.equal(origin.registry.get("live", "enc"), undefined);
      const none = await runPeer(
        "ffmpeg",
        srtPublishArgs(`srt://127.0.0.1:${srtPort}?streamid=live/enc`, 3),
        20_000,
      );
      assert.notEqual(none.code, 0, "ffmpeg without a passphrase fails");
      const pub = startPeer("ffmpeg", srtPublishArgs(url(passphrase), 10));
      try {
        await waitFor(
          "the encrypted publish",
          () => origin.registry.get("live", "enc")?.codecs.video !== undefined,
        );
      } finally {
        await pub.stop();
      }
    } finally {
      await origin.close();
    }
  },
});

/** An SRT caller of our own (libsrt in-process): connects with a streamid. */
async function srtCaller(port: number, streamId: string) {
  const srt = loadLibsrt("");
  const sock = srt.createSocket();
  srt.setString(sock, SrtOpt.StreamId, streamId, "SRTO_STREAMID");
  srt.setInt(sock, SrtOpt.ConnTimeo, 3000, "SRTO_CONNTIMEO");
  const r = await srt.connect(sock, "127.0.0.1", port);
  return {
    connected: r === 0,
    /** Sends `bytes` in messages of 1316 (blocking socket: libsrt queues them). */
    send(bytes: Uint8Array) {
      for (let i = 0; i < bytes.byteLength; i += 1316) {
        srt.send(sock, bytes.subarray(i, i + 1316));
      }
    },
    gone: () => srt.state(sock) >= SrtSockState.Broken,
    close() {
      srt.close(sock);
      srt.release();
    },
  };
}

Deno.test({
  name:
    "origin/srt: garbage TS, a bad streamid and a play of a stream not live close only their own connection",
  ignore: !haveFfmpeg || !haveLibsrt,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { origin, metrics, srtPort } = await startTestOrigin();
    const pub = startPeer(
      "ffmpeg",
      srtPublishArgs(
        `srt://127.0.0.1:${srtPort}?streamid=#!::r=live/good,m=publish`,
        20,
      ),
    );
    const callers: { close(): void }[] = [];
    try {
      const hub = await waitFor(
        "the good publish",
        () =>
          origin.registry.get("live", "good")?.codecs.video
            ? origin.registry.get("live", "good")
            : undefined,
      );

      // Garbage: bytes that never hold a TS sync byte.
      const junk = await srtCaller(srtPort, "#!::r=live/junk,m=publish");
      callers.push(junk);
      assert.ok(junk.connected);
      await waitFor(
        "the junk publish to start",
        () => origin.registry.get("live", "junk") !== undefined,
      );
      junk.send(new Uint8Array(20 * 1316).fill(0x11));
      await waitFor("the junk connection closed", () => junk.gone(), 10_000);
      assert.equal(origin.registry.get("live", "junk"), undefined);

      // A streamid that names no stream.
      const bad = await srtCaller(srtPort, "#!::r=nothing,m=publish");
      callers.push(bad);
      await waitFor(
        "the bad streamid closed",
        () => !bad.connected || bad.gone(),
        10_000,
      );

      // A play of a stream that is not live.
      const t0 = Date.now();
      const miss = await runPeer("ffprobe", [
        "-v",
        "error",
        "-show_streams",
        `srt://127.0.0.1:${srtPort}?streamid=#!::r=live/nope,m=request`,
      ], 20_000);
      assert.notEqual(miss.code, 0);
      assert.ok(Date.now() - t0 < 15_000, "refused promptly");

      // The good stream went on through all of it.
      assert.equal(origin.registry.get("live", "good"), hub);
      const before = hub.bytesIn;
      await waitFor("the good stream still fed", () => hub.bytesIn > before);
      assert.deepEqual(
        codecs(
          await probeStreams(
            `http://127.0.0.1:${origin.httpPort}/live/good.flv`,
          ),
        ),
        ["aac", "h264"],
      );
      const text = metrics.render();
      assert.match(
        text,
        /meridian_origin_ingest_refused_total\{protocol="srt",action="publish",reason="bad_name"\} 1/,
      );
      assert.match(
        text,
        /meridian_origin_ingest_refused_total\{protocol="srt",action="play",reason="not_found"\} 1/,
      );
    } finally {
      for (const c of callers) c.close();
      await pub.stop();
      await origin.close();
    }
  },
});
