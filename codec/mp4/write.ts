/**
 * Writes a progressive MP4 for a range of a {@link MediaIndex}'s samples, in the manner of
 * nginx's mp4 module: `ftyp`, a new `moov` whose tables list only the chosen samples, then one
 * `mdat` whose payload is the file's own bytes, copied by range (never parsed or buffered).
 *
 * The `mdat` payload is the union of the chosen samples' byte ranges, with gaps of up to
 * {@link MAX_MDAT_GAP_BYTES} kept as they are (the bytes between samples are never addressed by
 * the tables, so they are harmless): an MP4 source's interleaved media becomes one range, and
 * an FLV source's tags (20 bytes of tag and codec header between frames) one range too, so a
 * response is a handful of file reads, not one per sample. `moov` comes first (faststart), so
 * a browser's `<video>` starts at once whatever the source's layout.
 *
 * Speed (this is the seek path's time to first byte): no object or array per sample. Ranges
 * are built per run of contiguous samples (a chunk), tables are written straight into typed
 * arrays, the box tree is sized first and serialized once, and chunk offsets are written
 * relative to `mdat` then shifted in place once the head's size is known (no second build).
 *
 * @module
 */

import type { SampleTable, TrackIndex } from "../samples/types.ts";
import { mdatHeader } from "./box.ts";
import { sampleEntryOf } from "./sample_entry.ts";

/** Gaps between chosen samples up to this size stay in `mdat` rather than split a range. */
export const MAX_MDAT_GAP_BYTES = 256 * 1024;
/** The movie timescale we write (ticks per second of `mvhd`, `tkhd` and `elst`). */
export const MOVIE_TIMESCALE = 1000;
/** Frames among the last of a range that may be shown last (B-frame reordering depth bound). */
const REORDER_WINDOW = 64;
/** A `moov` is never larger than this (bytes): with it, the offset width is known up front. */
const MAX_MOOV_BYTES = 256 * 1024 * 1024;

/** One track's part of an output. */
export interface Mp4TrackRange {
  readonly track: TrackIndex;
  /** First sample (a sync sample for video). */
  readonly first: number;
  /** One past the last sample. */
  readonly end: number;
}

/** What {@link planMp4} produced: the bytes before the media, and where the media comes from. */
export interface Mp4Plan {
  /** `ftyp`, `moov` and the `mdat` header. */
  readonly head: Uint8Array;
  /** File ranges `[offset, length]` making up the `mdat` payload, in order. */
  readonly ranges: readonly (readonly [number, number])[];
  /** `head.length` + the sum of range lengths. */
  readonly size: number;
}

/** Options of {@link planMp4}. */
export interface Mp4PlanOptions {
  /**
   * The original presentation time (ms) the output's time 0 shows. Each track's edit list
   * starts there: with a sync sample before it, the frames between are decoded but not shown
   * (frame-exact start); with the sync sample's own time, the output starts on it.
   */
  readonly startMs: number;
}

// ---- A box tree, sized first and written once. ----

type Part = Uint8Array | Box;

interface Box {
  readonly type: string;
  /** Version and flags of a full box, or undefined. */
  readonly full: number | undefined;
  readonly parts: readonly Part[];
  readonly size: number;
  /** Called with the buffer and the box payload's offset once written (for patching). */
  readonly onWrite?: (out: Uint8Array, at: number) => void;
}

function sizeOf(p: Part): number {
  return p instanceof Uint8Array ? p.byteLength : p.size;
}

function box(type: string, ...parts: Part[]): Box {
  let n = 8;
  for (const p of parts) n += sizeOf(p);
  return { type, full: undefined, parts, size: n };
}

function fullBox(
  type: string,
  version: number,
  flags: number,
  ...parts: Part[]
): Box {
  let n = 12;
  for (const p of parts) n += sizeOf(p);
  return { type, full: (version << 24) | flags, parts, size: n };
}

