/**
 * Reads a `moov` box (ISO/IEC 14496-12 §8.2–8.8) into a {@link MediaIndex}'s tracks: handler,
 * timescale, edit list, sample entry and codec configuration, and the sample tables (`stts`,
 * `ctts`, `stss`, `stsz`/`stz2`, `stsc`, `stco`/`co64`) flattened into per-sample arrays.
 *
 * Only audio (`soun`) and video (`vide`) tracks whose codec we serve are kept (H.264, HEVC,
 * AAC, MP3); others are listed in `skipped` so a listing can say why a track is missing.
 *
 * @module
 */

import { SampleTableBuilder } from "../samples/table.ts";
import type { SampleCodec, SampleTable, TrackIndex } from "../samples/types.ts";
import {
  type BoxHeader,
  childBoxes,
  findChild,
  findPath,
  printable,
  readBoxHeader,
} from "./box.ts";
import { Mp4ErrorCode, Mp4FormatError } from "./errors.ts";

/** Most samples one track may have (a 24-hour 60 fps video has ~5.2 M). */
export const MAX_TRACK_SAMPLES = 8_000_000;
/** Most tracks read from one file. */
export const MAX_TRACKS = 64;

/** Defaults of a track's fragments (`trex`, ISO/IEC 14496-12 §8.8.3). */
export interface TrackExtends {
  readonly trackId: number;
  readonly defaultSampleDuration: number;
  readonly defaultSampleSize: number;
  readonly defaultSampleFlags: number;
}

/** A track as read from `moov`, before or without fragments. */
export interface Mp4Track extends TrackIndex {
  readonly trackId: number;
  /** The sample entry's four-character code (`avc1`, `mp4a`, ...). */
  readonly entryType: string;
}

/** What {@link parseMovie} found. */
export interface Mp4Movie {
  /** `mvhd` timescale (ticks per second of the movie timeline). */
  readonly timescale: number;
  readonly durationTicks: number;
  readonly tracks: readonly Mp4Track[];
  /** Tracks not kept, with the reason (`"tmcd: not audio or video"`). */
  readonly skipped: readonly string[];
  /** Present when the file is fragmented (`mvex`): samples also come from `moof` boxes. */
  readonly extends: readonly TrackExtends[] | undefined;
}

/** Options of {@link parseMovie}. */
export interface ParseMovieOptions {
  /** The file's size: a sample past it is an error (`MP4_SAMPLE_PAST_END`). */
  readonly fileSize: number;
}

const AAC_OBJECT_TYPES = new Set([0x40, 0x66, 0x67, 0x68]);
const MP3_OBJECT_TYPES = new Set([0x69, 0x6b]);

class Cursor {
  readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    public o: number,
    readonly end: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n: number, what: string): void {
    if (this.o + n > this.end) {
      throw new Mp4FormatError(
        Mp4ErrorCode.Truncated,
        `Cannot read ${what}: need ${n} bytes, ${this.end - this.o} left`,
      );
    }
  }
  u8(): number {
    this.need(1, "byte");
    return this.bytes[this.o++]!;
  }
  u16(): number {
    this.need(2, "u16");
    const v = this.view.getUint16(this.o);
    this.o += 2;
    return v;
  }
  u32(): number {
    this.need(4, "u32");
    const v = this.view.getUint32(this.o);
    this.o += 4;
    return v;
  }
  i32(): number {
    this.need(4, "i32");
    const v = this.view.getInt32(this.o);
    this.o += 4;
    return v;
  }
  u64(): number {
    const hi = this.u32();
    return hi * 0x1_0000_0000 + this.u32();
  }
  i64(): number {
    this.need(8, "i64");
    const v = Number(this.view.getBigInt64(this.o));
    this.o += 8;
    return v;
  }
  skip(n: number): void {
    this.need(n, "field");
    this.o += n;
  }
}

