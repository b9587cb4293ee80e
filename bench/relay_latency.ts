/**
 * Latency a relay hop adds: a cascade of origins in one process (one clock), a publisher that
 * stamps each video frame with a sequence number and notes when it wrote it, and one HTTP-FLV
 * viewer per level that notes when each frame arrives. Level 1 is the origin published to;
 * level n pulls from level n-1 (RTMP from the top, then HTTP-FLV, as a shield and a regional
 * origin would). The added latency of hop n is, per frame, arrival at level n minus arrival at
 * level n-1.
 *
 * Not a `Deno.bench` (real time, sockets, one sample per frame), so `deno task bench` does not
 * run it; run it by hand:
 *
 *     deno run -A bench/relay_latency.ts [SECONDS=20] [LEVELS=3] [FLUSH_MS=50]
 *
 * Prints one line per level (p50/p95/p99/max of publisher→level and of the hop) and, with
 * `--json`, a JSON summary. The frames are synthetic (25 fps, 8 KiB, 40 KiB keyframes every
 * second: about 2 Mbit/s), so no encoder shares the CPU.
 *
 * @module
 */

import { FlvReader, FlvTagType } from "../codec/flv/mod.ts";
import { parseConfig } from "../config/mod.ts";
import { silentLogger } from "../log/mod.ts";
import { MetricsRegistry } from "../metrics/mod.ts";
import { type OriginHandle, startOrigin } from "../origin/mod.ts";
import { RtmpClientSession } from "../protocol/rtmp/mod.ts";
import { aacConfigTag, avcConfigTag } from "../tests/_helpers/synth_flv.ts";

const json = Deno.args.includes("--json");
const nums = Deno.args.filter((a) => !a.startsWith("--")).map(Number);
const seconds = nums[0] || 20;
const levels = nums[1] || 3;
const flushMs = nums[2] ?? 50;

const FPS = 25;
const FRAME_BYTES = 8 * 1024;
const KEY_BYTES = 40 * 1024;
/** Byte offset of the frame number in our video payload (after the 5-byte tag header and NALU length). */
const SEQ_AT = 10;

/** A video tag whose NAL unit carries `seq` (big-endian) at {@link SEQ_AT}. */
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