function serialize(
  b: Box,
  out: Uint8Array,
  view: DataView,
  at: number,
): number {
  view.setUint32(at, b.size);
  for (let i = 0; i < 4; i++) out[at + 4 + i] = b.type.charCodeAt(i);
  let o = at + 8;
  if (b.full !== undefined) {
    view.setUint32(o, b.full >>> 0);
    o += 4;
  }
  const payload = o;
  for (const p of b.parts) {
    if (p instanceof Uint8Array) {
      out.set(p, o);
      o += p.byteLength;
    } else o = serialize(p, out, view, o);
  }
  b.onWrite?.(out, payload);
  return o;
}

const FTYP = (() => {
  const b = box(
    "ftyp",
    ascii("isom"),
    be32([512]),
    ascii("isom"),
    ascii("iso2"),
    ascii("avc1"),
    ascii("mp41"),
  );
  const out = new Uint8Array(b.size);
  serialize(b, out, new DataView(out.buffer), 0);
  return out;
})();

/**
 * Plans the MP4 of the given track ranges.
 *
 * @example
 * ```ts ignore
 * const plan = planMp4([{ track: video, first: 120, end: 360 }], { startMs: 4000 });
 * // send plan.head, then each [offset, length] of the file in plan.ranges
 * ```
 */
export function planMp4(
  parts: readonly Mp4TrackRange[],
  options: Mp4PlanOptions,
): Mp4Plan {
  const ranges = mergeRanges(parts);
  let payload = 0;
  for (const [, len] of ranges) payload += len;
  const mdat = mdatHeader(payload);
  // The offset width (stco or co64) is decided before anything is written: a moov is bounded,
  // so the largest offset is known up to that bound.
  const wide =
    FTYP.length + MAX_MOOV_BYTES + mdat.length + payload > 0xffff_ffff;
  const place = offsetMapper(ranges);
  const patches: ((shift: number) => void)[] = [];
  const moov = buildMoov(parts, options, place, wide, patches);
  const head = new Uint8Array(FTYP.length + moov.size + mdat.length);
  head.set(FTYP, 0);
  serialize(moov, head, new DataView(head.buffer), FTYP.length);
  head.set(mdat, FTYP.length + moov.size);
  // Chunk offsets were written relative to the mdat payload: shift them by the head's size.
  for (const patch of patches) patch(head.length);
  return { head, ranges, size: head.length + payload };
}

/**
 * The head of an MP4 whose media is already in place: a file that holds `payloadBytes` of
 * samples from offset `headBytes` on (written there first, the room before it left empty), and
 * gets `ftyp`, `moov` (offsets pointing into that payload), a `free` box filling the room and a
 * 64-bit `mdat` header covering the payload, written at offset 0. This is how a clip of the DVR
 * is made without copying its frames a second time.
 *
 * @param parts Samples whose `offset`s are offsets in that file (at or past `headBytes`).
 * @returns Exactly `headBytes` bytes, or `undefined` when the `moov` does not fit the room.
 *
 * @example
 * ```ts ignore
 * const head = planMp4InPlace([{ track, first: 0, end: track.samples.count }], { startMs: 0 }, { headBytes: 1 << 20, payloadBytes });
 * // write head at offset 0 of the file whose payload starts at 1 MiB
 * ```
 */