/** A full box's body cursor, past version and flags. */
function fullBox(
  bytes: Uint8Array,
  box: BoxHeader,
): { c: Cursor; version: number; flags: number } {
  const c = new Cursor(bytes, box.start + box.headerBytes, box.end);
  const version = c.u8();
  const flags = (c.u8() << 16) | (c.u8() << 8) | c.u8();
  return { c, version, flags };
}

/**
 * Parses the bytes of a whole `moov` box.
 *
 * @param moov The `moov` box, header included.
 * @throws {Mp4FormatError} For malformed boxes or tables, samples past the file's end, or no
 *   audio or video track we can serve (`MP4_UNSUPPORTED`).
 */
export function parseMovie(
  moov: Uint8Array,
  options: ParseMovieOptions,
): Mp4Movie {
  const top = readBoxHeader(moov, 0, moov.length);
  if (!top || top.type !== "moov" || top.end > moov.length) {
    throw new Mp4FormatError(
      Mp4ErrorCode.NoMoov,
      "Cannot read movie: the bytes are not a whole moov box",
    );
  }
  const children = childBoxes(moov, top.headerBytes, top.end);
  const mvhd = children.find((b) => b.type === "mvhd");
  if (!mvhd) {
    throw new Mp4FormatError(
      Mp4ErrorCode.BadBox,
      "Cannot read movie: moov has no mvhd",
    );
  }
  const { c, version } = fullBox(moov, mvhd);
  c.skip(version === 1 ? 16 : 8);
  const timescale = c.u32();
  const durationTicks = version === 1 ? c.u64() : c.u32();
  if (timescale === 0) {
    throw new Mp4FormatError(
      Mp4ErrorCode.BadBox,
      "Cannot read mvhd: timescale 0",
    );
  }
  const mvex = children.find((b) => b.type === "mvex");
  const ext = mvex ? parseTrex(moov, mvex) : undefined;

  const tracks: Mp4Track[] = [];
  const skipped: string[] = [];
  const traks = children.filter((b) => b.type === "trak");
  if (traks.length > MAX_TRACKS) {
    throw new Mp4FormatError(
      Mp4ErrorCode.TooLarge,
      `Cannot read movie: ${traks.length} tracks, over ${MAX_TRACKS}`,
    );
  }
  for (const trak of traks) {
    const t = parseTrak(moov, trak, timescale, options);
    if (typeof t === "string") skipped.push(t);
    else tracks.push(t);
  }
  if (tracks.length === 0) {
    throw new Mp4FormatError(
      Mp4ErrorCode.Unsupported,
      `Cannot serve movie: no H.264/HEVC video or AAC/MP3 audio track${
        skipped.length ? ` (${skipped.join("; ")})` : ""
      }`,
    );
  }
  return { timescale, durationTicks, tracks, skipped, extends: ext };
}

function parseTrex(bytes: Uint8Array, mvex: BoxHeader): TrackExtends[] {
  const out: TrackExtends[] = [];
  for (const b of childBoxes(bytes, mvex.start + mvex.headerBytes, mvex.end)) {
    if (b.type !== "trex") continue;
    const { c } = fullBox(bytes, b);
    const trackId = c.u32();
    c.u32(); // default_sample_description_index
    out.push({
      trackId,
      defaultSampleDuration: c.u32(),
      defaultSampleSize: c.u32(),
      defaultSampleFlags: c.u32(),
    });
  }
  return out;
}

