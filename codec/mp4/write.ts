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
 * @module
 */

import type { SampleTable, TrackIndex } from "../samples/types.ts";
import { mdatHeader, writeBox, writeFullBox } from "./box.ts";
import { sampleEntryOf } from "./sample_entry.ts";

/** Gaps between chosen samples up to this size stay in `mdat` rather than split a range. */
export const MAX_MDAT_GAP_BYTES = 256 * 1024;
/** The movie timescale we write (ticks per second of `mvhd`, `tkhd` and `elst`). */
export const MOVIE_TIMESCALE = 1000;

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

const FTYP = writeBox(
  "ftyp",
  ascii("isom"),
  u32(512),
  ascii("isom"),
  ascii("iso2"),
  ascii("avc1"),
  ascii("mp41"),
);

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
  // The table width (stco or co64) sets the moov's size, which sets every offset: decide the
  // width from a first build, then build again with the real offsets (same size).
  let wide = false;
  let moov = buildMoov(parts, options, () => 0, wide);
  const mdat = mdatHeader(payload);
  if (FTYP.length + moov.length + mdat.length + payload > 0xffff_ffff) {
    wide = true;
    moov = buildMoov(parts, options, () => 0, wide);
  }
  const dataStart = FTYP.length + moov.length + mdat.length;
  const place = offsetMapper(ranges, dataStart);
  moov = buildMoov(parts, options, place, wide);
  const head = new Uint8Array(FTYP.length + moov.length + mdat.length);
  head.set(FTYP, 0);
  head.set(moov, FTYP.length);
  head.set(mdat, FTYP.length + moov.length);
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
  const moov = buildMoov(parts, options, (off) => off, wide);
  const mdatHead = 16;
  const room = headBytes - FTYP.length - moov.length - mdatHead;
  if (room < 8) return undefined;
  const head = new Uint8Array(headBytes);
  head.set(FTYP, 0);
  head.set(moov, FTYP.length);
  const v = new DataView(head.buffer);
  let o = FTYP.length + moov.length;
  // `free` (ISO/IEC 14496-12 §8.1.2): room whose bytes nothing reads.
  v.setUint32(o, room);
  head.set([0x66, 0x72, 0x65, 0x65], o + 4);
  o += room;
  // A 64-bit mdat whatever its size (§4.2: size 1, then largesize).
  v.setUint32(o, 1);
  head.set([0x6d, 0x64, 0x61, 0x74], o + 4);
  const total = payloadBytes + mdatHead;
  v.setUint32(o + 8, Math.floor(total / 0x1_0000_0000));
  v.setUint32(o + 12, total >>> 0);
  return head;
}