const origins: OriginHandle[] = [];
const sent = new Map<number, number>();
const arrived: Map<number, number>[] = [];
const readers: ReadableStreamDefaultReader<Uint8Array>[] = [];
let conn: Deno.Conn | undefined;
try {
  for (let level = 0; level < levels; level++) {
    const up = origins[level - 1];
    const config = parseConfig({
      origin: {
        rtmpPort: 0,
        httpPort: 0,
        virtualLive: [],
        vod: { libraries: [] },
        hls: { enabled: false },
        live: { flushIntervalMs: flushMs },
        relay: {
          nodeId: `level-${level + 1}`,
          upstreams: up === undefined ? [] : [{
            url: level === 1
              ? `rtmp://127.0.0.1:${up.rtmpPort}`
              : `http://127.0.0.1:${up.httpPort}`,
            apiUrl: `http://127.0.0.1:${up.httpPort}`,
          }],
        },
      },
    });
    origins.push(
      await startOrigin(config.origin, {
        log: silentLogger,
        metrics: new MetricsRegistry(),
      }),
    );
  }

  // The publisher: RTMP to level 1, frames written on a 40 ms clock.
  const tcp = await Deno.connect({
    hostname: "127.0.0.1",
    port: origins[0]!.rtmpPort,
  });
  tcp.setNoDelay(true);
  conn = tcp;
  const c = tcp;
  let started!: () => void;
  const publishing = new Promise<void>((r) => started = r);
  const session = new RtmpClientSession({
    mode: "publish",
    tcUrl: `rtmp://127.0.0.1:${origins[0]!.rtmpPort}/live`,
    app: "live",
    stream: "lat",
    onEvent: (e) => {
      if (e.type === "started") started();
    },
  });
  const write = async () => {
    for (const b of session.takeOutput()) {
      for (let o = 0; o < b.length;) o += await c.write(b.subarray(o));
    }
  };
  await c.write(session.start());
  const inbound = (async () => {
    const buf = new Uint8Array(16384);
    try {
      for (;;) {
        const n = await c.read(buf);
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
  session.publishTag(aacConfigTag(0));
  await write();
  // Level 1 has the stream: one viewer per level (each lower level pulls on its request).
  const t0 = performance.now();
  let seq = 0;
  const pace = async () => {
    const deadline = t0 + seconds * 1000;
    while (performance.now() < deadline) {
      const due = t0 + seq * (1000 / FPS);
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      session.publishTag(frame(seq, Math.round(seq * (1000 / FPS))));
      sent.set(seq, performance.now());
      seq++;
      await write();
    }
  };
  const pacing = pace();
  for (let level = 0; level < levels; level++) {
    const seen = new Map<number, number>();
    arrived.push(seen);
    // The lists are eventually consistent: wait until this level knows the stream.
    for (let i = 0; i < 200; i++) {
      const l = await (await fetch(
        `http://127.0.0.1:${origins[level]!.httpPort}/api/relay/streams`,
      )).json();
      if (l.streams.length > 0) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const res = await fetch(
      `http://127.0.0.1:${origins[level]!.httpPort}/live/lat.flv`,
    );
    if (res.status !== 200) {
      throw new Error(`level ${level + 1}: ${res.status}`);
    }
    const reader = res.body!.getReader();
    readers.push(reader);
    void (async () => {
      const flv = new FlvReader();
      try {
        for (;;) {
          const r = await reader.read();
          if (r.done) return;
          const now = performance.now();
          flv.push(r.value);
          for (const t of flv.pullAll()) {
            if (t.type !== FlvTagType.Video || t.data[1] !== 1) continue;
            const n = new DataView(t.data.buffer, t.data.byteOffset)
              .getUint32(SEQ_AT);
            if (!seen.has(n)) seen.set(n, now);
          }
        }
      } catch {
        // cancelled at the end
      }
    })();
  }
  await pacing;
  await new Promise((r) => setTimeout(r, 500));
  session.close();
  await write();
  await inbound.catch(() => {});

  const pct = (xs: number[], p: number) =>
    xs.length === 0
      ? NaN
      : xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
  const stats = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const r = (v: number) => Math.round(v * 10) / 10;
    return {
      n: s.length,
      p50: r(pct(s, 50)),
      p95: r(pct(s, 95)),
      p99: r(pct(s, 99)),
      max: r(s.at(-1) ?? NaN),
      mean: r(s.reduce((a, b) => a + b, 0) / (s.length || 1)),
    };
  };
  // Frames every level received live (the joins' GOP bursts left out: a frame counts once
  // every viewer was attached, 2 s after the start).
  const from = Math.ceil(2 * FPS);
  const rows = [];
  for (let level = 0; level < levels; level++) {
    const total: number[] = [];
    const hop: number[] = [];
    for (const [n, at] of sent) {
      if (n < from) continue;
      const here = arrived[level]!.get(n);
      if (here === undefined) continue;
      total.push(here - at);
      const above = level === 0 ? at : arrived[level - 1]!.get(n);
      if (above !== undefined) hop.push(here - above);
    }
    rows.push({
      level: level + 1,
      fromPublisher: stats(total),
      hop: stats(hop),
    });
  }
  if (json) {
    console.log(JSON.stringify({ seconds, levels, flushMs, rows }));
  } else {
    console.log(
      `relay latency: ${levels} levels, ${seconds} s, flushIntervalMs ${flushMs}, ${sent.size} frames`,
    );
    for (const r of rows) {
      const f = r.fromPublisher;
      const h = r.hop;
      console.log(
        `level ${r.level}: publisher→level p50 ${f.p50} p95 ${f.p95} p99 ${f.p99} max ${f.max} ms | hop p50 ${h.p50} p95 ${h.p95} p99 ${h.p99} max ${h.max} mean ${h.mean} ms (n ${h.n})`,
      );
    }
  }
} finally {
  for (const r of readers) await r.cancel().catch(() => {});
  try {
    conn?.close();
  } catch {
    // closed
  }
  for (const o of origins.reverse()) await o.close();
}