export function planMp4InPlace(
  parts: readonly Mp4TrackRange[],
  options: Mp4PlanOptions,
  layout: { readonly headBytes: number; readonly payloadBytes: number },
): Uint8Array | undefined {
  const { headBytes, payloadBytes } = layout;
  const wide = headBytes + payloadBytes > 0xffff_ffff;
  const patches: ((shift: number) => void)[] = [];
  // Offsets relative to the mdat payload (which begins at headBytes), shifted below.
  const moov = buildMoov(
    parts,
    options,
    (off) => off - headBytes,
    wide,
    patches,
  );
  const mdatHead = 16;
  const room = headBytes - FTYP.length - moov.size - mdatHead;
  if (room < 8) return undefined;
  const head = new Uint8Array(headBytes);
  const v = new DataView(head.buffer);
  head.set(FTYP, 0);
  serialize(moov, head, v, FTYP.length);
  for (const patch of patches) patch(headBytes);
  let o = FTYP.length + moov.size;
  // `free` (ISO/IEC 14496-12 §8.1.2): room whose bytes nothing reads.
  v.setUint32(o, room);
  head.set(ascii("free"), o + 4);
  o += room;
  // A 64-bit mdat whatever its size (§4.2: size 1, then largesize).
  v.setUint32(o, 1);
  head.set(ascii("mdat"), o + 4);
  const total = payloadBytes + mdatHead;
  v.setUint32(o + 8, Math.floor(total / 0x1_0000_0000));
  v.setUint32(o + 12, total >>> 0);
  return head;
}

/**
 * The byte layout of a set of tracks (a file's): where the union of their chunks has a gap
 * wider than {@link MAX_MDAT_GAP_BYTES}. Computed once per set of tracks and kept.
 */
interface Layout {
  /** Sorted starts and ends of the gaps (the bytes between `gapStart[k]` and `gapEnd[k]`). */
  readonly gapStart: Float64Array;
  readonly gapEnd: Float64Array;
}

const layouts = new WeakMap<SampleTable, Map<string, Layout>>();

function layoutOf(parts: readonly Mp4TrackRange[]): Layout {
  const tables = parts.map((p) => p.track.samples);
  const key = tables.length > 1 ? tables.map((t) => t.count).join(",") : "";
  let byKey = layouts.get(tables[0]!);
  const hit = byKey?.get(key);
  if (hit) return hit;
  // Every chunk of every track, by offset; walk them in order and note the wide gaps.
  const spans: [number, number][] = [];
  for (const s of tables) {
    const tt = tablesOf(s);
    for (let c = 0; c < tt.chunkStart.length; c++) {
      const a = tt.chunkStart[c]!;
      const z =
        (c + 1 < tt.chunkStart.length ? tt.chunkStart[c + 1]! : s.count) - 1;
      spans.push([s.offset[a]!, s.offset[z]! + s.size[z]!]);
    }
  }
  spans.sort((x, y) => x[0] - y[0]);
  const gs: number[] = [];
  const ge: number[] = [];
  let end = -1;
  for (const [a, z] of spans) {
    if (end >= 0 && a > end + MAX_MDAT_GAP_BYTES) {
      gs.push(end);
      ge.push(a);
    }
    if (z > end) end = z;
  }
  const layout = {
    gapStart: Float64Array.from(gs),
    gapEnd: Float64Array.from(ge),
  };
  if (!byKey) layouts.set(tables[0]!, byKey = new Map());
  byKey.set(key, layout);
  return layout;
}

/**
 * Sorted byte ranges holding every chosen sample: the span from the first chosen byte to the
 * last, split where the file's chunks leave a gap wider than {@link MAX_MDAT_GAP_BYTES} (the
 * bytes in between belong to samples not chosen or to nothing; addressed by no table). A
 * binary search over the file's gaps, not a pass over the samples.
 */
function mergeRanges(parts: readonly Mp4TrackRange[]): [number, number][] {
  let lo = Infinity;
  let hi = -Infinity;
  const used = parts.filter((p) => p.end > p.first);
  if (used.length === 0) return [];
  if (used.some((p) => !tablesOf(p.track.samples).monotonic)) {
    return mergeByChunks(used);
  }
  for (const p of used) {
    const s = p.track.samples;
    // Offsets grow with the index within a track (checked when its chunks were built).
    lo = Math.min(lo, s.offset[p.first]!);
    const z = p.end - 1;
    hi = Math.max(hi, s.offset[z]! + s.size[z]!);
  }
  const { gapStart, gapEnd } = layoutOf(used);
  let k = 0;
  let a = 0;
  let b = gapStart.length;
  while (a < b) {
    const mid = (a + b) >> 1;
    if (gapEnd[mid]! <= lo) a = mid + 1;
    else b = mid;
  }
  k = a;
  const out: [number, number][] = [];
  let start = lo;
  for (; k < gapStart.length && gapStart[k]! < hi; k++) {
    if (gapStart[k]! > start) out.push([start, gapStart[k]! - start]);
    start = Math.max(start, gapEnd[k]!);
  }
  if (hi > start) out.push([start, hi - start]);
  return out;
}

