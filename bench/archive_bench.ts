/**
 * The archive's answers that run per request: a time-shift playlist over a 2-hour window
 * (3,600 segments of 2 s; target < 5 ms), the programme list of that window, reading a
 * 2-hour session index back at start-up, and the pure part of an MP4 recording (a minute of a
 * 2 Mbit/s stream's tags into 1 s fragments: what a recording costs per stream before its
 * writes and fsyncs).
 *
 * Run: deno bench -A bench/archive_bench.ts
 */
import {
  encodeEntryLine,
  encodeHeaderLine,
  parseIndex,
} from "../origin/archive/dvr_index.ts";
import type { DvrSegment, DvrStreamView } from "../origin/archive/dvr_store.ts";
import { listProgrammes } from "../origin/archive/programs.ts";
import { timeshiftPlaylist } from "../origin/archive/timeshift.ts";
import type { FlvTag } from "../codec/flv/mod.ts";
import { FlvFragmenter } from "../codec/mp4/mod.ts";

const SEGMENTS = 3600;
const T0 = Date.UTC(2024, 4, 1, 10, 0, 0);
const segments: DvrSegment[] = [];
for (let i = 0; i < SEGMENTS; i++) {
  segments.push({
    name: `lu3x0a-${1_000_000 + i}.ts`,
    sequence: 1_000_000 + i,
    programDateTimeMs: T0 + i * 2000 + (i % 7),
    durationMs: 2000 - (i % 7 === 6 ? 6 : 0),
    mediaStartMs: i * 2000,
    bytes: 500_000,
    discontinuity: false,
    session: i < 1800 ? "a" : "b",
  });
}
const view: DvrStreamView = {
  app: "live",
  stream: "cam",
  segments,
  sessions: [
    { id: "a", startedAtMs: T0, endedAtMs: T0 + 3_600_000, live: false },
    { id: "b", startedAtMs: T0 + 3_600_000, endedAtMs: undefined, live: true },
  ],
  windowMs: 7_200_000,
  live: true,
  bytes: SEGMENTS * 500_000,
};
const now = T0 + SEGMENTS * 2000 + 1000;

Deno.bench({
  name: "time-shift playlist, closed 2-hour range (3,600 segments, VOD)",
  group: "timeshift",
  baseline: true,
  fn() {
    timeshiftPlaylist(
      view,
      T0,
      T0 + 7_199_000,
      { nowMs: now, open: true },
      "cam/",
    );
  },
});

Deno.bench({
  name: "time-shift playlist, open range from 2 hours ago (EVENT)",
  group: "timeshift",
  fn() {
    timeshiftPlaylist(
      view,
      T0 + 500,
      undefined,
      { nowMs: now, open: true },
      "cam/",
    );
  },
});

Deno.bench({
  name: "time-shift playlist, closed 1-minute range in a 2-hour window",
  group: "timeshift",
  fn() {
    timeshiftPlaylist(
      view,
      T0 + 3_000_000,
      T0 + 3_060_000,
      { nowMs: now, open: true },
      "cam/",
    );
  },
});

Deno.bench({
  name:
    "programme list of a 2-hour window (sessions, hours, one daily programme)",
  group: "programs",
  fn() {
    listProgrammes(view, [{ title: "News", start: "10:30", end: "11:00" }], {
      nowMs: now,
      timeZone: "Asia/Shanghai",
    });
  },
});

const indexText = encodeHeaderLine({
  session: "a",
  app: "live",
  stream: "cam",
  startedAtMs: T0,
}) + segments.map(encodeEntryLine).join("");

Deno.bench({
  name: "parseIndex() of a 2-hour session (3,600 lines, start-up recovery)",
  group: "index",
  fn() {
    parseIndex(indexText);
  },
});

// A minute of 2 Mbit/s: 25 fps H.264 (a keyframe a second) and 44.1 kHz AAC, as the hub gives them.
const minute: FlvTag[] = [
  { type: 9, timestampMs: 0, data: avcConfig() },
  { type: 8, timestampMs: 0, data: new Uint8Array([0xaf, 0, 0x12, 0x10]) },
];
let a = 0;
for (let v = 0; v < 25 * 60;) {
  const vt = v * 40;
  const at = Math.round((a * 1024 * 1000) / 44100);
  if (at < vt) {
    const data = new Uint8Array(2 + 370);
    data.set([0xaf, 1]);
    minute.push({ type: 8, timestampMs: at, data });
    a++;
  } else {
    const key = v % 25 === 0;
    const size = key ? 60_000 : 8_500; // ≈ 1.95 Mbit/s of video
    const data = new Uint8Array(5 + 4 + size);
    data.set([key ? 0x17 : 0x27, 1, 0, 0, 0x50]);
    new DataView(data.buffer).setUint32(5, size);
    data[9] = key ? 0x65 : 0x41;
    minute.push({ type: 9, timestampMs: vt, data });
    v++;
  }
}

function avcConfig(): Uint8Array {
  const sps = [
    0x67,
    0x64,
    0x00,
    0x1f,
    0xac,
    0xd9,
    0x40,
    0x50,
    0x05,
    0xbb,
    0x01,
    0x10,
  ];
  const pps = [0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0];
  return new Uint8Array([
    0x17,
    0,
    0,
    0,
    0, // keyframe, AVC sequence header
    1,
    0x64,
    0x00,
    0x1f,
    0xff,
    0xe1,
    0,
    sps.length,
    ...sps,
    1,
    0,
    pps.length,
    ...pps,
  ]);
}

Deno.bench({
  name:
    "MP4 recording: a minute of 2 Mbit/s into 1 s fragments (FlvFragmenter)",
  group: "record",
  fn() {
    const f = new FlvFragmenter({ fragmentMs: 1000 });
    let bytes = 0;
    for (const tag of minute) {
      for (const b of f.push(tag).bytes) bytes += b.length;
    }
    for (const b of f.flush()) bytes += b.length;
    if (bytes < 14_000_000) throw new Error(`only ${bytes} bytes`);
  },
});
