/**
 * RTMP in → WebRTC out: one origin, a publisher that stamps each video frame with a sequence
 * number and notes when it wrote it to the RTMP socket, and a WHEP viewer (werift in the same
 * process, so one clock) that notes when the last RTP packet of each frame arrives. The
 * difference is what the origin adds (RTMP parse, hub, RTP packetization, SRTP, UDP on
 * loopback); a browser's jitter buffer and decoder come on top of it.
 *
 * Not a `Deno.bench` (real time, sockets, one sample per frame), so `deno task bench` does not
 * run it; run it by hand:
 *
 *     deno run -A bench/webrtc_latency.ts [SECONDS=20]
 *
 * Prints p50/p95/p99/max (and, with `--json`, a JSON summary). The frames are synthetic
 * (25 fps, 8 KiB, 40 KiB keyframes every second: about 2 Mbit/s), so no encoder shares the
 * CPU; they are not decodable pictures, which a WebRTC transport does not need.
 *
 * @module
 */

import { parseConfig } from "../config/mod.ts";
import { silentLogger } from "../log/mod.ts";
import { MetricsRegistry } from "../metrics/mod.ts";
import { startOrigin } from "../origin/mod.ts";
import { RtmpClientSession } from "../protocol/rtmp/mod.ts";
import { avcConfigTag } from "../tests/_helpers/synth_flv.ts";
import { whepPlay } from "../tests/_helpers/webrtc_peer.ts";

const json = Deno.args.includes("--json");
const nums = Deno.args.filter((a) => !a.startsWith("--")).map(Number);
const seconds = nums[0] || 20;

const FPS = 25;
const FRAME_BYTES = 8 * 1024;
const KEY_BYTES = 40 * 1024;
/** Byte offset of the frame number in our video tag (after the 5-byte header, NALU length and NAL header). */
const SEQ_AT = 10;
/** FU-A (RFC 6184 §5.8): the NAL unit type of a fragment. */
const FU_A = 28;

/** A video tag whose NAL unit carries `seq` (big-endian) right after its header byte. */
function frame(
  seq: number,
  ts: number,
): { type: 9; timestampMs: number; data: Uint8Array } {
  const key = seq % FPS === 0;
  const size = key ? KEY_BYTES : FRAME_BYTES;
  const data = new Uint8Array(size);
  data.set([key ? 0x17 : 0x27, 1, 0, 0, 0]);
  new DataView(data.buffer).setUint32(5, size - 9);
  data[9] = key ? 0x65 : 0x41;
  new DataView(data.buffer).setUint32(SEQ_AT, seq);
  return { type: 9, timestampMs: ts, data };
}

const config = parseConfig({
  origin: {
    rtmpPort: 0,
    httpPort: 0,
    virtualLive: [],
    vod: { libraries: [] },
    hls: { enabled: false },
    srt: { enabled: false },
    rtsp: { enabled: false },
  },
});
const origin = await startOrigin(config.origin, {
  log: silentLogger,
  metrics: new MetricsRegistry(),
});
const sent = new Map<number, number>();
const arrived = new Map<number, number>();
let conn: Deno.Conn | undefined;
let viewer: Awaited<ReturnType<typeof whepPlay>> | undefined;
try {
  const tcp = await Deno.connect({
    hostname: "127.0.0.1",
    port: origin.rtmpPort,
  });
  tcp.setNoDelay(true);
  conn = tcp;
  let started!: () => void;
  const publishing = new Promise<void>((r) => started = r);
  const session = new RtmpClientSession({
    mode: "publish",
    tcUrl: `rtmp://127.0.0.1:${origin.rtmpPort}/live`,
    app: "live",
    stream: "lat",
    onEvent: (e) => {
      if (e.type === "started") started();
    },
  });
  const write = async () => {
    for (const b of session.takeOutput()) {
      for (let o = 0; o < b.length;) o += await tcp.write(b.subarray(o));
    }
  };
  await tcp.write(session.start());
  const inbound = (async () => {
    const buf = new Uint8Array(16384);
    try {
      for (;;) {
        const n = await tcp.read(buf);
        if (n === null) return;
        session.receive(buf.subarray(0, n));
        await write();
      }
    } catch {
      // closed at the end
    }
  })();
  await publishing;
  session.publishTag(avcConfigTag(0));
  session.publishTag(frame(0, 0));
  await write();

  // The viewer: the frame number is in the first fragment (or the single packet) of each
  // frame; the marker packet ends it.
  let current: number | undefined;
  viewer = await whepPlay(
    `http://127.0.0.1:${origin.httpPort}/live/lat/whep`,
    (payload, marker) => {
      const now = performance.now();
      const type = payload[0]! & 0x1f;
      const at = type === FU_A ? 2 : 1;
      const startOfNal = type !== FU_A || (payload[1]! & 0x80) !== 0;
      const nalType = type === FU_A ? payload[1]! & 0x1f : type;
      if (
        startOfNal && (nalType === 1 || nalType === 5) &&
        payload.byteLength >= at + 4
      ) {
        current = new DataView(payload.buffer, payload.byteOffset)
          .getUint32(at);
      }
      if (marker && current !== undefined && !arrived.has(current)) {
        arrived.set(current, now);
      }
    },
  );
  await viewer.connected();

  const t0 = performance.now();
  let seq = 1;
  const deadline = t0 + seconds * 1000;
  while (performance.now() < deadline) {
    const due = t0 + seq * (1000 / FPS);
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    session.publishTag(frame(seq, Math.round(seq * (1000 / FPS))));
    sent.set(seq, performance.now());
    await write();
    seq++;
  }
  await new Promise((r) => setTimeout(r, 500));
  session.close();
  await write();
  await inbound.catch(() => {});

  // Frames before the viewer's first keyframe are not sent to it (playback starts there).
  const lat: number[] = [];
  for (const [n, at] of sent) {
    const here = arrived.get(n);
    if (here !== undefined) lat.push(here - at);
  }
  lat.sort((a, b) => a - b);
  const pct = (p: number) =>
    lat.length === 0
      ? NaN
      : lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))]!;
  const r = (v: number) => Math.round(v * 100) / 100;
  const result = {
    seconds,
    framesSent: sent.size,
    framesReceived: lat.length,
    p50: r(pct(50)),
    p95: r(pct(95)),
    p99: r(pct(99)),
    max: r(lat.at(-1) ?? NaN),
    mean: r(lat.reduce((a, b) => a + b, 0) / (lat.length || 1)),
  };
  if (json) console.log(JSON.stringify(result));
  else {
    console.log(
      `RTMP → WHEP latency: ${seconds} s, ${result.framesReceived}/${result.framesSent} frames: p50 ${result.p50} p95 ${result.p95} p99 ${result.p99} max ${result.max} mean ${result.mean} ms`,
    );
  }
} finally {
  await viewer?.close();
  try {
    conn?.close();
  } catch {
    // closed
  }
  await origin.close();
}
