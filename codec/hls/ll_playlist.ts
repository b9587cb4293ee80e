/**
 * Low-latency HLS media playlists (RFC 8216bis, draft-pantos-hls-rfc8216bis §4.4.3.7 ff.,
 * §6.2.5): partial segments (EXT-X-PART), the preload hint, server control for blocking
 * playlist reload and delta updates, and the delivery directives a client sends
 * (`_HLS_msn`, `_HLS_part`, `_HLS_skip`, §6.2.5.1).
 *
 * Pure: the origin's LL-HLS packager renders with these, the HTTP routes validate the
 * directives with {@link parseLlDirectives} (a bad one is that request's 400).
 *
 * @module
 */

import { PlaylistErrorCode, PlaylistFormatError } from "./errors.ts";

/**
 * EXT-X-VERSION of LL playlists: 9 is the lowest that allows EXT-X-SKIP (§7); one version for
 * full and delta playlists, since a client may compare them.
 */
export const LL_PLAYLIST_VERSION = 9;
/** PART-HOLD-BACK in part targets: §4.4.3.8 asks for at least 2, Apple for 3. */
export const PART_HOLD_BACK_PARTS = 3;
/** CAN-SKIP-UNTIL in target durations: §4.4.3.8 requires at least 6. */
export const SKIP_UNTIL_TARGETS = 6;
/**
 * A blocking request may name a part at most this many parts past the last one (the Advance
 * Part Limit of §6.2.5.2); further ahead is 400.
 */
export const ADVANCE_PART_LIMIT = 3;
/** ...and a segment at most this many past the one in progress (§6.2.5.2: "plus two"). */
export const ADVANCE_SEGMENT_LIMIT = 2;
/** Largest media sequence number a directive may carry (§4.4.3.2: a decimal-integer). */
const MAX_DIRECTIVE_NUMBER = Number.MAX_SAFE_INTEGER;
/** Longest directive value read (a number of 16 digits, or `YES`/`v2`). */
const MAX_DIRECTIVE_LENGTH = 20;

/** One partial segment (EXT-X-PART, §4.4.4.9). */
export interface LlPart {
  /** URI relative to the playlist. */
  readonly uri: string;
  readonly durationSeconds: number;
  /** Starts with an independent frame (a keyframe): INDEPENDENT=YES. */
  readonly independent: boolean;
}

/** One complete segment, with its parts while they are still listed. */
export interface LlSegment {
  readonly uri: string;
  readonly durationSeconds: number;
  /** Its parts; listed only for the segments near the live edge (§6.2.2: at least 3 targets). */
  readonly parts: readonly LlPart[];
  /** EXT-X-PROGRAM-DATE-TIME of its first sample, epoch ms. */
  readonly programDateTimeMs?: number | undefined;
  /** EXT-X-DISCONTINUITY before it. */
  readonly discontinuity?: boolean | undefined;
}

/** An LL-HLS media playlist. */
export interface LlMediaPlaylist {
  /** EXT-X-TARGETDURATION, whole seconds. */
  readonly targetDurationSeconds: number;
  /** EXT-X-PART-INF PART-TARGET, seconds. */
  readonly partTargetSeconds: number;
  /** EXT-X-MEDIA-SEQUENCE: the first listed segment's number. */
  readonly mediaSequence: number;
  readonly discontinuitySequence: number;
  /** EXT-X-MAP URI (the fMP4 init segment). */
  readonly mapUri: string;
  /** Complete segments, oldest first. */
  readonly segments: readonly LlSegment[];
  /** Parts of the segment in progress (numbered `mediaSequence + segments.length`). */
  readonly partial: readonly LlPart[];
  /** The part coming next (EXT-X-PRELOAD-HINT TYPE=PART); none once ended. */
  readonly preloadHintUri?: string | undefined;
  /** EXT-X-PROGRAM-DATE-TIME of the segment in progress. */
  readonly partialProgramDateTimeMs?: number | undefined;
  /** The in-progress segment follows a discontinuity. */
  readonly partialDiscontinuity?: boolean | undefined;
  readonly ended: boolean;
}

/** What a client asked for in the query (§6.2.5.1). */
export interface LlDirectives {
  /** `_HLS_msn`: hold until this segment (or a part of it, with `part`) is listed. */
  readonly msn?: number | undefined;
  /** `_HLS_part`: the part index within `msn`. */
  readonly part?: number | undefined;
  /** `_HLS_skip=YES` or `v2`: a delta update (EXT-X-SKIP). */
  readonly skip: boolean;
}

function bad(message: string): PlaylistFormatError {
  return new PlaylistFormatError(PlaylistErrorCode.BadDirective, message);
}

