/**
 * HLS media playlists (RFC 8216): render the live playlist the origin serves, and parse it
 * back (tests, the edge).
 *
 * @module
 */

import { PlaylistErrorCode, PlaylistFormatError } from "./errors.ts";

/**
 * EXT-X-VERSION we write: 3 is the lowest that allows decimal EXTINF durations
 * (RFC 8216 §7); nothing we write needs more.
 */
export const PLAYLIST_VERSION = 3;
/** EXTINF decimals: milliseconds. */
const EXTINF_DECIMALS = 3;
/**
 * Overshoot of the longest segment, in seconds, that {@link targetDurationFor} ignores when
 * rounding up. FLV timestamps are whole milliseconds, so a 2 s GOP at 30 fps lasts 2.002 s;
 * a plain ceiling would announce 3 s and make players hold back a whole extra second per
 * segment. RFC 8216 §4.3.3.1 only requires EXTINF rounded to the nearest integer to be at
 * most the target, which any tolerance below 0.5 s keeps.
 */
export const TARGET_DURATION_TOLERANCE_SECONDS = 0.1;

/**
 * The EXT-X-TARGETDURATION for a longest segment: the ceiling of its duration, ignoring up
 * to {@link TARGET_DURATION_TOLERANCE_SECONDS} of overshoot, and at least 1.
 *
 * @param longestSeconds Duration of the longest segment.
 * @returns Whole seconds.
 *
 * @example
 * ```ts
 * import { targetDurationFor } from "./playlist.ts";
 * import assert from "node:assert/strict";
 * assert.equal(targetDurationFor(2), 2);
 * assert.equal(targetDurationFor(2.002), 2);
 * assert.equal(targetDurationFor(2.3), 3);
 * ```
 */
export function targetDurationFor(longestSeconds: number): number {
  const rounded = Number(longestSeconds.toFixed(EXTINF_DECIMALS));
  return Math.max(1, Math.ceil(rounded - TARGET_DURATION_TOLERANCE_SECONDS));
}

/** The largest epoch-ms magnitude a `Date` holds (ECMA-262 §21.4.1.1): 100,000,000 days. */
const MAX_DATE_MS = 8.64e15;

/** One media segment as the playlist describes it. */
export interface PlaylistSegment {
  /** URI relative to the playlist. */
  readonly uri: string;
  /** EXTINF duration in seconds. */
  readonly durationSeconds: number;
  /** EXT-X-PROGRAM-DATE-TIME of the segment's first sample, epoch ms; undefined or NaN if not known. */
  readonly programDateTimeMs?: number | undefined;
  /** EXT-X-DISCONTINUITY before this segment (RFC 8216 §4.3.2.3). */
  readonly discontinuity?: boolean | undefined;
}

/** A media playlist. */
export interface MediaPlaylist {
  /**
   * EXT-X-TARGETDURATION in whole seconds (RFC 8216 §4.3.3.1). When rendering, omit it to
   * use {@link targetDurationFor} of the longest segment; a live packager should pass a
   * value that never decreases, since §6.2.1 forbids changing it.
   */
  readonly targetDurationSeconds?: number | undefined;
  /** EXT-X-MEDIA-SEQUENCE: sequence number of the first segment (§4.3.3.2). */
  readonly mediaSequence: number;
  /** EXT-X-DISCONTINUITY-SEQUENCE (§4.3.3.3). */
  readonly discontinuitySequence: number;
  readonly segments: readonly PlaylistSegment[];
  /** EXT-X-ENDLIST: no more segments will be added (§4.3.3.4). */
  readonly ended: boolean;
  /**
   * EXT-X-PLAYLIST-TYPE (§4.3.3.5): `EVENT` (segments are only appended: a time-shift range still
   * open), `VOD` (the playlist never changes); absent for a live sliding window.
   */
  readonly playlistType?: "EVENT" | "VOD" | undefined;
}

/** A parsed media playlist: every field is known. */
export interface ParsedMediaPlaylist extends MediaPlaylist {
  readonly version: number;
  readonly targetDurationSeconds: number;
  readonly segments: readonly Required<PlaylistSegment>[];
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new PlaylistFormatError(PlaylistErrorCode.BadValue, message);
}

/**
 * Renders a media playlist.
 *
 * @param playlist Sequence numbers, segments and the end flag.
 * @returns The m3u8 text, lines ending in "\n".
 * @throws {PlaylistFormatError} `HLS_BAD_VALUE` for negative numbers, a target duration
 * below a segment's rounded EXTINF (§4.3.3.1) or a program date-time no `Date` holds.
 *
 * @example
 * ```ts
 * import { renderMediaPlaylist } from "./playlist.ts";
 * import assert from "node:assert/strict";
 * const text = renderMediaPlaylist({
 *   mediaSequence: 7, discontinuitySequence: 1, ended: false,
 *   segments: [{ uri: "t/a7.ts", durationSeconds: 2, programDateTimeMs: 0, discontinuity: true }],
 * });
 * assert.equal(text, [
 *   "#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2", "#EXT-X-MEDIA-SEQUENCE:7",
 *   "#EXT-X-DISCONTINUITY-SEQUENCE:1", "#EXT-X-DISCONTINUITY",
 *   "#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:00:00.000Z", "#EXTINF:2.000,", "t/a7.ts", "",
 * ].join("\n"));
 * ```
 */
