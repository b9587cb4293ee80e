/**
 * Codecs beyond H.264/AAC: HEVC over enhanced RTMP (FourCC hvc1) passes through to HTTP-FLV and
 * RTMP play byte for byte; MP3 audio is tolerated on every output.
 */
import assert from "node:assert/strict";
import { FlvReader } from "../../codec/flv/mod.ts";
import { parseMediaPlaylist } from "../../codec/hls/mod.ts";
import { StreamType, TsDemuxer, TsPid } from "../../codec/mpegts/mod.ts";
import type { FlvTag } from "../../codec/flv/types.ts";
import { decodeCommand, type RtmpMessage } from "../../codec/rtmp/mod.ts";
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
import { RawClient } from "../_helpers/rtmp_client.ts";

const haveFfmpeg = await hasBinary("ffmpeg") && await hasBinary("ffprobe");
const isCommand = (name: string) => (m: RtmpMessage) =>
  m.typeId === 20 && decodeCommand(m.payload, 20).name === name;

/** An enhanced RTMP video tag body: IsExHeader | frame type | packet type, FourCC, then payload. */
function exVideo(
  frameType: number,
  packetType: number,
  payload: number[],
): Uint8Array {
  const cts = packetType === 1 ? [0, 0, 0] : [];
  return new Uint8Array([
    0x80 | (frameType << 4) | packetType,
    ...new TextEncoder().encode("hvc1"),
    ...cts,
    ...payload,
  ]);
}

Deno.test({
  name:
    "origin: HEVC over enhanced RTMP passes through to HTTP-FLV and RTMP play unchanged",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const config = parseConfig({
      origin: {
        rtmpPort: 0,
        httpPort: 0,
        virtualLive: [],
        live: { flushIntervalMs: 0 },
      },
    });
    const origin = await startOrigin(config.origin, {
      log: silentLogger,
      metrics: new MetricsRegistry(),
    });
    const pub = await RawClient.connect(origin.rtmpPort);
    let player: RawClient | undefined;
    try {
      await pub.send("connect", 1, {
        app: "live",
        tcUrl: `rtmp://127.0.0.1:${origin.rtmpPort}/live`,
      }, []);
      await pub.send("createStream", 2, null, []);
      await pub.until((m) =>
        isCommand("_result")(m) &&
        decodeCommand(m.payload, 20).transactionId === 2
      );
      await pub.send("publish", 0, null, ["hevc", "live"], 1);
      await pub.until(isCommand("onStatus"));
      const sent: FlvTag[] = [
        { type: 9, timestampMs: 0, data: exVideo(1, 0, [1, 2, 3, 4, 5]) }, // SequenceStart (config record)
        {
          type: 9,
          timestampMs: 0,
          data: exVideo(1, 1, [0, 0, 0, 2, 0x26, 0x01]),
        }, // keyframe, CodedFrames
        {
          type: 9,
          timestampMs: 40,
          data: exVideo(2, 3, [0, 0, 0, 2, 0x02, 0x01]),
        }, // inter, CodedFramesX
      ];
      for (const t of sent) await pub.sendTag(t);
      const hub = await waitFor("hevc hub", () => {
        const h = origin.registry.get("live", "hevc");
        return h && h.codecs.video ? h : undefined;
      });
      assert.equal(hub.codecs.video, "hevc");

      // HTTP-FLV: the late joiner gets the sequence start and the GOP, bytes unchanged.
      const res = await fetch(
        `http://127.0.0.1:${origin.httpPort}/live/hevc.flv`,
      );
      const reader = new FlvReader();
      const body = res.body!.getReader();
      const got: FlvTag[] = [];
      while (got.length < 3) {
        const { value, done } = await body.read();
        if (done) break;
        reader.push(value);
        got.push(...reader.pullAll());
      }
      await body.cancel();
      assert.deepEqual(
        got.map((t) => [...t.data]),
        sent.map((t) => [...t.data]),
      );

      // RTMP play: the same video message bodies.
      player = await RawClient.connect(origin.rtmpPort);
      await player.send("connect", 1, { app: "live" }, []);
      await player.send("createStream", 2, null, []);
      await player.until((m) =>
        isCommand("_result")(m) &&
        decodeCommand(m.payload, 20).transactionId === 2
      );
      await player.send("play", 0, null, ["hevc"], 1);
      const first = await player.until((m) => m.typeId === 9);
      assert.deepEqual([...first.payload], [...sent[0]!.data]);
    } finally {
      player?.conn.close();
      pub.conn.close();
      await origin.close();
    }
  },
});