function directiveNumber(name: string, raw: string): number {
  // §4.2 decimal-integer: digits only (no sign, no exponent, no spaces).
  if (
    raw.length === 0 || raw.length > MAX_DIRECTIVE_LENGTH || !/^\d+$/.test(raw)
  ) {
    throw bad(
      `Invalid delivery directive ${name}: got ${
        JSON.stringify(raw.slice(0, MAX_DIRECTIVE_LENGTH))
      }, expected a decimal integer`,
    );
  }
  const n = Number(raw);
  if (n > MAX_DIRECTIVE_NUMBER) {
    throw bad(
      `Invalid delivery directive ${name}: got ${raw}, expected at most ${MAX_DIRECTIVE_NUMBER}`,
    );
  }
  return n;
}

/**
 * Reads the LL-HLS delivery directives of a playlist request's query (§6.2.5.1).
 *
 * @param query The request's query parameters.
 * @returns The directives (`skip` false when absent).
 * @throws {PlaylistFormatError} `HLS_BAD_DIRECTIVE` for a value that is not a decimal
 * integer, `_HLS_part` without `_HLS_msn` (§6.2.5.2: "MUST be ... a Bad Request"), a
 * repeated directive, or `_HLS_skip` other than `YES`/`v2`.
 *
 * @example
 * ```ts
 * import { parseLlDirectives } from "./ll_playlist.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(
 *   parseLlDirectives(new URLSearchParams("_HLS_msn=12&_HLS_part=3&_HLS_skip=YES")),
 *   { msn: 12, part: 3, skip: true },
 * );
 * assert.throws(() => parseLlDirectives(new URLSearchParams("_HLS_part=1")));
 * ```
 */
export function parseLlDirectives(query: URLSearchParams): LlDirectives {
  const one = (name: string): string | undefined => {
    const all = query.getAll(name);
    if (all.length > 1) {
      throw bad(
        `Invalid delivery directive ${name}: given ${all.length} times`,
      );
    }
    return all[0];
  };
  const rawMsn = one("_HLS_msn");
  const rawPart = one("_HLS_part");
  const rawSkip = one("_HLS_skip");
  const msn = rawMsn === undefined
    ? undefined
    : directiveNumber("_HLS_msn", rawMsn);
  const part = rawPart === undefined
    ? undefined
    : directiveNumber("_HLS_part", rawPart);
  if (part !== undefined && msn === undefined) {
    throw bad("Invalid delivery directive _HLS_part: given without _HLS_msn");
  }
  if (rawSkip !== undefined && rawSkip !== "YES" && rawSkip !== "v2") {
    throw bad(
      `Invalid delivery directive _HLS_skip: got ${
        JSON.stringify(rawSkip.slice(0, MAX_DIRECTIVE_LENGTH))
      }, expected YES or v2`,
    );
  }
  return { msn, part, skip: rawSkip !== undefined };
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new PlaylistFormatError(PlaylistErrorCode.BadValue, message);
}

/** Seconds with 3 decimals, as EXTINF and EXT-X-PART DURATION are written. */
const secs = (s: number) => s.toFixed(3);

function partLine(p: LlPart): string {
  return `#EXT-X-PART:DURATION=${secs(p.durationSeconds)},URI="${p.uri}"${
    p.independent ? ",INDEPENDENT=YES" : ""
  }`;
}

/**
 * How many of the playlist's oldest segments a delta update leaves out: those that start more
 * than CAN-SKIP-UNTIL before the end of the playlist (§6.2.5.1, the Skip Boundary).
 *
 * @example
 * ```ts
 * import { skippableSegments } from "./ll_playlist.ts";
 * import assert from "node:assert/strict";
 * const seg = { uri: "s", durationSeconds: 2, parts: [] };
 * const p = { targetDurationSeconds: 2, partTargetSeconds: 0.5, mediaSequence: 0,
 *   discontinuitySequence: 0, mapUri: "i.mp4", segments: Array(10).fill(seg), partial: [],
 *   ended: false };
 * assert.equal(skippableSegments(p), 4); // 20 s listed, 12 s (6 × 2 s) kept
 * ```
 */
export function skippableSegments(p: LlMediaPlaylist): number {
  const skipUntil = SKIP_UNTIL_TARGETS * p.targetDurationSeconds;
  let fromEnd = p.partial.reduce((t, x) => t + x.durationSeconds, 0);
  let keep = 0;
  // Newest first; the segment that straddles the boundary is kept (only what lies wholly
  // before it is left out).
  for (let i = p.segments.length - 1; i >= 0 && fromEnd < skipUntil; i--) {
    fromEnd += p.segments[i]!.durationSeconds;
    keep++;
  }
  return p.segments.length - keep;
}