export function renderMediaPlaylist(
  playlist: MediaPlaylist,
  segmentText: (segment: PlaylistSegment, i: number) => string =
    renderSegmentLines,
): string {
  check(
    Number.isInteger(playlist.mediaSequence) && playlist.mediaSequence >= 0,
    `Cannot render playlist: media sequence must be a non-negative integer, got ${playlist.mediaSequence}`,
  );
  check(
    Number.isInteger(playlist.discontinuitySequence) &&
      playlist.discontinuitySequence >= 0,
    `Cannot render playlist: discontinuity sequence must be a non-negative integer, got ${playlist.discontinuitySequence}`,
  );
  let longest = 0;
  for (const s of playlist.segments) {
    check(
      Number.isFinite(s.durationSeconds) && s.durationSeconds >= 0,
      `Cannot render playlist: segment duration must be a non-negative number, got ${s.durationSeconds} for ${s.uri}`,
    );
    longest = Math.max(longest, s.durationSeconds);
  }
  // §4.3.3.1: each EXTINF, as written and rounded to the nearest integer, must not exceed
  // the target duration.
  const minTarget = Math.round(Number(longest.toFixed(EXTINF_DECIMALS)));
  const target = playlist.targetDurationSeconds ?? targetDurationFor(longest);
  check(
    Number.isInteger(target) && target >= minTarget,
    `Cannot render playlist: target duration must be an integer of at least ${minTarget}, got ${target}`,
  );
  const lines = [
    "#EXTM3U",
    `#EXT-X-VERSION:${PLAYLIST_VERSION}`,
    `#EXT-X-TARGETDURATION:${target}`,
    `#EXT-X-MEDIA-SEQUENCE:${playlist.mediaSequence}`,
    `#EXT-X-DISCONTINUITY-SEQUENCE:${playlist.discontinuitySequence}`,
  ];
  if (playlist.playlistType !== undefined) {
    lines.push(`#EXT-X-PLAYLIST-TYPE:${playlist.playlistType}`);
  }
  playlist.segments.forEach((s, i) => {
    if (s.discontinuity) lines.push("#EXT-X-DISCONTINUITY");
    lines.push(segmentText(s, i));
  });
  if (playlist.ended) lines.push("#EXT-X-ENDLIST");
  return lines.join("\n") + "\n";
}

/**
 * One segment's lines as {@link renderMediaPlaylist} writes them (EXT-X-PROGRAM-DATE-TIME if
 * known, EXTINF, URI; not the EXT-X-DISCONTINUITY before them), without a final newline.
 * A caller that renders long playlists of the same segments again and again (time-shift)
 * keeps these and passes them back as `segmentText`.
 *
 * @example
 * ```ts
 * import { renderSegmentLines } from "./playlist.ts";
 * import assert from "node:assert/strict";
 * assert.equal(
 *   renderSegmentLines({ uri: "a.ts", durationSeconds: 2, programDateTimeMs: 0 }),
 *   "#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:00:00.000Z\n#EXTINF:2.000,\na.ts",
 * );
 * ```
 */
export function renderSegmentLines(s: PlaylistSegment): string {
  const extinf = `#EXTINF:${
    s.durationSeconds.toFixed(EXTINF_DECIMALS)
  },\n${s.uri}`;
  // NaN is "not known", as parseMediaPlaylist gives it: no tag, as for undefined.
  if (s.programDateTimeMs === undefined || Number.isNaN(s.programDateTimeMs)) {
    return extinf;
  }
  check(
    Math.abs(s.programDateTimeMs) <= MAX_DATE_MS,
    `Cannot render playlist: program date-time must be a date (epoch ms within ±${MAX_DATE_MS}), got ${s.programDateTimeMs} for ${s.uri}`,
  );
  // §4.3.2.6: ISO/IEC 8601:2004 date/time with time zone; we write UTC with ms.
  return `#EXT-X-PROGRAM-DATE-TIME:${
    new Date(s.programDateTimeMs).toISOString()
  }\n${extinf}`;
}

function parseInteger(tag: string, value: string): number {
  // §4.2 allows decimal-integers up to 2^64-1; past 2^53 a number no longer holds them exactly.
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new PlaylistFormatError(
      PlaylistErrorCode.BadTag,
      `Cannot parse playlist: ${tag} must be a decimal integer up to ${Number.MAX_SAFE_INTEGER}, got "${
        value.slice(0, 40)
      }"`,
    );
  }
  return Number(value);
}