Deno.test({
  name: "origin: H.264 + MP3 from ffmpeg plays as HTTP-FLV, RTMP and HLS",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const config = parseConfig({
      origin: { rtmpPort: 0, httpPort: 0, virtualLive: [] },
    });
    const origin = await startOrigin(config.origin, {
      log: silentLogger,
      metrics: new MetricsRegistry(),
    });
    const http = `http://127.0.0.1:${origin.httpPort}`;
    const rtmp = `rtmp://127.0.0.1:${origin.rtmpPort}/live/mp3`;
    const pub = startPeer("ffmpeg", [
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
      "sine=frequency=500:sample_rate=44100",
      "-t",
      "20",
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-g",
      "25",
      "-c:a",
      "libmp3lame",
      "-ar",
      "44100",
      "-b:a",
      "64k",
      "-f",
      "flv",
      rtmp,
    ]);
    try {
      await waitFor(
        "mp3 stream",
        () => origin.registry.get("live", "mp3")?.codecs.audio,
        10_000,
      );
      const names = (s: { codec_name: string }[]) =>
        s.map((x) => x.codec_name).sort();
      assert.deepEqual(names(await probeStreams(`${http}/live/mp3.flv`)), [
        "h264",
        "mp3",
      ]);
      assert.deepEqual(names(await probeStreams(rtmp)), ["h264", "mp3"]);
      await waitFor("mp3 playlist", async () => {
        const r = await fetch(`${http}/live/mp3.m3u8`);
        const t = await r.text();
        return r.ok && (t.match(/#EXTINF/g) ?? []).length >= 2 ? t : undefined;
      }, 15_000);
      assert.deepEqual(names(await probeStreams(`${http}/live/mp3.m3u8`)), [
        "h264",
        "mp3",
      ]);
    } finally {
      await pub.stop();
      await origin.close();
    }
  },
});

Deno.test({
  name:
    "origin: ffmpeg H.264 + MP3 whose audio starts 300 ms after the first keyframe: the first HLS segment carries the MP3 track, no DISCONTINUITY",
  ignore: !haveFfmpeg,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const config = parseConfig({
      origin: { rtmpPort: 0, httpPort: 0, virtualLive: [] },
    });
    const origin = await startOrigin(config.origin, {
      log: silentLogger,
      metrics: new MetricsRegistry(),
    });
    const http = `http://127.0.0.1:${origin.httpPort}`;
    try {
      // Not real time: 5 s of media as fast as ffmpeg encodes; segments follow media time.
      const pub = await runPeer("ffmpeg", [
        "-v",
        "error",
        "-nostdin",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-itsoffset",
        "0.3",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=500:sample_rate=44100",
        "-t",
        "5",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "25",
        "-c:a",
        "libmp3lame",
        "-b:a",
        "64k",
        "-f",
        "flv",
        `rtmp://127.0.0.1:${origin.rtmpPort}/live/late`,
      ], 30_000);
      assert.equal(pub.code, 0, pub.stderr);
      const text = await waitFor("playlist", async () => {
        const r = await fetch(`${http}/live/late.m3u8`);
        const t = await r.text();
        return r.ok && (t.match(/#EXTINF/g) ?? []).length >= 2 ? t : undefined;
      }, 10_000);
      const playlist = parseMediaPlaylist(text);
      assert.equal(playlist.mediaSequence, 0);
      assert.ok(
        playlist.segments.every((s) => !s.discontinuity),
        `no discontinuity expected:\n${text}`,
      );
      const first = new Uint8Array(
        await (await fetch(`${http}/live/${playlist.segments[0]!.uri}`))
          .arrayBuffer(),
      );
      const ts = new TsDemuxer().demux(first);
      assert.deepEqual(ts.pmt?.streams.map((s) => s.streamType), [
        StreamType.H264,
        StreamType.Mpeg1Audio,
      ]);
      assert.ok(ts.pes.some((p) => p.pid === TsPid.Audio), "audio in seg 0");
      // ffprobe reads the first segment on its own as h264 + mp3.
      const probe = await runPeer("ffprobe", [
        "-v",
        "error",
        "-show_streams",
        "-of",
        "json",
        `${http}/live/${playlist.segments[0]!.uri}`,
      ], 20_000);
      assert.equal(probe.code, 0, probe.stderr);
      assert.deepEqual(
        (JSON.parse(probe.stdout).streams as { codec_name: string }[]).map((
          s,
        ) => s.codec_name).sort(),
        ["h264", "mp3"],
      );
    } finally {
      await origin.close();
    }
  },
});