/**
 * Renders an LL-HLS media playlist, whole or as a delta update.
 *
 * Parts are listed for the complete segments of the last three target durations (§4.4.4.9:
 * parts older than that SHOULD be removed) and for the segment in progress, followed by the
 * preload hint of the next part.
 *
 * @param p The playlist.
 * @param options `skip`: a delta update (§4.4.5.2 EXT-X-SKIP) leaving out the segments before
 * the Skip Boundary.
 * @returns The m3u8 text, lines ending in "\n".
 * @throws {PlaylistFormatError} `HLS_BAD_VALUE` for a negative sequence number, a part target
 * that is not positive, or a segment longer than the target duration (§4.3.3.1). Part
 * durations are the packager's to keep within the part target.
 *
 * @example
 * ```ts
 * import { renderLlPlaylist } from "./ll_playlist.ts";
 * import assert from "node:assert/strict";
 * const text = renderLlPlaylist({
 *   targetDurationSeconds: 2, partTargetSeconds: 0.5, mediaSequence: 4, discontinuitySequence: 0,
 *   mapUri: "init.mp4", ended: false,
 *   segments: [{ uri: "4.m4s", durationSeconds: 2, parts: [] }],
 *   partial: [{ uri: "5.0.m4s", durationSeconds: 0.5, independent: true }],
 *   preloadHintUri: "5.1.m4s",
 * });
 * assert.match(text, /#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500,CAN-SKIP-UNTIL=12.000/);
 * assert.match(text, /#EXT-X-PART:DURATION=0.500,URI="5.0.m4s",INDEPENDENT=YES\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI="5.1.m4s"\n$/);
 * ```
 */
export function renderLlPlaylist(
  p: LlMediaPlaylist,
  options: { readonly skip?: boolean } = {},
): string {
  check(
    Number.isInteger(p.mediaSequence) && p.mediaSequence >= 0,
    `Cannot render LL playlist: media sequence must be a non-negative integer, got ${p.mediaSequence}`,
  );
  check(
    p.partTargetSeconds > 0 && Number.isFinite(p.partTargetSeconds),
    `Cannot render LL playlist: part target must be a positive number, got ${p.partTargetSeconds}`,
  );
  const target = p.targetDurationSeconds;
  check(
    Number.isInteger(target) && target >= 1,
    `Cannot render LL playlist: target duration must be a positive integer, got ${target}`,
  );
  for (const s of p.segments) {
    check(
      Math.round(Number(secs(s.durationSeconds))) <= target,
      `Cannot render LL playlist: segment ${s.uri} lasts ${s.durationSeconds} s, more than the target ${target} s`,
    );
  }
  const skipped = options.skip ? skippableSegments(p) : 0;
  const lines = [
    "#EXTM3U",
    `#EXT-X-VERSION:${LL_PLAYLIST_VERSION}`,
    `#EXT-X-TARGETDURATION:${target}`,
    `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=${
      secs(PART_HOLD_BACK_PARTS * p.partTargetSeconds)
    },CAN-SKIP-UNTIL=${secs(SKIP_UNTIL_TARGETS * target)}`,
    `#EXT-X-PART-INF:PART-TARGET=${secs(p.partTargetSeconds)}`,
    `#EXT-X-MEDIA-SEQUENCE:${p.mediaSequence}`,
    `#EXT-X-DISCONTINUITY-SEQUENCE:${p.discontinuitySequence}`,
    `#EXT-X-MAP:URI="${p.mapUri}"`,
  ];
  if (skipped > 0) lines.push(`#EXT-X-SKIP:SKIPPED-SEGMENTS=${skipped}`);
  // Parts are kept for the last three target durations of complete segments (§4.4.4.9).
  const partsFrom = (() => {
    let t = 0;
    for (let i = p.segments.length - 1; i >= 0; i--) {
      t += p.segments[i]!.durationSeconds;
      if (t >= 3 * target) return i;
    }
    return 0;
  })();
  const pdt = (ms: number | undefined) => {
    if (ms !== undefined && Number.isFinite(ms)) {
      lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(ms).toISOString()}`);
    }
  };
  p.segments.forEach((s, i) => {
    if (i < skipped) return;
    if (s.discontinuity) lines.push("#EXT-X-DISCONTINUITY");
    pdt(s.programDateTimeMs);
    if (i >= partsFrom) { for (const x of s.parts) lines.push(partLine(x)); }
    lines.push(`#EXTINF:${secs(s.durationSeconds)},`, s.uri);
  });
  if (p.partial.length > 0 || p.preloadHintUri !== undefined) {
    if (p.partialDiscontinuity) lines.push("#EXT-X-DISCONTINUITY");
    if (p.partial.length > 0) pdt(p.partialProgramDateTimeMs);
    for (const x of p.partial) lines.push(partLine(x));
  }
  if (p.ended) lines.push("#EXT-X-ENDLIST");
  else if (p.preloadHintUri !== undefined) {
    lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${p.preloadHintUri}"`);
  }
  return lines.join("\n") + "\n";
}