/** The slow path for a file whose offsets go back: every chosen chunk, sorted and merged. */
function mergeByChunks(parts: readonly Mp4TrackRange[]): [number, number][] {
  const spans: [number, number][] = [];
  for (const p of parts) {
    const s = p.track.samples;
    for (let i = p.first; i < p.end; i++) {
      spans.push([s.offset[i]!, s.size[i]!]);
    }
  }
  spans.sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [off, len] of spans) {
    const last = out[out.length - 1];
    if (last && off <= last[0] + last[1] + MAX_MDAT_GAP_BYTES) {
      last[1] = Math.max(last[1], off + len - last[0]);
    } else out.push([off, len]);
  }
  return out;
}

/** Maps a file offset (inside one of `ranges`) to its offset in the mdat payload. */
function offsetMapper(
  ranges: readonly (readonly [number, number])[],
): (fileOffset: number) => number {
  const starts: number[] = [];
  let pos = 0;
  for (const [, len] of ranges) {
    starts.push(pos);
    pos += len;
  }
  if (ranges.length === 1) {
    const r0 = ranges[0]![0];
    return (off) => off - r0;
  }
  return (off) => {
    let lo = 0;
    let hi = ranges.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (ranges[mid]![0] <= off) lo = mid;
      else hi = mid - 1;
    }
    return starts[lo]! + (off - ranges[lo]![0]);
  };
}

const MATRIX = (() => {
  const m = new Uint8Array(36);
  const v = new DataView(m.buffer);
  v.setUint32(0, 0x0001_0000);
  v.setUint32(16, 0x0001_0000);
  v.setUint32(32, 0x4000_0000);
  return m;
})();

function buildMoov(
  parts: readonly Mp4TrackRange[],
  options: Mp4PlanOptions,
  place: (fileOffset: number) => number,
  wide: boolean,
  patches: ((shift: number) => void)[],
): Box {
  let movieDuration = 0;
  const traks: Box[] = [];
  parts.forEach((p, i) => {
    const t = buildTrak(p, i + 1, options, place, wide, patches);
    movieDuration = Math.max(movieDuration, t.durationMovie);
    traks.push(t.box);
  });
  const mvhd = fullBox(
    "mvhd",
    0,
    0,
    be32([0, 0, MOVIE_TIMESCALE, movieDuration, 0x0001_0000]),
    be16(0x0100), // volume 1.0
    new Uint8Array(10),
    MATRIX,
    new Uint8Array(24),
    be32([parts.length + 1]),
  );
  return box("moov", mvhd, ...traks);
}

