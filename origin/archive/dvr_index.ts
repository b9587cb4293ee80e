/**
 * The DVR's append-only index: one file per publish session, one JSON line per finished
 * segment, written after the segment itself is on the disk. Pure: lines in, entries out.
 *
 * A session file starts with a header line and may end with an end line:
 *
 * ```text
 * {"v":1,"session":"1714564800000","app":"live","stream":"cam","startedAt":1714564800000}
 * {"n":"lu3x-12.ts","q":12,"t":1714564800123,"d":2002,"m":0,"b":412360}
 * {"n":"lu3x-13.ts","q":13,"t":1714564802125,"d":1998,"m":2002,"b":409872,"x":1}
 * {"end":1714564830000}
 * ```
 *
 * (`n` name, `q` media sequence, `t` EXT-X-PROGRAM-DATE-TIME in epoch ms, `d` duration ms,
 * `m` media time of the first frame ms, `b` bytes, `x` preceded by a discontinuity.) A crash
 * can cut the last line short; {@link parseIndex} drops a torn or malformed line, so a session
 * loses at most the segment being recorded when it died.
 *
 * @module
 */

/** Version of the index lines we write. */
export const DVR_INDEX_VERSION = 1;
/** Longest index line read (bytes): ours are under 200. */
export const MAX_INDEX_LINE_BYTES = 4096;
/** Segment file names: the live HLS names (letters, digits, `-`, `_`), `.ts`. */
export const SEGMENT_NAME_RE = /^[A-Za-z0-9_-]{1,128}\.ts$/;

/** The header of a session file. */
export interface DvrSessionHeader {
  readonly session: string;
  readonly app: string;
  readonly stream: string;
  /** Epoch ms the publish started. */
  readonly startedAtMs: number;
}

/** One segment as the index records it. */
export interface DvrIndexEntry {
  /** File name (`{prefix}-{sequence}.ts`, the live playlist's name). */
  readonly name: string;
  readonly sequence: number;
  /** EXT-X-PROGRAM-DATE-TIME, epoch ms. */
  readonly programDateTimeMs: number;
  readonly durationMs: number;
  /** Media time (FLV ms) of the first frame. */
  readonly mediaStartMs: number;
  readonly bytes: number;
  readonly discontinuity: boolean;
}

/** What a session file holds. */
export interface ParsedIndex {
  readonly header: DvrSessionHeader | undefined;
  readonly entries: readonly DvrIndexEntry[];
  /** Epoch ms of a clean end, if the file has one. */
  readonly endedAtMs: number | undefined;
  /** Lines dropped as torn or malformed. */
  readonly dropped: number;
}

/** The header line (with its newline). */
export function encodeHeaderLine(h: DvrSessionHeader): string {
  return JSON.stringify({
    v: DVR_INDEX_VERSION,
    session: h.session,
    app: h.app,
    stream: h.stream,
    startedAt: h.startedAtMs,
  }) + "\n";
}

/**
 * One segment's line (with its newline).
 *
 * @example
 * ```ts
 * import { encodeEntryLine, parseIndex } from "./dvr_index.ts";
 * import assert from "node:assert/strict";
 * const e = { name: "a-1.ts", sequence: 1, programDateTimeMs: 5, durationMs: 2000, mediaStartMs: 0, bytes: 188, discontinuity: true };
 * assert.deepEqual(parseIndex(encodeEntryLine(e)).entries, [e]);
 * ```
 */
export function encodeEntryLine(e: DvrIndexEntry): string {
  return JSON.stringify({
    n: e.name,
    q: e.sequence,
    t: e.programDateTimeMs,
    d: e.durationMs,
    m: e.mediaStartMs,
    b: e.bytes,
    ...(e.discontinuity ? { x: 1 } : {}),
  }) + "\n";
}

/** The end line (with its newline). */
export function encodeEndLine(endedAtMs: number): string {
  return JSON.stringify({ end: endedAtMs }) + "\n";
}

const isCount = (v: unknown): v is number =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isTime = (v: unknown): v is number =>
  typeof v === "number" && Number.isFinite(v);

/**
 * Parses a session file's text. A last line without its newline (cut by a crash) and lines that
 * are not valid entries are dropped and counted, never thrown.
 *
 * @example
 * ```ts
 * import { parseIndex } from "./dvr_index.ts";
 * import assert from "node:assert/strict";
 * const p = parseIndex('{"n":"a-1.ts","q":1,"t":0,"d":2000,"m":0,"b":188}\n{"n":"a-2.ts","q');
 * assert.equal(p.entries.length, 1);
 * assert.equal(p.dropped, 1);
 * ```
 */
export function parseIndex(text: string): ParsedIndex {
  const lines = text.split("\n");
  // Only text before the last newline was written whole.
  const torn = lines.pop() ?? "";
  let dropped = torn === "" ? 0 : 1;
  let header: DvrSessionHeader | undefined;
  let endedAtMs: number | undefined;
  const entries: DvrIndexEntry[] = [];
  for (const line of lines) {
    if (line === "") continue;
    if (line.length > MAX_INDEX_LINE_BYTES) {
      dropped++;
      continue;
    }
    let v: Record<string, unknown>;
    try {
      const parsed = JSON.parse(line);
      if (typeof parsed !== "object" || parsed === null) throw new Error();
      v = parsed as Record<string, unknown>;
    } catch {
      dropped++;
      continue;
    }
    if ("v" in v) {
      if (
        v.v === DVR_INDEX_VERSION && typeof v.session === "string" &&
        typeof v.app === "string" && typeof v.stream === "string" &&
        isTime(v.startedAt)
      ) {
        header = {
          session: v.session,
          app: v.app,
          stream: v.stream,
          startedAtMs: v.startedAt,
        };
      } else dropped++;
      continue;
    }
    if ("end" in v) {
      if (isTime(v.end)) endedAtMs = v.end;
      else dropped++;
      continue;
    }
    if (
      typeof v.n === "string" && SEGMENT_NAME_RE.test(v.n) && isCount(v.q) &&
      isTime(v.t) && isCount(v.d) && isTime(v.m) && isCount(v.b)
    ) {
      entries.push({
        name: v.n,
        sequence: v.q,
        programDateTimeMs: v.t,
        durationMs: v.d,
        mediaStartMs: v.m,
        bytes: v.b,
        discontinuity: v.x === 1,
      });
    } else dropped++;
  }
  return { header, entries, endedAtMs, dropped };
}
