/**
 * RTSP end to end: ffmpeg publishes over RTSP (TCP interleaved, and UDP with H.265 + G.711);
 * ffprobe reads the stream back over HTTP-FLV, HLS, RTMP, RTSP (TCP and UDP) and SRT; publish
 * keys over Digest; malformed requests over raw sockets get 400 and the server keeps serving.
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
  startPeer,
  waitFor,
} from "../_helpers/peers.ts";

const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe");

function codecs(streams: { codec_name: string }[]): string[] {
  return streams.map((s) => s.codec_name).sort();
}

/** ffmpeg args publishing a small H.264/AAC stream to an RTSP URL for `seconds`. */
function rtspPublishArgs(
  url: string,
  seconds: number,
  o: { transport?: "tcp" | "udp"; video?: string[]; audio?: string[] } = {},
): string[] {
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
    ...(o.video ??
      [
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-tune",
        "zerolatency",
        "-g",
        "25",
      ]),
    ...(o.audio ?? ["-c:a", "aac", "-b:a", "64k"]),
    "-f",
    "rtsp",
    "-rtsp_transport",
    o.transport ?? "tcp",
    url,
  ];
}

async function startTestOrigin(origin: Record<string, unknown> = {}) {
  const metrics = new MetricsRegistry();
  const config = parseConfig({
    origin: {
      rtmpPort: 0,
      httpPort: 0,
      virtualLive: [],
      srt: { port: 0 },
      rtsp: { port: 0, rtpPort: 0, rtcpPort: 0 },
      ...origin,
    },
  });
  const o = await startOrigin(config.origin, { log: silentLogger, metrics });
  assert.ok(o.rtspPort, "the RTSP listener started");
  return { origin: o, metrics, rtsp: `rtsp://127.0.0.1:${o.rtspPort}` };
}

async function probeRtsp(url: string, transport: "tcp" | "udp") {
  const out = await runPeer("ffprobe", [
    "-v",
    "error",
    "-rtsp_transport",
    transport,
    "-show_streams",
    "-of",
    "json",
    url,
  ], 20_000);
  if (out.code !== 0) {
    throw new Error(
      `ffprobe ${url} (${transport}) failed: ${out.stderr.slice(0, 400)}`,
    );
  }
  return JSON.parse(out.stdout).streams as { codec_name: string }[];
}

