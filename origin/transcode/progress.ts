/**
 * ffmpeg's `-progress` output, read as it comes (I/O-free: text in, reports and log lines out).
 *
 * ffmpeg writes a block of `key=value` lines every `-stats_period` (0.5 s by default), ending
 * with `progress=continue` (or `progress=end` at the end):
 *
 * ```
 * frame=250  fps=25.00  bitrate= 812.4kbits/s  total_size=1015808  out_time_us=10000000
 * out_time=00:00:10.000000  dup_frames=0  drop_frames=0  speed=1.00x  progress=continue
 * ```
 *
 * (one pair a line). Values may be `N/A` or padded with spaces, and times negative at the
 * start (AAC priming). Live transcoders send it to stderr beside the log (`-progress pipe:2`):
 * a line that is not a progress pair is a log line, passed on for the error tail.
 *
 * @module
 */

/** Longest line kept (characters); the rest of a longer line is dropped, never buffered. */
export const MAX_PROGRESS_LINE_CHARS = 4096;

/** One progress block. A field is `undefined` when ffmpeg said `N/A` or did not say it. */
export interface ProgressReport {
  /** Frames encoded so far (of the first video output). */
  readonly frame: number | undefined;
  /** Encoding rate, frames/s (ffmpeg's running average). */
  readonly fps: number | undefined;
  /** Output bit rate so far, kbit/s. */
  readonly bitrateKbps: number | undefined;
  /** Bytes written so far. */
  readonly totalSizeBytes: number | undefined;
  /** Output time reached, ms (may be slightly negative at the start). */
  readonly outTimeMs: number | undefined;
  readonly dupFrames: number | undefined;
  readonly dropFrames: number | undefined;
  /** Output time per wall time (1 = real time). */
  readonly speed: number | undefined;
  /** `progress=end`: ffmpeg finished (the last block). */
  readonly ended: boolean;
}

/** What one chunk of output held. */
export type ProgressEvent =
  | { readonly kind: "report"; readonly report: ProgressReport }
  | { readonly kind: "log"; readonly line: string };

const KNOWN_KEYS: ReadonlySet<string> = new Set([
  "frame",
  "fps",
  "bitrate",
  "total_size",
  "out_time_us",
  "out_time_ms",
  "out_time",
  "dup_frames",
  "drop_frames",
  "speed",
  "progress",
]);
/** Per-stream quality lines: `stream_0_0_q=28.0`. */
const STREAM_Q_KEY = /^stream_\d+_\d+_q$/;
const PAIR_RE = /^([a-z0-9_]+)=(.*)$/;

function num(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = v.trim();
  if (t === "" || t === "N/A") return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

/** `bitrate= 812.4kbits/s` → 812.4. */
function kbps(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*kbits\/s\s*$/.exec(v);
  return m ? Number(m[1]) : undefined;
}

/** `speed=1.23x` (or ` 143x`) → 1.23. */
function speedOf(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*x\s*$/.exec(v);
  return m ? Number(m[1]) : undefined;
}

/** `out_time_us` (µs; also what ffmpeg wrongly names `out_time_ms`) → ms. */
function usToMs(v: string | undefined): number | undefined {
  const n = num(v);
  return n === undefined ? undefined : n / 1000;
}

/**
 * Splits ffmpeg's progress and log output into reports and log lines.
 *
 * @example
 * ```ts
 * import { ProgressParser } from "./progress.ts";
 * import assert from "node:assert/strict";
 * const p = new ProgressParser();
 * assert.deepEqual(p.push("frame=30\nfps=15.0\nspe"), []);
 * const [e] = p.push("ed=0.98x\nprogress=continue\n");
 * assert.equal(e?.kind === "report" && e.report.speed, 0.98);
 * ```
 */
export class ProgressParser {
  #partial = "";
  #overlong = false;
  #fields = new Map<string, string>();

  /**
   * Takes the next chunk of text (any split) and returns what it completed, in order.
   * Never throws.
   */
  push(text: string): ProgressEvent[] {
    const out: ProgressEvent[] = [];
    let start = 0;
    for (;;) {
      const nl = text.indexOf("\n", start);
      if (nl < 0) break;
      this.#append(text.slice(start, nl));
      this.#line(this.#partial, out);
      this.#partial = "";
      this.#overlong = false;
      start = nl + 1;
    }
    this.#append(text.slice(start));
    return out;
  }

  /** The output ended: a last line without a newline is taken as a line. */
  end(): ProgressEvent[] {
    const out: ProgressEvent[] = [];
    if (this.#partial !== "") this.#line(this.#partial, out);
    this.#partial = "";
    return out;
  }

  #append(piece: string): void {
    if (this.#overlong) return;
    const room = MAX_PROGRESS_LINE_CHARS - this.#partial.length;
    if (piece.length > room) {
      this.#partial += piece.slice(0, room);
      this.#overlong = true;
    } else this.#partial += piece;
  }

  #line(raw: string, out: ProgressEvent[]): void {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const m = PAIR_RE.exec(line);
    if (!m || (!KNOWN_KEYS.has(m[1]!) && !STREAM_Q_KEY.test(m[1]!))) {
      if (line.trim() !== "") out.push({ kind: "log", line });
      return;
    }
    const [, key, value] = m as unknown as [string, string, string];
    if (key !== "progress") {
      this.#fields.set(key, value);
      return;
    }
    const f = this.#fields;
    this.#fields = new Map();
    out.push({
      kind: "report",
      report: {
        frame: num(f.get("frame")),
        fps: num(f.get("fps")),
        bitrateKbps: kbps(f.get("bitrate")),
        totalSizeBytes: num(f.get("total_size")),
        outTimeMs: usToMs(f.get("out_time_us") ?? f.get("out_time_ms")),
        dupFrames: num(f.get("dup_frames")),
        dropFrames: num(f.get("drop_frames")),
        speed: speedOf(f.get("speed")),
        ended: value.trim() === "end",
      },
    });
  }
}
