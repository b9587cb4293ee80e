/**
 * Writes a fragmented MP4 (ISO/IEC 14496-12 §8.8): an initialization segment (`ftyp` and a
 * `moov` whose tracks have no samples, with `mvex`/`trex`), then `moof` + `mdat` fragments
 * appended as media arrives. This is how a recording stays playable while it is written and
 * after a crash: every fragment is a self-describing unit, so a file cut anywhere plays up to
 * its last whole fragment, where a progressive MP4 whose `moov` was never written does not
 * play at all ("moov atom not found").
 *
 * Boxes that can pass 32 bits are written 64-bit: `tfdt` version 1 (decode times of long
 * recordings), `mdat` with a `largesize` when a fragment's payload passes 4 GiB. Offsets are
 * relative to each `moof` (`default-base-is-moof`), so a file past 4 GiB needs nothing else.
 *
 * @module
 */

import { mdatHeader, writeBox, writeFullBox } from "./box.ts";
import { sampleEntryOf, type TrackDescription } from "./sample_entry.ts";

/** A track of a fragmented file. */
export interface FragmentTrack extends TrackDescription {
  /** `track_ID`, from 1. */
  readonly id: number;
  /** Ticks per second of its samples' times. */
  readonly timescale: number;
}

/** One sample of a fragment. */
export interface FragmentSample {
  readonly duration: number;
  /** Composition offset (PTS − DTS), ticks; may be negative. */
  readonly cts: number;
  readonly sync: boolean;
  readonly data: Uint8Array;
}

/** One track's run of samples in a fragment. */
export interface FragmentRun {
  readonly track: FragmentTrack;
  /** Decode time of the first sample, ticks from the track's start. */
  readonly baseDts: number;
  readonly samples: readonly FragmentSample[];
}

/** `tfhd` flag (§8.8.7.1): data offsets count from the start of the `moof`. */
const DEFAULT_BASE_IS_MOOF = 0x020000;
/** `trun` flags (§8.8.8.1): data offset, then per sample duration, size, flags, cts. */
const TRUN_FLAGS = 0x000001 | 0x000100 | 0x000200 | 0x000400 | 0x000800;
/** sample_flags (§8.8.3.1): depends on nothing (a sync sample). */
const SYNC_FLAGS = 0x0200_0000;
/** sample_flags: depends on others, `sample_is_non_sync_sample`. */
const NON_SYNC_FLAGS = 0x0101_0000;
/** The movie timescale of the `mvhd` we write. */
const MOVIE_TIMESCALE = 1000;

const MATRIX = (() => {
  const m = new Uint8Array(36);
  const v = new DataView(m.buffer);
  v.setUint32(0, 0x0001_0000);
  v.setUint32(16, 0x0001_0000);
  v.setUint32(32, 0x4000_0000);
  return m;
})();

/**
 * The initialization segment: `ftyp` (`iso6`, for `tfdt` and `default-base-is-moof`) and a
 * `moov` with each track's sample entry and empty tables, and `mvex` with a `trex` per track.
 *
 * @example
 * ```ts
 * import { encodeInitSegment } from "./fragment_write.ts";
 * import { parseMovie } from "./movie.ts";
 * import { readBoxHeader } from "./box.ts";
 * import assert from "node:assert/strict";
 * const init = encodeInitSegment([{ id: 1, kind: "audio", codec: "aac", timescale: 44100, config: new Uint8Array([0x12, 0x10]), sampleEntry: undefined, sampleRate: 44100, channels: 2 }]);
 * const ftyp = readBoxHeader(init, 0, init.length)!;
 * const movie = parseMovie(init.subarray(ftyp.end), { fileSize: init.length });
 * assert.equal(movie.tracks[0]!.timescale, 44100);
 * assert.equal(movie.extends?.length, 1);
 * ```
 */