function parseTrak(
  bytes: Uint8Array,
  trak: BoxHeader,
  movieTimescale: number,
  options: ParseMovieOptions,
): Mp4Track | string {
  const tkhd = findChild(bytes, trak, "tkhd");
  const mdia = findChild(bytes, trak, "mdia");
  if (!tkhd || !mdia) return "a trak without tkhd or mdia";
  const th = fullBox(bytes, tkhd);
  th.c.skip(th.version === 1 ? 16 : 8);
  const trackId = th.c.u32();

  const hdlr = findChild(bytes, mdia, "hdlr");
  const handler = hdlr ? fullBoxHandler(bytes, hdlr) : "????";
  if (handler !== "vide" && handler !== "soun") {
    return `track ${trackId} (${printable(handler)}): not audio or video`;
  }
  const mdhd = findChild(bytes, mdia, "mdhd");
  if (!mdhd) return `track ${trackId}: no mdhd`;
  const mh = fullBox(bytes, mdhd);
  mh.c.skip(mh.version === 1 ? 16 : 8);
  const timescale = mh.c.u32();
  if (timescale === 0) {
    throw new Mp4FormatError(
      Mp4ErrorCode.BadBox,
      `Cannot read track ${trackId}: mdhd timescale 0`,
    );
  }
  const stbl = findPath(bytes, mdia, ["minf", "stbl"]);
  if (!stbl) return `track ${trackId}: no sample table`;
  const stsd = findChild(bytes, stbl, "stsd");
  if (!stsd) return `track ${trackId}: no stsd`;
  const entry = parseSampleEntry(bytes, stsd, handler);
  if (typeof entry === "string") return `track ${trackId}: ${entry}`;

  const samples = parseSampleTable(bytes, stbl, trackId, options.fileSize);
  const edts = findChild(bytes, trak, "edts");
  const mediaTime = edts
    ? editMediaTime(bytes, edts, movieTimescale, timescale)
    : 0;
  return {
    trackId,
    entryType: entry.type,
    kind: handler === "vide" ? "video" : "audio",
    codec: entry.codec,
    timescale,
    config: entry.config,
    sampleEntry: entry.bytes,
    width: entry.width,
    height: entry.height,
    sampleRate: entry.sampleRate,
    channels: entry.channels,
    mediaTime,
    samples,
  };
}

function fullBoxHandler(bytes: Uint8Array, hdlr: BoxHeader): string {
  const { c } = fullBox(bytes, hdlr);
  c.skip(4); // pre_defined
  c.need(4, "handler_type");
  const t = String.fromCharCode(...bytes.subarray(c.o, c.o + 4));
  return t;
}

/**
 * The presentation start from an edit list (§8.6.6): the first non-empty edit's `media_time`,
 * less any leading empty edit (a delay, in movie ticks) converted to media ticks.
 */
function editMediaTime(
  bytes: Uint8Array,
  edts: BoxHeader,
  movieTimescale: number,
  timescale: number,
): number {
  const elst = findChild(bytes, edts, "elst");
  if (!elst) return 0;
  const { c, version } = fullBox(bytes, elst);
  const n = c.u32();
  let delayMovieTicks = 0;
  for (let i = 0; i < Math.min(n, 16); i++) {
    const segment = version === 1 ? c.u64() : c.u32();
    const mediaTime = version === 1 ? c.i64() : c.i32();
    c.skip(4); // media_rate
    if (mediaTime === -1) {
      delayMovieTicks += segment;
      continue;
    }
    return mediaTime -
      Math.round((delayMovieTicks * timescale) / movieTimescale);
  }
  return 0;
}

interface SampleEntry {
  readonly type: string;
  readonly codec: SampleCodec;
  readonly config: Uint8Array | undefined;
  readonly bytes: Uint8Array;
  readonly width?: number;
  readonly height?: number;
  readonly sampleRate?: number;
  readonly channels?: number;
}

/** Size of VisualSampleEntry's fields after the box header (§12.1.3). */
const VISUAL_ENTRY_FIELDS = 78;
/** Size of AudioSampleEntry's fields after the box header (§12.2.3), version 0. */
const AUDIO_ENTRY_FIELDS = 28;