Deno.test({
  name:
    "origin/rtsp: ffmpeg publishes over RTSP/TCP; ffprobe reads it over HTTP-FLV, HLS, RTMP, RTSP (TCP and UDP) and SRT",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { origin, metrics, rtsp } = await startTestOrigin();
    const pub = startPeer("ffmpeg", rtspPublishArgs(`${rtsp}/live/r1`, 25));
    try {
      const hub = await waitFor("the RTSP publish", () => {
        const h = origin.registry.get("live", "r1");
        return h?.codecs.video && h.codecs.audio ? h : undefined;
      }, 15_000);
      assert.equal(hub.publisher.protocol, "rtsp");
      assert.deepEqual(hub.codecs, { video: "avc", audio: "aac" });
      const http = `http://127.0.0.1:${origin.httpPort}`;
      assert.deepEqual(codecs(await probeStreams(`${http}/live/r1.flv`)), [
        "aac",
        "h264",
      ]);
      assert.deepEqual(
        codecs(
          await probeStreams(`rtmp://127.0.0.1:${origin.rtmpPort}/live/r1`),
        ),
        ["aac", "h264"],
      );
      assert.deepEqual(codecs(await probeRtsp(`${rtsp}/live/r1`, "tcp")), [
        "aac",
        "h264",
      ]);
      assert.deepEqual(codecs(await probeRtsp(`${rtsp}/live/r1`, "udp")), [
        "aac",
        "h264",
      ]);
      assert.deepEqual(
        codecs(
          await probeStreams(
            `srt://127.0.0.1:${origin.srtPort}?streamid=#!::r=live/r1,m=request`,
          ),
        ),
        ["aac", "h264"],
      );
      await waitFor("two HLS segments", async () => {
        const text = await (await fetch(`${http}/live/r1.m3u8`)).text();
        return (text.match(/#EXTINF/g) ?? []).length >= 2;
      }, 15_000);
      assert.deepEqual(codecs(await probeStreams(`${http}/live/r1.m3u8`)), [
        "aac",
        "h264",
      ]);
      const text = metrics.render();
      assert.match(
        text,
        /meridian_origin_ingest_sessions_total\{protocol="rtsp",action="publish"\} 1/,
      );
      assert.match(
        text,
        /meridian_origin_ingest_sessions_total\{protocol="rtsp",action="play"\} 2/,
      );
      assert.match(text, /meridian_origin_listener_up\{listener="rtsp"\} 1/);
    } finally {
      await pub.stop();
      await origin.close();
    }
  },
});

Deno.test({
  name:
    "origin/rtsp: ffmpeg publishes H.265 and G.711 over RTSP/UDP; RTSP play gives them back",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { origin, rtsp } = await startTestOrigin();
    const pub = startPeer(
      "ffmpeg",
      rtspPublishArgs(`${rtsp}/live/hevc`, 25, {
        transport: "udp",
        video: [
          "-c:v",
          "libx265",
          "-preset",
          "ultrafast",
          "-x265-params",
          "log-level=error",
          "-g",
          "25",
        ],
        audio: ["-c:a", "pcm_mulaw", "-ar", "8000"],
      }),
    );
    try {
      const hub = await waitFor("the UDP publish", () => {
        const h = origin.registry.get("live", "hevc");
        return h?.codecs.video && h.codecs.audio ? h : undefined;
      }, 15_000);
      assert.deepEqual(hub.codecs, { video: "hevc", audio: "g711u" });
      assert.deepEqual(codecs(await probeRtsp(`${rtsp}/live/hevc`, "tcp")), [
        "hevc",
        "pcm_mulaw",
      ]);
      // SRT play carries the HEVC (G.711 has no MPEG-TS stream type: video only).
      assert.deepEqual(
        codecs(
          await probeStreams(
            `srt://127.0.0.1:${origin.srtPort}?streamid=#!::r=live/hevc,m=request`,
          ),
        ),
        ["hevc"],
      );
    } finally {
      await pub.stop();
      await origin.close();
    }
  },
});

Deno.test({
  name:
    "origin/rtsp: a publish key over Digest publishes; none gets 401 and a wrong one is refused",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { origin, metrics, rtsp } = await startTestOrigin({
      apps: [{ name: "live", publishKeys: ["s3cret-key-1"] }],
    });
    const host = rtsp.slice("rtsp://".length);
    try {
      const none = await runPeer(
        "ffmpeg",
        rtspPublishArgs(`${rtsp}/live/k`, 2),
        20_000,
      );
      assert.notEqual(none.code, 0);
      assert.match(none.stderr, /401/);
      const wrong = await runPeer(
        "ffmpeg",
        rtspPublishArgs(`rtsp://cam:wrong@${host}/live/k`, 2),
        20_000,
      );
      assert.notEqual(wrong.code, 0);
      assert.equal(origin.registry.get("live", "k"), undefined);
      const pub = startPeer(
        "ffmpeg",
        rtspPublishArgs(`rtsp://cam:s3cret-key-1@${host}/live/k`, 10),
      );
      try {
        await waitFor(
          "the Digest publish",
          () => origin.registry.get("live", "k")?.codecs.video !== undefined,
          15_000,
        );
      } finally {
        await pub.stop();
      }
      // ffmpeg asks without credentials first, then answers the challenge.
      assert.match(
        metrics.render(),
        /meridian_origin_ingest_refused_total\{protocol="rtsp",action="publish",reason="wrong_key"\} 1/,
      );
      assert.match(
        metrics.render(),
        /meridian_origin_ingest_refused_total\{protocol="rtsp",action="publish",reason="missing_key"\} [1-9]/,
      );
    } finally {
      await origin.close();
    }
  },
});