/**
 * Parses a media playlist: the tags {@link renderMediaPlaylist} writes; others are ignored.
 *
 * @param text The m3u8 text.
 * @returns The playlist; segments without EXT-X-PROGRAM-DATE-TIME get `NaN`.
 * @throws {PlaylistFormatError} `HLS_MISSING_HEADER`, `HLS_BAD_TAG` (a malformed value, an
 *   integer past 2^53, an EXTINF over the target duration) or `HLS_MISSING_TAG`.
 *
 * @example
 * ```ts
 * import { parseMediaPlaylist } from "./playlist.ts";
 * import assert from "node:assert/strict";
 * const p = parseMediaPlaylist("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:1.960,\na.ts\n#EXT-X-ENDLIST\n");
 * assert.equal(p.segments[0]?.durationSeconds, 1.96);
 * assert.equal(p.ended, true);
 * ```
 */
export function parseMediaPlaylist(text: string): ParsedMediaPlaylist {
  const lines = text.split(/\r?\n/);
  if (lines[0]?.trim() !== "#EXTM3U") {
    throw new PlaylistFormatError(
      PlaylistErrorCode.MissingHeader,
      `Cannot parse playlist: first line must be #EXTM3U, got "${
        lines[0]?.slice(0, 40)
      }"`,
    );
  }
  let version = 1;
  let target: number | undefined;
  let mediaSequence = 0;
  let discontinuitySequence = 0;
  let ended = false;
  let playlistType: "EVENT" | "VOD" | undefined;
  const segments: Required<PlaylistSegment>[] = [];
  let pending: { duration?: number; pdt?: number; discontinuity: boolean } = {
    discontinuity: false,
  };
  for (const raw of lines.slice(1)) {
    const line = raw.trim();
    if (line === "") continue;
    if (!line.startsWith("#")) {
      if (pending.duration === undefined) {
        throw new PlaylistFormatError(
          PlaylistErrorCode.MissingTag,
          `Cannot parse playlist: URI "${line}" has no EXTINF`,
        );
      }
      segments.push({
        uri: line,
        durationSeconds: pending.duration,
        programDateTimeMs: pending.pdt ?? NaN,
        discontinuity: pending.discontinuity,
      });
      pending = { discontinuity: false };
      continue;
    }
    const colon = line.indexOf(":");
    const tag = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1);
    switch (tag) {
      case "#EXT-X-VERSION":
        version = parseInteger(tag, value);
        break;
      case "#EXT-X-TARGETDURATION":
        target = parseInteger(tag, value);
        break;
      case "#EXT-X-MEDIA-SEQUENCE":
        mediaSequence = parseInteger(tag, value);
        break;
      case "#EXT-X-DISCONTINUITY-SEQUENCE":
        discontinuitySequence = parseInteger(tag, value);
        break;
      case "#EXT-X-DISCONTINUITY":
        pending.discontinuity = true;
        break;
      case "#EXT-X-ENDLIST":
        ended = true;
        break;
      case "#EXT-X-PLAYLIST-TYPE":
        if (value !== "EVENT" && value !== "VOD") {
          throw new PlaylistFormatError(
            PlaylistErrorCode.BadTag,
            `Cannot parse playlist: EXT-X-PLAYLIST-TYPE must be EVENT or VOD, got "${
              value.slice(0, 20)
            }"`,
          );
        }
        playlistType = value;
        break;
      case "#EXT-X-PROGRAM-DATE-TIME": {
        const ms = Date.parse(value);
        if (Number.isNaN(ms)) {
          throw new PlaylistFormatError(
            PlaylistErrorCode.BadTag,
            `Cannot parse playlist: EXT-X-PROGRAM-DATE-TIME is not a date, got "${value}"`,
          );
        }
        pending.pdt = ms;
        break;
      }
      case "#EXTINF": {
        const duration = Number(value.split(",")[0]);
        if (!Number.isFinite(duration) || duration < 0) {
          throw new PlaylistFormatError(
            PlaylistErrorCode.BadTag,
            `Cannot parse playlist: EXTINF duration must be a non-negative number, got "${value}"`,
          );
        }
        pending.duration = duration;
        break;
      }
      default:
        break; // RFC 8216 §4.1: clients ignore unknown tags
    }
  }
  if (target === undefined) {
    throw new PlaylistFormatError(
      PlaylistErrorCode.MissingTag,
      "Cannot parse playlist: EXT-X-TARGETDURATION is required",
    );
  }
  // §4.3.3.1: every EXTINF, rounded to the nearest integer, is at most the target duration
  // (what renderMediaPlaylist holds to, so a parsed playlist renders again).
  for (const s of segments) {
    const rounded = Math.round(
      Number(s.durationSeconds.toFixed(EXTINF_DECIMALS)),
    );
    if (rounded > target) {
      throw new PlaylistFormatError(
        PlaylistErrorCode.BadTag,
        `Cannot parse playlist: EXTINF of ${
          s.uri.slice(0, 40)
        } rounds to ${rounded} s, over EXT-X-TARGETDURATION ${target}`,
      );
    }
  }
  return {
    version,
    targetDurationSeconds: target,
    mediaSequence,
    discontinuitySequence,
    segments,
    ended,
    ...(playlistType === undefined ? {} : { playlistType }),
  };
}
