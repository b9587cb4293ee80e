import assert from "node:assert/strict";
import {
  MAX_PROGRESS_LINE_CHARS,
  type ProgressEvent,
  ProgressParser,
  type ProgressReport,
} from "../../../origin/transcode/progress.ts";
import { createPrng } from "../../_helpers/prng.ts";

/** Real output of `ffmpeg -progress pipe:2 -nostats` (5.1) with a warning between blocks. */
const REAL = [
  "frame=1",
  "fps=0.00",
  "stream_0_0_q=0.0",
  "bitrate=N/A",
  "total_size=N/A",
  "out_time_us=-23220",
  "out_time_ms=-23220",
  "out_time=-00:00:00.023220",
  "dup_frames=0",
  "drop_frames=0",
  "speed=N/A",
  "progress=continue",
  "[flv @ 0x55d0] Failed to update header with correct duration.",
  "frame=250",
  "fps=24.93",
  "stream_0_0_q=28.0",
  "bitrate= 812.4kbits/s",
  "total_size=1015808",
  "out_time_us=10000000",
  "out_time_ms=10000000",
  "out_time=00:00:10.000000",
  "dup_frames=1",
  "drop_frames=2",
  "speed= 143x",
  "progress=end",
  "",
].join("\n");

const FIRST: ProgressReport = {
  frame: 1,
  fps: 0,
  bitrateKbps: undefined,
  totalSizeBytes: undefined,
  outTimeMs: -23.22,
  dupFrames: 0,
  dropFrames: 0,
  speed: undefined,
  ended: false,
};
const LAST: ProgressReport = {
  frame: 250,
  fps: 24.93,
  bitrateKbps: 812.4,
  totalSizeBytes: 1015808,
  outTimeMs: 10000,
  dupFrames: 1,
  dropFrames: 2,
  speed: 143,
  ended: true,
};
const EXPECTED: ProgressEvent[] = [
  { kind: "report", report: FIRST },
  {
    kind: "log",
    line: "[flv @ 0x55d0] Failed to update header with correct duration.",
  },
  { kind: "report", report: LAST },
];

Deno.test("ProgressParser.push() reads ffmpeg's blocks, N/A, padding and negative times, passing log lines on", () => {
  assert.deepEqual(new ProgressParser().push(REAL), EXPECTED);
});

Deno.test("ProgressParser.push() gives the same events for any split of the text, CRLF included", () => {
  const next = createPrng(2024);
  for (const text of [REAL, REAL.replaceAll("\n", "\r\n")]) {
    for (let i = 0; i < 300; i++) {
      const p = new ProgressParser();
      const got: ProgressEvent[] = [];
      let at = 0;
      while (at < text.length) {
        const n = 1 + (next() % 40);
        got.push(...p.push(text.slice(at, at + n)));
        at += n;
      }
      got.push(...p.end());
      assert.deepEqual(got, EXPECTED);
    }
  }
});

Deno.test("ProgressParser bounds a line without a newline and ends a last partial line", () => {
  const p = new ProgressParser();
  assert.deepEqual(p.push("x".repeat(MAX_PROGRESS_LINE_CHARS * 3)), []);
  const [e] = p.push("y\n");
  assert.equal(e?.kind, "log");
  assert.equal((e as { line: string }).line.length, MAX_PROGRESS_LINE_CHARS);
  assert.deepEqual(p.push("Conversion failed!"), []);
  assert.deepEqual(p.end(), [{ kind: "log", line: "Conversion failed!" }]);
});

Deno.test("ProgressParser ignores unknown pairs as log lines and bad values as unknown", () => {
  const events = new ProgressParser().push(
    "frame=abc\nfps=Infinity\nspeed=fastx\nbitrate=12 mbits/s\nfoo=1\nprogress=continue\n",
  );
  assert.deepEqual(events, [
    { kind: "log", line: "foo=1" },
    {
      kind: "report",
      report: {
        frame: undefined,
        fps: undefined,
        bitrateKbps: undefined,
        totalSizeBytes: undefined,
        outTimeMs: undefined,
        dupFrames: undefined,
        dropFrames: undefined,
        speed: undefined,
        ended: false,
      },
    },
  ]);
});

Deno.test("fuzz: ProgressParser never throws and reports only finite numbers", () => {
  const next = createPrng(77);
  const alphabet =
    "=\n\r progressframefpsbitratekbits/sN/Aspeedx0123456789.-_out_time_us";
  for (let i = 0; i < 2000; i++) {
    const p = new ProgressParser();
    let text = "";
    const len = next() % 400;
    for (let k = 0; k < len; k++) text += alphabet[next() % alphabet.length];
    if (i % 2 === 0) {
      // A real block with random bytes spliced in.
      const at = next() % REAL.length;
      text = REAL.slice(0, at) + text + REAL.slice(at);
    }
    const events = [...p.push(text), ...p.end()];
    for (const e of events) {
      if (e.kind === "log") {
        assert.ok(e.line.length <= MAX_PROGRESS_LINE_CHARS);
        continue;
      }
      for (const [k, v] of Object.entries(e.report)) {
        if (k === "ended") assert.equal(typeof v, "boolean");
        else assert.ok(v === undefined || Number.isFinite(v), `${k}=${v}`);
      }
    }
  }
});