export function encodeInitSegment(
  tracks: readonly FragmentTrack[],
): Uint8Array {
  const ftyp = writeBox(
    "ftyp",
    ascii("iso6"),
    u32(0),
    ascii("iso6"),
    ascii("isom"),
    ascii("iso2"),
    ascii("avc1"),
    ascii("mp41"),
  );
  const mvhd = writeFullBox(
    "mvhd",
    0,
    0,
    u32(0),
    u32(0),
    u32(MOVIE_TIMESCALE),
    u32(0), // duration unknown: the fragments say (§8.8.1)
    u32(0x0001_0000),
    u16(0x0100),
    new Uint8Array(10),
    MATRIX,
    new Uint8Array(24),
    u32(Math.max(0, ...tracks.map((t) => t.id)) + 1),
  );
  const traks = tracks.map((t) => trak(t));
  const mvex = writeBox(
    "mvex",
    ...tracks.map((t) =>
      writeFullBox("trex", 0, 0, u32(t.id), u32(1), u32(0), u32(0), u32(0))
    ),
  );
  const moov = writeBox("moov", mvhd, ...traks, mvex);
  const out = new Uint8Array(ftyp.length + moov.length);
  out.set(ftyp, 0);
  out.set(moov, ftyp.length);
  return out;
}

function trak(t: FragmentTrack): Uint8Array {
  const video = t.kind === "video";
  const tkhd = writeFullBox(
    "tkhd",
    0,
    3, // track_enabled | track_in_movie
    u32(0),
    u32(0),
    u32(t.id),
    u32(0),
    u32(0),
    new Uint8Array(8),
    u16(0),
    u16(0),
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
    u32(t.timescale),
    u32(0),
    u16(0x55c4), // "und"
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
    writeFullBox("stts", 0, 0, u32(0)),
    writeFullBox("stsc", 0, 0, u32(0)),
    writeFullBox("stsz", 0, 0, u32(0), u32(0)),
    writeFullBox("stco", 0, 0, u32(0)),
  );
  return writeBox(
    "trak",
    tkhd,
    writeBox("mdia", mdhd, hdlr, writeBox("minf", mhd, dinf, stbl)),
  );
}

/**
 * One fragment: a `moof` (`mfhd` with `sequence`, a `traf` per run with `tfhd`, `tfdt` and a
 * `trun` naming each sample's duration, size, flags and composition offset) and the `mdat`
 * holding the runs' bytes in order.
 *
 * @param sequence `mfhd` sequence_number, from 1, one more per fragment.
 * @returns The bytes to append to the file.
 *
 * @example
 * ```ts
 * import { encodeFragment, encodeInitSegment } from "./fragment_write.ts";
 * import { Mp4Fragments } from "./fragments.ts";
 * import { parseMovie } from "./movie.ts";
 * import { readBoxHeader } from "./box.ts";
 * import assert from "node:assert/strict";
 * const track = { id: 1, kind: "audio" as const, codec: "aac" as const, timescale: 44100, config: new Uint8Array([0x12, 0x10]), sampleEntry: undefined, sampleRate: 44100, channels: 2 };
 * const init = encodeInitSegment([track]);
 * const frag = encodeFragment(1, [{ track, baseDts: 0, samples: [{ duration: 1024, cts: 0, sync: true, data: new Uint8Array(10) }] }]);
 * const file = new Uint8Array([...init, ...frag]);
 * const ftyp = readBoxHeader(file, 0, file.length)!;
 * const moov = readBoxHeader(file, ftyp.end, file.length)!;
 * const fr = new Mp4Fragments(parseMovie(file.subarray(moov.start, moov.end), { fileSize: file.length }), file.length);
 * fr.push(frag.subarray(0, readBoxHeader(frag, 0, frag.length)!.size), init.length);
 * assert.equal(fr.finish()[0]!.samples.count, 1);
 * ```
 */