/** Sends `text` on a new connection and reads until `done` matches or the peer closes. */
async function exchange(
  port: number,
  bytes: Uint8Array,
  done: RegExp,
): Promise<{ text: string; closed: boolean }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(bytes);
    let text = "";
    const buf = new Uint8Array(4096);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const n = await conn.read(buf);
      if (n === null) return { text, closed: true };
      text += new TextDecoder().decode(buf.subarray(0, n));
      if (done.test(text)) return { text, closed: false };
    }
    return { text, closed: false };
  } finally {
    try {
      conn.close();
    } catch {
      // closed by the server
    }
  }
}

Deno.test({
  name:
    "origin/rtsp: malformed requests, a bad SDP and an oversized interleaved frame get 400 or a close; the server keeps serving",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { origin, metrics, rtsp } = await startTestOrigin();
    const port = origin.rtspPort!;
    const enc = new TextEncoder();
    const pub = startPeer("ffmpeg", rtspPublishArgs(`${rtsp}/live/ok`, 25));
    try {
      const hub = await waitFor(
        "the good publish",
        () =>
          origin.registry.get("live", "ok")?.codecs.video
            ? origin.registry.get("live", "ok")
            : undefined,
        15_000,
      );

      const garbage = await exchange(
        port,
        enc.encode("HELLO WORLD\r\n\r\n"),
        /\r\n\r\n/,
      );
      assert.match(garbage.text, /^RTSP\/1\.0 400 Bad Request/);

      const noCseq = await exchange(
        port,
        enc.encode("OPTIONS rtsp://h/live/ok RTSP/1.0\r\n\r\n"),
        /\r\n\r\n/,
      );
      assert.match(noCseq.text, /^RTSP\/1\.0 400 /);

      const sdp = "this is not sdp";
      const badSdp = await exchange(
        port,
        enc.encode(
          `ANNOUNCE ${rtsp}/live/bad RTSP/1.0\r\nCSeq: 1\r\nContent-Type: application/sdp\r\nContent-Length: ${sdp.length}\r\n\r\n${sdp}`,
        ),
        /\r\n\r\n/,
      );
      assert.match(badSdp.text, /^RTSP\/1\.0 400 /);
      assert.equal(origin.registry.get("live", "bad"), undefined);

      const huge = await exchange(
        port,
        new Uint8Array([0x24, 0, 0xff, 0xff, 1, 2, 3]),
        /\r\n\r\n/,
      );
      assert.match(huge.text, /^RTSP\/1\.0 400 /);
      assert.match(huge.text, /interleaved frame: must be at most/);

      const longHead = await exchange(
        port,
        enc.encode(`OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX: ${"a".repeat(20_000)}`),
        /\r\n\r\n/,
      );
      assert.match(longHead.text, /^RTSP\/1\.0 400 /);

      // Still serving: a well-formed request on a new connection, and the publish goes on.
      const ok = await exchange(
        port,
        enc.encode("OPTIONS rtsp://h/live/ok RTSP/1.0\r\nCSeq: 7\r\n\r\n"),
        /\r\n\r\n/,
      );
      assert.match(ok.text, /^RTSP\/1\.0 200 OK\r\nCSeq: 7\r\n/);
      assert.match(ok.text, /Public: .*ANNOUNCE/);
      assert.equal(origin.registry.get("live", "ok"), hub);
      const before = hub.bytesIn;
      await waitFor("the good stream still fed", () => hub.bytesIn > before);
      assert.deepEqual(codecs(await probeRtsp(`${rtsp}/live/ok`, "tcp")), [
        "aac",
        "h264",
      ]);
      assert.match(
        metrics.render(),
        /meridian_origin_ingest_refused_total\{protocol="rtsp",action="play",reason="bad_request"\} [1-9]/,
      );
    } finally {
      await pub.stop();
      await origin.close();
    }
  },
});
