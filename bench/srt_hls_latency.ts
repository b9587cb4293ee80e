/**
 * SRT → HLS latency, in-process: an origin with SRT on an ephemeral port, ffmpeg publishing a
 * synthetic 25 fps H.264/AAC stream (`-re`, 1 s GOP, `-tune zerolatency`) as MPEG-TS over SRT,
 * and the live playlist polled every 20 ms. For each new segment: the time it appeared in the
 * playlist minus the time its last frame reached the origin (the hub's first tag is media time
 * 0; -re paces frames on the media clock), i.e. what packaging adds on top of the SRT link.
 * A player adds its own buffer: hls.js starts `liveSyncDurationCount` (3) target durations
 * behind the newest segment's end, so glass-to-glass ≈ the value below + SRT latency
 * (`origin.srt.latencyMs`, 120 ms) + 3 × target + decode.
 *
 * usage: deno run -A bench/srt_hls_latency.ts [SECONDS=20] [TARGET_SECONDS=1] [transport=srt|rtmp]
 * 127.0.0.1 only; one stream, bounded by SECONDS + 10 s.
 */

import { TsDemuxer } from "../codec/mpegts/mod.ts";
import { parseConfig } from "../config/mod.ts";
import { MetricsRegistry } from "../metrics/mod.ts";
import { silentLogger } from "../origin/log.ts";
import { startOrigin } from "../origin/mod.ts";

const [seconds = "20", target = "1", transport = "srt"] = Deno.args;
const PCR_DELAY_MS = 700; // codec/mpegts PCR_DELAY_TICKS: PTS run 700 ms ahead of the hub clock

const origin = await startOrigin(
  parseConfig({
    origin: {
      rtmpPort: 0,
      httpPort: 0,
      virtualLive: [],
      rtsp: { enabled: false },
      srt: { port: 0 },
      hls: { targetDurationSeconds: Number(target) },
    },
  }).origin,
  { log: silentLogger, metrics: new MetricsRegistry() },
);
let firstTagMs = 0;
origin.registry.onPublish((hub) => {
  hub.addListener({
    onTag() {
      firstTagMs ||= performance.now();
    },
    onEnd() {},
  });
});
const url = transport === "rtmp"
  ? `rtmp://127.0.0.1:${origin.rtmpPort}/live/lat`
  : `srt://127.0.0.1:${origin.srtPort}?streamid=#!::r=live/lat,m=publish`;
const ffmpeg = new Deno.Command("ffmpeg", {
  args: [
    "-v",
    "error",
    "-nostdin",
    "-re",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=640x360:rate=25",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=1000:sample_rate=48000",
    "-t",
    seconds,
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-tune",
    "zerolatency",
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
    "-f",
    transport === "rtmp" ? "flv" : "mpegts",
    url,
  ],
  stdout: "null",
  stderr: "inherit",
}).spawn();

const http = `http://127.0.0.1:${origin.httpPort}`;
const seen = new Set<string>();
const latencies: number[] = [];
const deadline = performance.now() + (Number(seconds) + 10) * 1000;
let done = false;
ffmpeg.status.then(() => (done = true));
while (!done && performance.now() < deadline) {
  await new Promise((r) => setTimeout(r, 20));
  const res = await fetch(`${http}/live/lat.m3u8`).catch(() => undefined);
  if (!res?.ok) {
    await res?.body?.cancel();
    continue;
  }
  const text = await res.text();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^#EXTINF:([\d.]+)/.exec(lines[i]!);
    const uri = lines[i + 1];
    if (!m || !uri || seen.has(uri)) continue;
    seen.add(uri);
    const appeared = performance.now();
    const seg = new Uint8Array(
      await (await fetch(`${http}/live/${uri}`)).arrayBuffer(),
    );
    const video = new TsDemuxer().demux(seg).pes.find((p) => p.pid === 0x100);
    if (!video) continue;
    const startMs = video.dtsTicks / 90 - PCR_DELAY_MS;
    const endMs = startMs + Number(m[1]) * 1000;
    latencies.push(appeared - (firstTagMs + endMs));
  }
}
await ffmpeg.status;
await origin.close();
const sorted = latencies.slice(1).sort((a, b) => a - b); // the first segment waits for the stream
const pct = (p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
console.log(JSON.stringify({
  transport,
  targetSeconds: Number(target),
  segments: sorted.length,
  lastFrameToPlaylistMs: {
    p50: Math.round(pct(0.5)),
    p90: Math.round(pct(0.9)),
    max: Math.round(sorted.at(-1) ?? 0),
  },
  estimatedGlassToGlassMs: Math.round(
    pct(0.5) + (transport === "srt" ? 120 : 0) + 3 * Number(target) * 1000,
  ),
}));