/** Sorted, merged byte ranges of every chosen sample. */
function mergeRanges(
  parts: readonly Mp4TrackRange[],
): [number, number][] {
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

/** Maps a file offset (inside one of `ranges`) to its offset in the output. */
function offsetMapper(
  ranges: readonly (readonly [number, number])[],
  dataStart: number,
): (fileOffset: number) => number {
  const starts: number[] = [];
  let pos = dataStart;
  for (const [, len] of ranges) {
    starts.push(pos);
    pos += len;
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

function buildMoov(
  parts: readonly Mp4TrackRange[],
  options: Mp4PlanOptions,
  place: (fileOffset: number) => number,
  wide: boolean,
): Uint8Array {
  let movieDuration = 0;
  const traks: Uint8Array[] = [];
  parts.forEach((p, i) => {
    const t = buildTrak(p, i + 1, options, place, wide);
    movieDuration = Math.max(movieDuration, t.durationMovie);
    traks.push(t.bytes);
  });
  const mvhd = writeFullBox(
    "mvhd",
    0,
    0,
    u32(0),
    u32(0),
    u32(MOVIE_TIMESCALE),
    u32(movieDuration),
    u32(0x0001_0000), // rate 1.0
    u16(0x0100), // volume 1.0
    new Uint8Array(10),
    MATRIX,
    new Uint8Array(24),
    u32(parts.length + 1),
  );
  return writeBox("moov", mvhd, ...traks);
}

const MATRIX = (() => {
  const m = new Uint8Array(36);
  const v = new DataView(m.buffer);
  v.setUint32(0, 0x0001_0000);
  v.setUint32(16, 0x0001_0000);
  v.setUint32(32, 0x4000_0000);
  return m;
})();

function buildTrak(
  p: Mp4TrackRange,
  trackId: number,
  options: Mp4PlanOptions,
  place: (fileOffset: number) => number,
  wide: boolean,
): { bytes: Uint8Array; durationMovie: number } {
  const t = p.track;
  const s = t.samples;
  const scale = t.timescale;
  const d0 = s.dts[p.first] ?? 0;
  let mediaDuration = 0;
  let presentedEnd = 0; // max(dts + cts + duration) - d0: where the last frame shown ends
  for (let i = p.first; i < p.end; i++) {
    mediaDuration += s.duration[i]!;
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
  const entries: Uint8Array[] = [];
  if (delayMovie > 0) entries.push(u32(delayMovie), i32(-1), u32(0x0001_0000));
  entries.push(u32(toMovie(presented)), i32(Math.max(0, e)), u32(0x0001_0000));
  const elst = writeFullBox("elst", 0, 0, u32(entries.length / 3), ...entries);
  const durationMovie = delayMovie + toMovie(presented);

  const video = t.kind === "video";
  const tkhd = writeFullBox(
    "tkhd",
    0,
    3, // track_enabled | track_in_movie
    u32(0),
    u32(0),
    u32(trackId),
    u32(0),
    u32(durationMovie),
    new Uint8Array(8),
    u16(0), // layer
    u16(0), // alternate_group
    u16(video ? 0 : 0x0100),
    u16(0),
    MATRIX,
    u32(video ? (t.width ?? 0) * 0x10000 : 0),
    u32(video ? (t.height ?? 0) * 0x10000 : 0),
  );
  const mdhd = writeFullBox(
    "mdhd",
    0,
    0,
    u32(0),
    u32(0),
    u32(scale),
    u32(mediaDuration),
    u16(0x55c4), // language "und" (ISO 639-2/T packed)
    u16(0),
  );
  const hdlr = writeFullBox(
    "hdlr",
    0,
    0,
    u32(0),
    ascii(video ? "vide" : "soun"),
    new Uint8Array(12),
    ascii(video ? "VideoHandler\0" : "SoundHandler\0"),
  );
  const mhd = video
    ? writeFullBox("vmhd", 0, 1, new Uint8Array(8))
    : writeFullBox("smhd", 0, 0, new Uint8Array(4));
  const dinf = writeBox(
    "dinf",
    writeFullBox("dref", 0, 0, u32(1), writeFullBox("url ", 0, 1)),
  );
  const stbl = writeBox(
    "stbl",
    writeFullBox("stsd", 0, 0, u32(1), sampleEntryOf(t)),
    ...tables(s, p.first, p.end, place, wide),
  );
  const mdia = writeBox("mdia", mdhd, hdlr, writeBox("minf", mhd, dinf, stbl));
  return {
    bytes: writeBox("trak", tkhd, writeBox("edts", elst), mdia),
    durationMovie,
  };
}

function tables(
  s: SampleTable,
  first: number,
  end: number,
  place: (fileOffset: number) => number,
  wide: boolean,
): Uint8Array[] {
  const n = end - first;
  const out: Uint8Array[] = [];
  // stts: runs of equal durations.
  {
    const w: number[] = [];
    for (let i = first; i < end;) {
      let j = i + 1;
      while (j < end && s.duration[j] === s.duration[i]) j++;
      w.push(j - i, s.duration[i]!);
      i = j;
    }
    out.push(writeFullBox("stts", 0, 0, u32(w.length / 2), u32s(w)));
  }
  // ctts: runs of equal offsets, only when some are not 0; version 1 for negative ones.
  {
    let any = false;
    let negative = false;
    for (let i = first; i < end; i++) {
      if (s.cts[i] !== 0) any = true;
      if (s.cts[i]! < 0) negative = true;
    }
    if (any) {
      const w: number[] = [];
      for (let i = first; i < end;) {
        let j = i + 1;
        while (j < end && s.cts[j] === s.cts[i]) j++;
        w.push(j - i, s.cts[i]! >>> 0);
        i = j;
      }
      out.push(
        writeFullBox("ctts", negative ? 1 : 0, 0, u32(w.length / 2), u32s(w)),
      );
    }
  }
  // stss: sync samples, numbered from 1 in the output.
  if (s.sync) {
    const w: number[] = [];
    for (let i = first; i < end; i++) if (s.sync[i]) w.push(i - first + 1);
    out.push(writeFullBox("stss", 0, 0, u32(w.length), u32s(w)));
  }
  // stsz: one size, or a table.
  {
    let same = n > 0;
    for (let i = first + 1; i < end && same; i++) {
      if (s.size[i] !== s.size[first]) same = false;
    }
    if (same) out.push(writeFullBox("stsz", 0, 0, u32(s.size[first]!), u32(n)));
    else {
      out.push(
        writeFullBox(
          "stsz",
          0,
          0,
          u32(0),
          u32(n),
          u32s(s.size.subarray(first, end)),
        ),
      );
    }
  }
  // Chunks: samples that follow each other in the output form one chunk.
  const chunkOffsets: number[] = [];
  const perChunk: number[] = [];
  // Contiguous in the file means contiguous in the output (both lie in one merged range), and
  // deciding by file offsets keeps the table's size independent of `place`.
  for (let i = first; i < end; i++) {
    const k = perChunk.length - 1;
    if (k >= 0 && s.offset[i] === s.offset[i - 1]! + s.size[i - 1]!) {
      perChunk[k]!++;
    } else {
      chunkOffsets.push(place(s.offset[i]!));
      perChunk.push(1);
    }
  }
  const stsc: number[] = [];
  for (let c = 0; c < perChunk.length; c++) {
    if (c === 0 || perChunk[c] !== perChunk[c - 1]) {
      stsc.push(c + 1, perChunk[c]!, 1);
    }
  }
  out.push(writeFullBox("stsc", 0, 0, u32(stsc.length / 3), u32s(stsc)));
  if (wide) {
    const b = new Uint8Array(chunkOffsets.length * 8);
    const v = new DataView(b.buffer);
    chunkOffsets.forEach((o, i) => {
      v.setUint32(i * 8, Math.floor(o / 0x1_0000_0000));
      v.setUint32(i * 8 + 4, o >>> 0);
    });
    out.push(writeFullBox("co64", 0, 0, u32(chunkOffsets.length), b));
  } else {
    out.push(
      writeFullBox("stco", 0, 0, u32(chunkOffsets.length), u32s(chunkOffsets)),
    );
  }
  return out;
}

function u16(v: number): Uint8Array {
  return new Uint8Array([(v >> 8) & 0xff, v & 0xff]);
}
function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0);
  return b;
}
function i32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v);
  return b;
}
function u32s(values: ArrayLike<number>): Uint8Array {
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