function parseSampleEntry(
  bytes: Uint8Array,
  stsd: BoxHeader,
  handler: string,
): SampleEntry | string {
  const { c } = fullBox(bytes, stsd);
  const count = c.u32();
  if (count === 0) return "stsd has no entry";
  const e = readBoxHeader(bytes.subarray(0, stsd.end), c.o, stsd.end);
  if (!e || e.end > stsd.end) {
    throw new Mp4FormatError(
      Mp4ErrorCode.Truncated,
      "Cannot read stsd: its first entry runs past it",
    );
  }
  const type = String.fromCharCode(...bytes.subarray(e.start + 4, e.start + 8));
  const entryBytes = bytes.slice(e.start, e.end);
  const body = e.start + e.headerBytes;
  if (handler === "vide") {
    if (!["avc1", "avc3", "hvc1", "hev1"].includes(type)) {
      return `video codec ${printable(type)} not served`;
    }
    if (e.end - body < VISUAL_ENTRY_FIELDS) {
      throw new Mp4FormatError(
        Mp4ErrorCode.Truncated,
        `Cannot read ${type} entry: ${e.end - body} bytes`,
      );
    }
    const v = new DataView(bytes.buffer, bytes.byteOffset);
    const width = v.getUint16(body + 24);
    const height = v.getUint16(body + 26);
    const inner = childBoxes(bytes, body + VISUAL_ENTRY_FIELDS, e.end);
    const want = type.startsWith("avc") ? "avcC" : "hvcC";
    const cfg = inner.find((b) => b.type === want);
    if (!cfg) return `${type} entry has no ${want}`;
    return {
      type,
      codec: type.startsWith("avc") ? "h264" : "hevc",
      config: bytes.slice(cfg.start + cfg.headerBytes, cfg.end),
      bytes: entryBytes,
      width,
      height,
    };
  }
  // Audio.
  if (e.end - body < AUDIO_ENTRY_FIELDS) {
    throw new Mp4FormatError(
      Mp4ErrorCode.Truncated,
      `Cannot read ${printable(type)} entry: ${e.end - body} bytes`,
    );
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset);
  const qtVersion = v.getUint16(body + 8);
  const channels = v.getUint16(body + 16);
  const sampleRate = v.getUint32(body + 24) >>> 16;
  if (type === ".mp3" || type === "mp3 ") {
    return {
      type,
      codec: "mp3",
      config: undefined,
      bytes: entryBytes,
      channels,
      sampleRate,
    };
  }
  if (type !== "mp4a") return `audio codec ${printable(type)} not served`;
  // QuickTime sound description versions 1 and 2 carry 16 and 36 more bytes (QTFF).
  const extra = qtVersion === 1 ? 16 : qtVersion === 2 ? 36 : 0;
  const start = body + AUDIO_ENTRY_FIELDS + extra;
  if (start > e.end) return "mp4a entry too short";
  let esds = childBoxes(bytes, start, e.end).find((b) => b.type === "esds");
  if (!esds) {
    const wave = childBoxes(bytes, start, e.end).find((b) => b.type === "wave");
    if (wave) esds = findChild(bytes, wave, "esds");
  }
  if (!esds) return "mp4a entry has no esds";
  const d = parseEsds(bytes, esds);
  if (MP3_OBJECT_TYPES.has(d.objectType)) {
    return {
      type,
      codec: "mp3",
      config: undefined,
      bytes: entryBytes,
      channels,
      sampleRate,
    };
  }
  if (!AAC_OBJECT_TYPES.has(d.objectType) || !d.specific) {
    return `mp4a object type 0x${d.objectType.toString(16)} not served`;
  }
  return {
    type,
    codec: "aac",
    config: d.specific,
    bytes: entryBytes,
    channels,
    sampleRate,
  };
}

