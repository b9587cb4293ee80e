/**
 * An HLS clip of the DVR made of the kept segments themselves: the segments inside the range
 * as they are (hard links where the library shares the DVR's disk), the two ends sliced at
 * keyframes ({@link sliceTs}), no remux. The cut follows the MP4 clip's rule: it starts on the
 * keyframe at or before the start and ends on the last keyframe at or before the end (or the
 * first after it when that would leave nothing), so its length is within one GOP of what was
 * asked. Only the first and last segments are read to find those keyframes.
 *
 * This module plans the pieces (pure but for the scan callback); clips.ts writes them.
 *
 * @module
 */

import {
  msToTicks,
  PCR_DELAY_TICKS,
  TS_TIMESTAMP_MODULUS,
  type TsCutMap,
} from "../../codec/mpegts/mod.ts";
import type { DvrSegment } from "./dvr_store.ts";

/** One output segment of the clip. */
export interface HlsClipPiece {
  readonly segment: DvrSegment;
  /** The whole kept segment (linked or copied); else packets `[fromPacket, toPacket)`. */
  readonly whole: boolean;
  readonly fromPacket: number;
  readonly toPacket: number;
  /** The scan of the segment, for a sliced piece. */
  readonly map: TsCutMap | undefined;
  readonly durationMs: number;
  /** EXT-X-PROGRAM-DATE-TIME of its first frame. */
  readonly programDateTimeMs: number;
  /** A session join or a live discontinuity before it. */
  readonly discontinuity: boolean;
}

const HALF_MODULUS = TS_TIMESTAMP_MODULUS / 2;
/** A keyframe this close to the start (ms) counts as at it (90 kHz and ms rounding). */
const AT_MS = 0.5;

/** The publisher's ms of a 90 kHz DTS in segment `s` (anchored at its start: no wrap). */
function mediaMsOf(s: DvrSegment, ticks: number): number {
  const anchor = (msToTicks(s.mediaStartMs) + PCR_DELAY_TICKS) %
    TS_TIMESTAMP_MODULUS;
  let d = (ticks - anchor) % TS_TIMESTAMP_MODULUS;
  if (d >= HALF_MODULUS) d -= TS_TIMESTAMP_MODULUS;
  if (d < -HALF_MODULUS) d += TS_TIMESTAMP_MODULUS;
  return s.mediaStartMs + d / 90;
}

interface Key {
  /** Index in the segments given. */
  readonly seg: number;
  /** Index among its segment's keyframes. */
  readonly k: number;
  readonly packet: number;
  readonly mediaMs: number;
  readonly wallMs: number;
}

/**
 * Plans the clip `[startMs, endMs]` (wall clock) over `segments` (those overlapping it, in
 * order, and the one after when it continues the session). Undefined when a segment needed for
 * a cut has no video keyframes we can find (audio only, or not our packager's): the caller
 * remuxes instead.
 *
 * @param scan Reads and scans one kept segment (undefined: cannot be cut here).
 */
export async function planDvrHlsClip(
  segments: readonly DvrSegment[],
  startMs: number,
  endMs: number,
  scan: (segment: DvrSegment) => Promise<TsCutMap | undefined>,
): Promise<HlsClipPiece[] | undefined> {
  if (segments.length === 0) return undefined;
  const maps = new Map<number, TsCutMap>();
  const keysOf = async (i: number): Promise<Key[] | undefined> => {
    const s = segments[i]!;
    let map = maps.get(i);
    if (!map) {
      map = await scan(s);
      if (!map || map.keyframes.length === 0) return undefined;
      maps.set(i, map);
    }
    return map.keyframes.map((k, n) => {
      const mediaMs = mediaMsOf(s, k.dtsTicks);
      return {
        seg: i,
        k: n,
        packet: k.packet,
        mediaMs,
        wallMs: s.programDateTimeMs + (mediaMs - s.mediaStartMs),
      };
    });
  };
  const firstKeys = await keysOf(0);
  if (!firstKeys) return undefined;
  const startKey = firstKeys.findLast((k) => k.wallMs <= startMs + AT_MS) ??
    firstKeys[0]!;
  // The segment holding the end: the last that starts at or before it.
  let e = 0;
  for (let i = 0; i < segments.length; i++) {
    if (segments[i]!.programDateTimeMs <= endMs) e = i;
  }
  const candidates: Key[] = [];
  for (const i of new Set([e, e + 1])) {
    if (i >= segments.length) continue;
    const keys = await keysOf(i);
    if (!keys) return undefined;
    candidates.push(...keys);
  }
  const afterStart = (k: Key) =>
    k.seg > startKey.seg || (k.seg === startKey.seg && k.k > startKey.k);
  const endKey =
    candidates.findLast((k) => afterStart(k) && k.wallMs <= endMs + AT_MS) ??
      candidates.find((k) => afterStart(k) && k.wallMs > endMs);
  const lastSeg = endKey ? endKey.seg : e;
  const pieces: HlsClipPiece[] = [];
  for (let i = startKey.seg; i <= lastSeg; i++) {
    const s = segments[i]!;
    const map = maps.get(i);
    // From the segment's start when the cut is its first keyframe (audio before it kept).
    const fromStart = i !== startKey.seg || startKey.k === 0;
    const cutEnd = endKey !== undefined && i === endKey.seg;
    if (cutEnd && endKey.k === 0) continue; // nothing of it before its first keyframe
    const fromPacket = fromStart ? 0 : startKey.packet;
    const toPacket = cutEnd ? endKey.packet : Infinity;
    const startMedia = fromStart ? s.mediaStartMs : startKey.mediaMs;
    const endMedia = cutEnd ? endKey.mediaMs : s.mediaStartMs + s.durationMs;
    const prev = pieces.at(-1)?.segment;
    pieces.push({
      segment: s,
      whole: fromStart && !cutEnd,
      fromPacket,
      toPacket,
      map: fromStart && !cutEnd ? undefined : map,
      durationMs: Math.max(0, endMedia - startMedia),
      programDateTimeMs: s.programDateTimeMs + (startMedia - s.mediaStartMs),
      discontinuity: prev !== undefined &&
        (s.discontinuity || s.session !== prev.session),
    });
  }
  return pieces.length > 0 ? pieces : undefined;
}