function buildTrak(
  p: Mp4TrackRange,
  trackId: number,
  options: Mp4PlanOptions,
  place: (fileOffset: number) => number,
  wide: boolean,
  patches: ((shift: number) => void)[],
): { box: Box; durationMovie: number } {
  const t = p.track;
  const s = t.samples;
  const scale = t.timescale;
  const d0 = s.dts[p.first] ?? 0;
  // dts is cumulative: the media duration is where the last sample ends. Presentation ends
  // with the latest-shown frame, which B-frame reordering keeps among the last few.
  const last = p.end - 1;
  const mediaDuration = p.end > p.first
    ? s.dts[last]! + s.duration[last]! - d0
    : 0;
  let presentedEnd = 0; // max(dts + cts + duration) - d0
  for (let i = Math.max(p.first, p.end - REORDER_WINDOW); i < p.end; i++) {
    const end = s.dts[i]! - d0 + s.cts[i]! + s.duration[i]!;
    if (end > presentedEnd) presentedEnd = end;
  }
  // Output presentation p' = (dts - d0) + cts - E shows original presentation p - T0 when
  // E = T0 + mediaTime - d0 (all in track ticks). A negative E means the track's first sample
  // comes after T0: an empty edit delays it instead.
  const t0 = Math.round((options.startMs * scale) / 1000);
  const e = t0 + t.mediaTime - d0;
  const presented = Math.max(0, presentedEnd - Math.max(0, e));
  const toMovie = (ticks: number) =>
    Math.round((ticks * MOVIE_TIMESCALE) / scale);
  const delayMovie = e < 0 ? toMovie(-e) : 0;
  const entries: number[] = [];
  if (delayMovie > 0) entries.push(delayMovie, 0xffff_ffff, 0x0001_0000); // media_time -1
  entries.push(toMovie(presented), Math.max(0, e), 0x0001_0000);
  const elst = fullBox("elst", 0, 0, be32([entries.length / 3, ...entries]));
  const durationMovie = delayMovie + toMovie(presented);

  const video = t.kind === "video";
  const tkhd = fullBox(
    "tkhd",
    0,
    3, // track_enabled | track_in_movie
    be32([0, 0, trackId, 0, durationMovie, 0, 0]),
    be16(0), // layer
    be16(0), // alternate_group
    be16(video ? 0x0100 * 0 : 0x0100),
    be16(0),
    MATRIX,
    be32([
      video ? (t.width ?? 0) * 0x10000 : 0,
      video ? (t.height ?? 0) * 0x10000 : 0,
    ]),
  );
  const mdhd = fullBox(
    "mdhd",
    0,
    0,
    be32([0, 0, scale, mediaDuration]),
    be16(0x55c4), // language "und" (ISO 639-2/T packed)
    be16(0),
  );
  const hdlr = fullBox(
    "hdlr",
    0,
    0,
    be32([0]),
    ascii(video ? "vide" : "soun"),
    new Uint8Array(12),
    ascii(video ? "VideoHandler\0" : "SoundHandler\0"),
  );
  const mhd = video
    ? fullBox("vmhd", 0, 1, new Uint8Array(8))
    : fullBox("smhd", 0, 0, new Uint8Array(4));
  const dinf = box(
    "dinf",
    fullBox("dref", 0, 0, be32([1]), fullBox("url ", 0, 1)),
  );
  const stbl = box(
    "stbl",
    fullBox("stsd", 0, 0, be32([1]), sampleEntryOf(t)),
    ...tables(s, p.first, p.end, place, wide, patches),
  );
  const mdia = box("mdia", mdhd, hdlr, box("minf", mhd, dinf, stbl));
  return { box: box("trak", tkhd, box("edts", elst), mdia), durationMovie };
}

/**
 * What every range of a track's tables is cut from, computed once per track and kept with it:
 * the runs of equal durations and composition offsets, the sync samples, the chunks (runs of
 * samples contiguous in the file) and the sizes already big-endian. A range's tables then cost
 * a binary search and a walk over the runs, chunks and keyframes it spans, and one copy of its
 * sizes, never a pass over every sample.
 */
interface TrackTables {
  readonly sttsStart: Uint32Array;
  readonly cttsStart: Uint32Array;
  readonly sync: Uint32Array | undefined;
  readonly chunkStart: Uint32Array;
  /** Sizes as big-endian u32s, or undefined when every sample has the same size. */
  readonly sizesBE: Uint8Array | undefined;
  /** Offsets never go back from one sample to the next (true of every muxer we know). */
  readonly monotonic: boolean;
}

const trackTables = new WeakMap<SampleTable, TrackTables>();

function runStarts(values: ArrayLike<number>, n: number): Uint32Array {
  let runs = 0;
  for (let i = 0; i < n; i++) {
    if (i === 0 || values[i] !== values[i - 1]) runs++;
  }
  const out = new Uint32Array(runs);
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (i === 0 || values[i] !== values[i - 1]) out[k++] = i;
  }
  return out;
}