/** ES_Descriptor → DecoderConfigDescriptor → DecoderSpecificInfo (ISO/IEC 14496-1 §7.2.6). */
function parseEsds(
  bytes: Uint8Array,
  esds: BoxHeader,
): { objectType: number; specific: Uint8Array | undefined } {
  const { c } = fullBox(bytes, esds);
  const descriptor = (): { tag: number; end: number } => {
    const tag = c.u8();
    let len = 0;
    for (let i = 0; i < 4; i++) {
      const b = c.u8();
      len = (len << 7) | (b & 0x7f);
      if (!(b & 0x80)) break;
    }
    const end = Math.min(c.o + len, c.end);
    return { tag, end };
  };
  const es = descriptor();
  if (es.tag !== 0x03) return { objectType: 0, specific: undefined };
  c.skip(2); // ES_ID
  const flags = c.u8();
  if (flags & 0x80) c.skip(2);
  if (flags & 0x40) c.skip(c.u8());
  if (flags & 0x20) c.skip(2);
  const dc = descriptor();
  if (dc.tag !== 0x04) return { objectType: 0, specific: undefined };
  const objectType = c.u8();
  c.skip(12); // streamType, bufferSizeDB, maxBitrate, avgBitrate
  let specific: Uint8Array | undefined;
  if (c.o < dc.end) {
    const si = descriptor();
    if (si.tag === 0x05) specific = bytes.slice(c.o, si.end);
  }
  return { objectType, specific };
}

function tableError(trackId: number, what: string): Mp4FormatError {
  return new Mp4FormatError(
    Mp4ErrorCode.BadSampleTable,
    `Cannot read track ${trackId}'s sample table: ${what}`,
  );
}

/**
 * A sample count is checked before anything is allocated for it: at most
 * {@link MAX_TRACK_SAMPLES}, and at most one per byte of the file (a table claiming more
 * samples than the file has bytes is made up).
 */
function checkCount(trackId: number, count: number, fileSize: number): void {
  if (count > MAX_TRACK_SAMPLES || count > fileSize) {
    throw new Mp4FormatError(
      Mp4ErrorCode.TooLarge,
      `Cannot read track ${trackId}: ${count} samples, over ${
        Math.min(MAX_TRACK_SAMPLES, fileSize)
      } (the limit, or the file's size in bytes)`,
    );
  }
}