export function encodeFragment(
  sequence: number,
  runs: readonly FragmentRun[],
): Uint8Array {
  let payload = 0;
  for (const r of runs) for (const s of r.samples) payload += s.data.byteLength;
  const build = (offsets: readonly number[]) =>
    writeBox(
      "moof",
      writeFullBox("mfhd", 0, 0, u32(sequence)),
      ...runs.map((r, i) => traf(r, offsets[i]!)),
    );
  // The moof's size does not depend on the offsets' values: build once to learn it.
  const size = build(runs.map(() => 0)).length;
  const mdat = mdatHeader(payload);
  const offsets: number[] = [];
  let at = size + mdat.length;
  for (const r of runs) {
    offsets.push(at);
    for (const s of r.samples) at += s.data.byteLength;
  }
  const moof = build(offsets);
  const out = new Uint8Array(moof.length + mdat.length + payload);
  out.set(moof, 0);
  out.set(mdat, moof.length);
  let o = moof.length + mdat.length;
  for (const r of runs) {
    for (const s of r.samples) {
      out.set(s.data, o);
      o += s.data.byteLength;
    }
  }
  return out;
}

function traf(r: FragmentRun, dataOffset: number): Uint8Array {
  const tfhd = writeFullBox("tfhd", 0, DEFAULT_BASE_IS_MOOF, u32(r.track.id));
  const base = r.baseDts;
  const tfdt = writeFullBox(
    "tfdt",
    1,
    0,
    u32(Math.floor(base / 0x1_0000_0000)),
    u32(base >>> 0),
  );
  const n = r.samples.length;
  const table = new Uint8Array(n * 16);
  const v = new DataView(table.buffer);
  r.samples.forEach((s, i) => {
    v.setUint32(i * 16, s.duration >>> 0);
    v.setUint32(i * 16 + 4, s.data.byteLength);
    v.setUint32(i * 16 + 8, s.sync ? SYNC_FLAGS : NON_SYNC_FLAGS);
    v.setInt32(i * 16 + 12, s.cts);
  });
  // Version 1: signed composition offsets (B-frames may present before they decode).
  const trun = writeFullBox(
    "trun",
    1,
    TRUN_FLAGS,
    u32(n),
    i32(dataOffset),
    table,
  );
  return writeBox("traf", tfhd, tfdt, trun);
}

/**
 * How many bytes of a fragmented file are whole: the `ftyp`/`moov` and every `moof` followed by
 * its complete `mdat`. A file cut mid-fragment (a crash, a power loss) plays once truncated
 * to this length.
 *
 * @param boxes The file's top-level box headers in order (`start`, `size`), as far as read.
 * @param fileSize The file's size.
 * @returns The length to keep (0 when not even the `moov` is whole).
 *
 * @example
 * ```ts
 * import { wholeFragmentsLength } from "./fragment_write.ts";
 * import assert from "node:assert/strict";
 * const boxes = [
 *   { type: "ftyp", start: 0, size: 24 }, { type: "moov", start: 24, size: 500 },
 *   { type: "moof", start: 524, size: 100 }, { type: "mdat", start: 624, size: 1000 },
 *   { type: "moof", start: 1624, size: 100 }, { type: "mdat", start: 1724, size: 1000 },
 * ];
 * assert.equal(wholeFragmentsLength(boxes, 2000), 1624); // the second mdat is cut
 * ```
 */
export function wholeFragmentsLength(
  boxes: readonly {
    readonly type: string;
    readonly start: number;
    readonly size: number;
  }[],
  fileSize: number,
): number {
  let keep = 0;
  let sawMoov = false;
  let pendingMoof = false;
  for (const b of boxes) {
    const end = b.start + b.size;
    if (end > fileSize || b.size < 8) break;
    if (b.type === "moov") {
      sawMoov = true;
      keep = end;
    } else if (b.type === "moof") {
      if (!sawMoov) break;
      pendingMoof = true;
    } else if (b.type === "mdat" && pendingMoof) {
      pendingMoof = false;
      keep = end;
    } else if (!pendingMoof && sawMoov) {
      keep = end; // free, skip, mfra…: whole boxes between fragments
    } else if (!sawMoov) {
      keep = end; // ftyp and anything before the moov
    }
  }
  return sawMoov ? keep : 0;
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
function ascii(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}
