/**
 * Time-shift playlists (直播时移): `/{app}/{stream}.m3u8?start=T&end=T` or `?offset=-SECONDS`
 * answered from the DVR's kept segments. Pure: a stream's view and the clock in, a playlist
 * (or a typed refusal naming what the window holds) out.
 *
 * - An open range (no `end`, or an `end` the recording has not reached) is an EVENT playlist
 *   (RFC 8216 §4.3.3.5) that grows as segments are kept; a closed one is a VOD playlist with
 *   EXT-X-ENDLIST, which never changes while its segments are kept (cached as immutable).
 * - Every segment carries EXT-X-PROGRAM-DATE-TIME (§4.3.2.6), the wall clock the origin
 *   received it at: players seek by date, and clips name times the same way.
 * - EXT-X-DISCONTINUITY (§4.3.2.3) marks each join of publish sessions, each live
 *   discontinuity (a codec or timestamp change) and each gap (a segment the disk lost).
 *
 * @module
 */

import {
  renderMediaPlaylist,
  renderSegmentLines,
} from "../../codec/hls/mod.ts";
import type { DvrSegment, DvrStreamView } from "./dvr_store.ts";
import {
  ArchiveError,
  ArchiveErrorCode,
  type AvailableRange,
  availableRange,
} from "./errors.ts";
import { parseOffset, parseTime } from "./time.ts";

/**
 * Slack of the window checks (ms): a range may begin this much before the window's start, or
 * be this much longer than the window, since segments leave it whole (a request for
 * `offset=-7200` on a 7200 s window must not fail on the segment that left a moment ago).
 */
export const WINDOW_SLACK_MS = 10_000;
/** Longest `max-age` of a closed time-shift playlist (s), however long its segments stay. */
export const MAX_CLOSED_PLAYLIST_AGE_SECONDS = 86_400;

/** What a time-shift query asks for. */
export type TimeshiftQuery =
  /** `offset=-S`: answered with a redirect to the absolute `start`, so reloads are stable. */
  | { readonly kind: "offset"; readonly startMs: number }
  | {
    readonly kind: "range";
    readonly startMs: number;
    /** `undefined`: open, the playlist follows the recording. */
    readonly endMs: number | undefined;
  };

/**
 * Reads `start`, `end` and `offset` of a playlist request.
 *
 * @returns `undefined` when none is given (the live playlist is wanted).
 * @throws {ArchiveError} `ARCHIVE_BAD_REQUEST` for malformed times, `offset` with `start`, `end`
 *   without `start`, or an end at or before the start.
 *
 * @example
 * ```ts
 * import { parseTimeshiftQuery } from "./timeshift.ts";
 * import assert from "node:assert/strict";
 * const now = Date.UTC(2024, 4, 1, 12);
 * assert.deepEqual(parseTimeshiftQuery(new URLSearchParams("offset=-30"), now), { kind: "offset", startMs: now - 30_000 });
 * assert.equal(parseTimeshiftQuery(new URLSearchParams("cred=x"), now), undefined);
 * ```
 */
export function parseTimeshiftQuery(
  q: URLSearchParams,
  nowMs: number,
): TimeshiftQuery | undefined {
  const start = q.get("start");
  const end = q.get("end");
  const offset = q.get("offset");
  if (start === null && end === null && offset === null) return undefined;
  if (offset !== null) {
    if (start !== null || end !== null) {
      throw new ArchiveError(
        ArchiveErrorCode.BadRequest,
        "Invalid 'offset': give either offset or start/end, not both",
        { field: "offset" },
      );
    }
    return { kind: "offset", startMs: nowMs + parseOffset(offset, "offset") };
  }
  if (start === null) {
    throw new ArchiveError(
      ArchiveErrorCode.BadRequest,
      "Invalid 'end': a range needs its start too",
      { field: "start" },
    );
  }
  const startMs = parseTime(start, "start");
  const endMs = end === null || end === "" ? undefined : parseTime(end, "end");
  if (endMs !== undefined && endMs <= startMs) {
    throw new ArchiveError(
      ArchiveErrorCode.BadRequest,
      `Invalid 'end': got ${
        new Date(endMs).toISOString()
      }, expected a time after the start ${new Date(startMs).toISOString()}`,
      { field: "end" },
    );
  }
  return { kind: "range", startMs, endMs };
}

/** What the window of a stream holds, or `undefined` when it holds nothing. */
export function availableOf(view: DvrStreamView): AvailableRange | undefined {
  const first = view.segments[0];
  const last = view.segments[view.segments.length - 1];
  return first && last
    ? availableRange(
      first.programDateTimeMs,
      last.programDateTimeMs + last.durationMs,
    )
    : undefined;
}