function parseSampleTable(
  bytes: Uint8Array,
  stbl: BoxHeader,
  trackId: number,
  fileSize: number,
): SampleTable {
  const kids = childBoxes(bytes, stbl.start + stbl.headerBytes, stbl.end);
  const get = (t: string) => kids.find((b) => b.type === t);

  // Sizes (stsz or stz2).
  let count: number;
  let sizes: Uint32Array;
  const stsz = get("stsz");
  const stz2 = get("stz2");
  if (stsz) {
    const { c } = fullBox(bytes, stsz);
    const constant = c.u32();
    count = c.u32();
    checkCount(trackId, count, fileSize);
    sizes = new Uint32Array(count);
    if (constant !== 0) sizes.fill(constant);
    else {
      c.need(count * 4, "stsz entries");
      for (let i = 0; i < count; i++) sizes[i] = c.u32();
    }
  } else if (stz2) {
    const { c } = fullBox(bytes, stz2);
    c.skip(3);
    const field = c.u8();
    count = c.u32();
    if (![4, 8, 16].includes(field)) {
      throw tableError(trackId, `stz2 field ${field}`);
    }
    checkCount(trackId, count, fileSize);
    sizes = new Uint32Array(count);
    c.need(Math.ceil((count * field) / 8), "stz2 entries");
    for (let i = 0; i < count; i++) {
      if (field === 16) sizes[i] = c.u16();
      else if (field === 8) sizes[i] = c.u8();
      else {
        const b = bytes[c.o + (i >> 1)]!;
        sizes[i] = i & 1 ? b & 0x0f : b >> 4;
      }
    }
  } else {
    count = 0;
    sizes = new Uint32Array(0);
  }
  const b = new SampleTableBuilder(count);
  if (count === 0) return b.finish();

  // Decoding times (stts).
  const dts = new Float64Array(count);
  const dur = new Uint32Array(count);
  const stts = get("stts");
  if (!stts) throw tableError(trackId, "no stts");
  {
    const { c } = fullBox(bytes, stts);
    const n = c.u32();
    c.need(n * 8, "stts entries");
    let i = 0;
    let t = 0;
    for (let e = 0; e < n && i < count; e++) {
      const run = c.u32();
      const delta = c.u32();
      for (let k = 0; k < run && i < count; k++, i++) {
        dts[i] = t;
        dur[i] = delta;
        t += delta;
      }
    }
    if (i < count) {
      throw tableError(trackId, `stts covers ${i} of ${count} samples`);
    }
  }

  // Composition offsets (ctts). Version 0 is unsigned by the letter of the spec, but writers
  // put negative offsets there too; read both as signed 32-bit, as ffmpeg does.
  const cts = new Int32Array(count);
  const ctts = get("ctts");
  if (ctts) {
    const { c } = fullBox(bytes, ctts);
    const n = c.u32();
    c.need(n * 8, "ctts entries");
    let i = 0;
    for (let e = 0; e < n && i < count; e++) {
      const run = c.u32();
      const off = c.i32();
      for (let k = 0; k < run && i < count; k++) cts[i++] = off;
    }
  }

  // Sync samples (stss); none means every sample is one.
  let sync: Uint8Array | undefined;
  const stss = get("stss");
  if (stss) {
    sync = new Uint8Array(count);
    const { c } = fullBox(bytes, stss);
    const n = c.u32();
    c.need(n * 4, "stss entries");
    for (let e = 0; e < n; e++) {
      const s = c.u32();
      if (s >= 1 && s <= count) sync[s - 1] = 1;
    }
  }

  // Chunk offsets (stco/co64) and sample-to-chunk runs (stsc).
  const stco = get("stco") ?? get("co64");
  const stsc = get("stsc");
  if (!stco || !stsc) throw tableError(trackId, "no stco/co64 or stsc");
  const chunks: number[] = [];
  {
    const { c } = fullBox(bytes, stco);
    const n = c.u32();
    const wide = stco.type === "co64";
    c.need(n * (wide ? 8 : 4), "chunk offsets");
    for (let i = 0; i < n; i++) chunks.push(wide ? c.u64() : c.u32());
  }
  const runs: { first: number; perChunk: number }[] = [];
  {
    const { c } = fullBox(bytes, stsc);
    const n = c.u32();
    c.need(n * 12, "stsc entries");
    for (let i = 0; i < n; i++) {
      const first = c.u32();
      const perChunk = c.u32();
      c.u32(); // sample_description_index
      if (first < 1 || (runs.length && first <= runs[runs.length - 1]!.first)) {
        throw tableError(trackId, `stsc first_chunk ${first} out of order`);
      }
      runs.push({ first, perChunk });
    }
  }
  let s = 0;
  for (let r = 0; r < runs.length && s < count; r++) {
    const run = runs[r]!;
    const last = r + 1 < runs.length ? runs[r + 1]!.first - 1 : chunks.length;
    for (let ch = run.first; ch <= last && s < count; ch++) {
      let off = chunks[ch - 1];
      if (off === undefined) {
        throw tableError(trackId, `chunk ${ch} has no offset`);
      }
      for (let k = 0; k < run.perChunk && s < count; k++, s++) {
        const size = sizes[s]!;
        if (off + size > fileSize) {
          throw new Mp4FormatError(
            Mp4ErrorCode.SamplePastEnd,
            `Cannot read track ${trackId}: sample ${s + 1} ends at ${
              off + size
            }, past the file's ${fileSize} bytes`,
          );
        }
        b.push(
          off,
          size,
          dts[s]!,
          dur[s]!,
          cts[s]!,
          sync ? sync[s] === 1 : true,
        );
        off += size;
      }
    }
  }
  if (s < count) {
    throw tableError(trackId, `chunks hold ${s} of ${count} samples`);
  }
  return b.finish();
}