function tablesOf(s: SampleTable): TrackTables {
  let t = trackTables.get(s);
  if (t) return t;
  const n = s.count;
  let sync: Uint32Array | undefined;
  if (s.sync) {
    let k = 0;
    for (let i = 0; i < n; i++) if (s.sync[i]) k++;
    sync = new Uint32Array(k);
    k = 0;
    for (let i = 0; i < n; i++) if (s.sync[i]) sync[k++] = i;
  }
  let chunks = 0;
  for (let i = 0; i < n; i++) {
    if (i === 0 || s.offset[i] !== s.offset[i - 1]! + s.size[i - 1]!) chunks++;
  }
  const chunkStart = new Uint32Array(chunks);
  chunks = 0;
  for (let i = 0; i < n; i++) {
    if (i === 0 || s.offset[i] !== s.offset[i - 1]! + s.size[i - 1]!) {
      chunkStart[chunks++] = i;
    }
  }
  let same = true;
  for (let i = 1; i < n && same; i++) if (s.size[i] !== s.size[0]) same = false;
  let monotonic = true;
  for (let i = 1; i < n && monotonic; i++) {
    if (s.offset[i]! < s.offset[i - 1]!) monotonic = false;
  }
  let sizesBE: Uint8Array | undefined;
  if (!same) {
    sizesBE = new Uint8Array(n * 4);
    const v = new DataView(sizesBE.buffer);
    for (let i = 0; i < n; i++) v.setUint32(i * 4, s.size[i]!);
  }
  t = {
    sttsStart: runStarts(s.duration, n),
    cttsStart: runStarts(s.cts, n),
    sync,
    chunkStart,
    sizesBE,
    monotonic,
  };
  trackTables.set(s, t);
  return t;
}

/** Index of the last entry of the sorted `starts` at or before `i` (0 when none). */
function runAt(starts: Uint32Array, i: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= i) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * `entry_count` then (count, value) pairs of the runs of `values` clipped to `[first, end)`,
 * from the runs' start indices.
 */
function clippedRuns(
  starts: Uint32Array,
  values: ArrayLike<number>,
  first: number,
  end: number,
  map: (v: number) => number,
): { bytes: Uint8Array; anyNonZero: boolean; anyNegative: boolean } {
  const r0 = runAt(starts, first);
  let r1 = r0;
  while (r1 < starts.length && starts[r1]! < end) r1++;
  const runs = r1 - r0;
  const b = new Uint8Array(4 + runs * 8);
  const v = new DataView(b.buffer);
  v.setUint32(0, runs);
  let anyNonZero = false;
  let anyNegative = false;
  let o = 4;
  for (let r = r0; r < r1; r++) {
    const a = Math.max(starts[r]!, first);
    const z = Math.min(r + 1 < starts.length ? starts[r + 1]! : Infinity, end);
    const value = values[starts[r]!]!;
    if (value !== 0) anyNonZero = true;
    if (value < 0) anyNegative = true;
    v.setUint32(o, z - a);
    v.setUint32(o + 4, map(value));
    o += 8;
  }
  return { bytes: b, anyNonZero, anyNegative };
}

