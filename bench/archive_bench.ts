/**
 * The archive's answers that run per request: a time-shift playlist over a 2-hour window
 * (3,600 segments of 2 s; target < 5 ms), the programme list of that window, and reading a
 * 2-hour session index back at start-up.
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