/** Index of the first segment that ends after `ms` (binary search; segments are in time order). */
export function firstEndingAfter(
  segments: readonly DvrSegment[],
  ms: number,
): number {
  let lo = 0;
  let hi = segments.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const s = segments[mid]!;
    if (s.programDateTimeMs + s.durationMs > ms) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Options of {@link selectRange} and {@link timeshiftPlaylist}. */
export interface TimeshiftOptions {
  readonly nowMs: number;
  /** More segments may come (the stream is live, or was a moment ago). */
  readonly open: boolean;
}

/**
 * The kept segments of `[startMs, endMs)` (open: up to now), checked against the window.
 *
 * @throws {ArchiveError} `ARCHIVE_OUT_OF_WINDOW` (416) when the range begins before the window
 *   or in the future, is longer than the window, or holds no kept segment; its `available`
 *   names what the window holds.
 */
export function selectRange(
  view: DvrStreamView,
  startMs: number,
  endMs: number | undefined,
  options: TimeshiftOptions,
): DvrSegment[] {
  const { nowMs, open } = options;
  const available = availableOf(view);
  const refuse = (why: string) =>
    new ArchiveError(
      ArchiveErrorCode.OutOfWindow,
      `Cannot serve ${view.app}/${view.stream} from ${
        new Date(startMs).toISOString()
      }${
        endMs === undefined ? "" : ` to ${new Date(endMs).toISOString()}`
      }: ${why}`,
      { available },
    );
  const windowMs = view.windowMs;
  if (endMs !== undefined && endMs - startMs > windowMs + WINDOW_SLACK_MS) {
    throw refuse(`the range is longer than the ${windowMs / 1000} s window`);
  }
  if (startMs < nowMs - windowMs - WINDOW_SLACK_MS) {
    throw refuse(`it begins before the ${windowMs / 1000} s window`);
  }
  if (startMs > nowMs + WINDOW_SLACK_MS) {
    throw refuse("it begins in the future");
  }
  const segments = view.segments;
  if (segments.length === 0) throw refuse("nothing is recorded yet");
  const out: DvrSegment[] = [];
  for (let i = firstEndingAfter(segments, startMs); i < segments.length; i++) {
    const s = segments[i]!;
    if (endMs !== undefined && s.programDateTimeMs >= endMs) break;
    out.push(s);
  }
  if (out.length === 0) {
    const last = segments[segments.length - 1]!;
    // A range from just now, while recording: start with the newest kept segment.
    if (open && startMs >= last.programDateTimeMs) out.push(last);
    else throw refuse("no recorded segment lies in the range");
  }
  return out;
}

/**
 * Each kept segment's playlist lines, rendered once: a 2-hour range is 3,600 dates to format,
 * and every reload of every viewer would format them again. Kept as long as the segment is.
 */
const LINES = new WeakMap<DvrSegment, { base: string; text: string }>();

function linesOf(
  s: DvrSegment,
  base: string,
  p: Parameters<typeof renderSegmentLines>[0],
): string {
  const hit = LINES.get(s);
  if (hit && hit.base === base) return hit.text;
  const text = renderSegmentLines(p);
  LINES.set(s, { base, text });
  return text;
}

/** A time-shift playlist and how long it may be cached. */
export interface TimeshiftPlaylist {
  readonly text: string;
  /** VOD with EXT-X-ENDLIST: it will not change while its segments are kept. */
  readonly closed: boolean;
  /** For a closed playlist: seconds until its first segment leaves the window. */
  readonly maxAgeSeconds: number | undefined;
  readonly segments: readonly DvrSegment[];
}

/**
 * The playlist of `[startMs, endMs)`.
 *
 * @param segmentBase Prefix of segment URIs, relative to the playlist (`{stream}/`, as live).
 * @throws {ArchiveError} As {@link selectRange}.
 *
 * @example
 * ```ts
 * import { timeshiftPlaylist } from "./timeshift.ts";
 * import assert from "node:assert/strict";
 * const t0 = Date.UTC(2024, 4, 1, 12);
 * const seg = (n: number, session = "a") => ({ name: `p-${n}.ts`, sequence: n, programDateTimeMs: t0 + n * 2000, durationMs: 2000, mediaStartMs: n * 2000, bytes: 1, discontinuity: false, session });
 * const view = { app: "live", stream: "cam", segments: [seg(0), seg(1), seg(2, "b")], sessions: [], windowMs: 600_000, live: false, bytes: 3 };
 * const p = timeshiftPlaylist(view, t0 + 1000, t0 + 5000, { nowMs: t0 + 60_000, open: false }, "cam/");
 * assert.equal(p.closed, true);
 * assert.match(p.text, /#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-PROGRAM-DATE-TIME:2024-05-01T12:00:00.000Z\n#EXTINF:2.000,\ncam\/p-0.ts/);
 * assert.match(p.text, /#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:2024-05-01T12:00:04.000Z/);
 * assert.match(p.text, /#EXT-X-ENDLIST\n$/);
 * ```
 */
export function timeshiftPlaylist(
  view: DvrStreamView,
  startMs: number,
  endMs: number | undefined,
  options: TimeshiftOptions,
  segmentBase: string,
): TimeshiftPlaylist {
  const segments = selectRange(view, startMs, endMs, options);
  const last = view.segments[view.segments.length - 1]!;
  const recordedEnd = last.programDateTimeMs + last.durationMs;
  const closed = endMs !== undefined && (endMs <= recordedEnd || !options.open);
  const ended = closed || !options.open;
  const first = segments[0]!;
  const text = renderMediaPlaylist({
    mediaSequence: first.sequence,
    discontinuitySequence: 0,
    ended,
    playlistType: closed ? "VOD" : "EVENT",
    segments: segments.map((s, i) => {
      const prev = segments[i - 1];
      return {
        uri: `${segmentBase}${s.name}`,
        durationSeconds: s.durationMs / 1000,
        programDateTimeMs: s.programDateTimeMs,
        discontinuity: prev !== undefined &&
          (s.discontinuity || s.session !== prev.session ||
            s.sequence !== prev.sequence + 1),
      };
    }),
  }, (p, i) => linesOf(segments[i]!, segmentBase, p));
  const leavesAt = first.programDateTimeMs + first.durationMs + view.windowMs;
  return {
    text,
    closed,
    maxAgeSeconds: closed
      ? Math.max(
        1,
        Math.min(
          MAX_CLOSED_PLAYLIST_AGE_SECONDS,
          Math.floor((leavesAt - options.nowMs) / 1000),
        ),
      )
      : undefined,
    segments,
  };
}