function tables(
  s: SampleTable,
  first: number,
  end: number,
  place: (fileOffset: number) => number,
  wide: boolean,
  patches: ((shift: number) => void)[],
): Box[] {
  const n = end - first;
  const tt = tablesOf(s);
  const out: Box[] = [];
  // stts: runs of equal durations.
  out.push(
    fullBox(
      "stts",
      0,
      0,
      clippedRuns(tt.sttsStart, s.duration, first, end, (x) => x).bytes,
    ),
  );
  // ctts: runs of equal offsets, only when some are not 0; version 1 for negative ones.
  {
    const c = clippedRuns(tt.cttsStart, s.cts, first, end, (x) => x >>> 0);
    if (c.anyNonZero) {
      out.push(fullBox("ctts", c.anyNegative ? 1 : 0, 0, c.bytes));
    }
  }
  // stss: sync samples, numbered from 1 in the output.
  if (tt.sync) {
    let k0 = tt.sync.length;
    let lo = 0;
    let hi = tt.sync.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (tt.sync[mid]! < first) lo = mid + 1;
      else hi = mid;
    }
    k0 = lo;
    let k1 = k0;
    while (k1 < tt.sync.length && tt.sync[k1]! < end) k1++;
    const b = new Uint8Array(4 + (k1 - k0) * 4);
    const v = new DataView(b.buffer);
    v.setUint32(0, k1 - k0);
    for (let k = k0; k < k1; k++) {
      v.setUint32(4 + (k - k0) * 4, tt.sync[k]! - first + 1);
    }
    out.push(fullBox("stss", 0, 0, b));
  }
  // stsz: one size, or the sizes' slice.
  if (!tt.sizesBE) {
    out.push(fullBox("stsz", 0, 0, be32([n > 0 ? s.size[first]! : 0, n])));
  } else {
    out.push(
      fullBox(
        "stsz",
        0,
        0,
        be32([0, n]),
        tt.sizesBE.subarray(first * 4, end * 4),
      ),
    );
  }
  // Chunks: the track's chunks clipped to the range (the first may start mid-chunk); offsets
  // relative to the mdat payload, shifted once the head's size is known.
  const c0 = runAt(tt.chunkStart, first);
  let c1 = c0;
  while (c1 < tt.chunkStart.length && tt.chunkStart[c1]! < end) c1++;
  const count = c1 - c0;
  const rel = new Float64Array(count);
  // stsc: (first_chunk, samples_per_chunk, 1) where the count changes; written as it goes.
  const stsc = new Uint8Array(4 + count * 12);
  const sv = new DataView(stsc.buffer);
  let entries = 0;
  let previous = -1;
  const starts = tt.chunkStart;
  const total = starts.length;
  for (let c = c0; c < c1; c++) {
    const k = c - c0;
    // Only the first and last chunks can be cut by the range.
    const a = c === c0 ? first : starts[c]!;
    const z = c + 1 < total && c + 1 < c1
      ? starts[c + 1]!
      : Math.min(c + 1 < total ? starts[c + 1]! : s.count, end);
    rel[k] = place(s.offset[a]!);
    const per = z - a;
    if (per !== previous) {
      const o = 4 + entries * 12;
      sv.setUint32(o, k + 1);
      sv.setUint32(o + 4, per);
      sv.setUint32(o + 8, 1);
      entries++;
      previous = per;
    }
  }
  sv.setUint32(0, entries);
  out.push(fullBox("stsc", 0, 0, stsc.subarray(0, 4 + entries * 12)));
  const width = wide ? 8 : 4;
  const body = new Uint8Array(4 + count * width);
  new DataView(body.buffer).setUint32(0, count);
  const table: Box = {
    ...fullBox(wide ? "co64" : "stco", 0, 0, body),
    // Where the table lands in the head, so the shift is written there.
    onWrite: (buf, at) => {
      patches.push((shift) => {
        const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
        let o = at + 4;
        for (let c = 0; c < count; c++, o += width) {
          const off = rel[c]! + shift;
          if (wide) {
            v.setUint32(o, Math.floor(off / 0x1_0000_0000));
            v.setUint32(o + 4, off >>> 0);
          } else v.setUint32(o, off);
        }
      });
    },
  };
  out.push(table);
  return out;
}

function be16(v: number): Uint8Array {
  return new Uint8Array([(v >> 8) & 0xff, v & 0xff]);
}
function be32(values: readonly number[]): Uint8Array {
  const b = new Uint8Array(values.length * 4);
  const v = new DataView(b.buffer);
  for (let i = 0; i < values.length; i++) v.setUint32(i * 4, values[i]! >>> 0);
  return b;
}
function ascii(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}
