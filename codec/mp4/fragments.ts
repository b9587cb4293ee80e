/**
 * Samples of a fragmented MP4 (ISO/IEC 14496-12 §8.8): each `moof` box's track fragments
 * (`traf`: `tfhd`, `tfdt`, `trun`) appended to the tracks `moov` declared.
 *
 * @module
 */

import { SampleTableBuilder } from "../samples/table.ts";
import type { SampleTable } from "../samples/types.ts";
import { type BoxHeader, childBoxes, readBoxHeader } from "./box.ts";
import { Mp4ErrorCode, Mp4FormatError } from "./errors.ts";
import { MAX_TRACK_SAMPLES, type Mp4Movie, type Mp4Track } from "./movie.ts";

/** `tfhd` flags (§8.8.7.1). */
const TFHD = {
  BaseDataOffset: 0x000001,
  SampleDescriptionIndex: 0x000002,
  DefaultDuration: 0x000008,
  DefaultSize: 0x000010,
  DefaultFlags: 0x000020,
  DefaultBaseIsMoof: 0x020000,
} as const;
/** `trun` flags (§8.8.8.1). */
const TRUN = {
  DataOffset: 0x000001,
  FirstSampleFlags: 0x000004,
  Duration: 0x000100,
  Size: 0x000200,
  Flags: 0x000400,
  CompositionOffset: 0x000800,
} as const;
/** sample_flags bit `sample_is_non_sync_sample` (§8.8.3.1). */
const NON_SYNC = 0x0001_0000;

interface TrackState {
  readonly track: Mp4Track;
  readonly builder: SampleTableBuilder;
  readonly defaults: {
    duration: number;
    size: number;
    flags: number;
  };
}

/**
 * Appends the samples of `moof` boxes, in file order, to a fragmented movie's tracks.
 *
 * @example
 * ```ts ignore
 * const frag = new Mp4Fragments(movie, fileSize);
 * frag.push(moofBytes, moofOffsetInFile);
 * const tracks = frag.finish();
 * ```
 */
export class Mp4Fragments {
  readonly #states = new Map<number, TrackState>();
  readonly #fileSize: number;

  constructor(movie: Mp4Movie, fileSize: number) {
    this.#fileSize = fileSize;
    for (const track of movie.tracks) {
      const ext = movie.extends?.find((e) => e.trackId === track.trackId);
      const builder = new SampleTableBuilder(track.samples.count + 1024);
      const s = track.samples;
      for (let i = 0; i < s.count; i++) {
        builder.push(
          s.offset[i]!,
          s.size[i]!,
          s.dts[i]!,
          s.duration[i]!,
          s.cts[i]!,
          s.sync === undefined || s.sync[i] === 1,
        );
      }
      this.#states.set(track.trackId, {
        track,
        builder,
        defaults: {
          duration: ext?.defaultSampleDuration ?? 0,
          size: ext?.defaultSampleSize ?? 0,
          flags: ext?.defaultSampleFlags ?? 0,
        },
      });
    }
  }

  /**
   * Reads one `moof` box.
   *
   * @param moof The whole box, header included.
   * @param fileOffset Where it starts in the file (data offsets count from there).
   * @throws {Mp4FormatError} For malformed boxes or samples past the file's end.
   */
  push(moof: Uint8Array, fileOffset: number): void {
    const top = readBoxHeader(moof, 0, moof.length);
    if (!top || top.type !== "moof" || top.end > moof.length) {
      throw new Mp4FormatError(
        Mp4ErrorCode.BadBox,
        `Cannot read fragment at ${fileOffset}: not a whole moof box`,
      );
    }
    let previousEnd = fileOffset; // base of a traf without its own (§8.8.7.1)
    for (const traf of childBoxes(moof, top.headerBytes, top.end)) {
      if (traf.type !== "traf") continue;
      previousEnd = this.#traf(moof, traf, fileOffset, previousEnd);
    }
  }

  #traf(
    bytes: Uint8Array,
    traf: BoxHeader,
    moofOffset: number,
    previousEnd: number,
  ): number {
    const kids = childBoxes(bytes, traf.start + traf.headerBytes, traf.end);
    const tfhd = kids.find((b) => b.type === "tfhd");
    if (!tfhd) return previousEnd;
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let o = tfhd.start + tfhd.headerBytes;
    const need = (box: BoxHeader, n: number) => {
      if (o + n > box.end) {
        throw new Mp4FormatError(
          Mp4ErrorCode.Truncated,
          `Cannot read ${box.type} at ${moofOffset + box.start}: cut short`,
        );
      }
    };
    need(tfhd, 8);
    const tfFlags = v.getUint32(o) & 0xffffff;
    const trackId = v.getUint32(o + 4);
    o += 8;
    const state = this.#states.get(trackId);
    if (!state) return previousEnd; // a track we do not serve
    let base = tfFlags & TFHD.DefaultBaseIsMoof ? moofOffset : previousEnd;
    if (tfFlags & TFHD.BaseDataOffset) {
      need(tfhd, 8);
      base = v.getUint32(o) * 0x1_0000_0000 + v.getUint32(o + 4);
      o += 8;
    }
    if (tfFlags & TFHD.SampleDescriptionIndex) o += 4;
    let defDuration = state.defaults.duration;
    let defSize = state.defaults.size;
    let defFlags = state.defaults.flags;
    if (tfFlags & TFHD.DefaultDuration) {
      need(tfhd, 4);
      defDuration = v.getUint32(o);
      o += 4;
    }
    if (tfFlags & TFHD.DefaultSize) {
      need(tfhd, 4);
      defSize = v.getUint32(o);
      o += 4;
    }
    if (tfFlags & TFHD.DefaultFlags) {
      need(tfhd, 4);
      defFlags = v.getUint32(o);
      o += 4;
    }
    const b = state.builder;
    let dts = b.endDts;
    const tfdt = kids.find((k) => k.type === "tfdt");
    if (tfdt) {
      o = tfdt.start + tfdt.headerBytes;
      need(tfdt, 8);
      const version = bytes[o]!;
      if (version === 1) {
        need(tfdt, 12);
        dts = v.getUint32(o + 4) * 0x1_0000_0000 + v.getUint32(o + 8);
      } else dts = v.getUint32(o + 4);
    }
    let end = base;
    for (const trun of kids) {
      if (trun.type !== "trun") continue;
      o = trun.start + trun.headerBytes;
      need(trun, 8);
      const version = bytes[o]!;
      const flags = v.getUint32(o) & 0xffffff;
      const n = v.getUint32(o + 4);
      o += 8;
      if (b.count + n > MAX_TRACK_SAMPLES) {
        throw new Mp4FormatError(
          Mp4ErrorCode.TooLarge,
          `Cannot read track ${trackId}: over ${MAX_TRACK_SAMPLES} samples`,
        );
      }
      let dataOffset = end;
      if (flags & TRUN.DataOffset) {
        need(trun, 4);
        dataOffset = base + v.getInt32(o);
        o += 4;
      }
      let firstFlags: number | undefined;
      if (flags & TRUN.FirstSampleFlags) {
        need(trun, 4);
        firstFlags = v.getUint32(o);
        o += 4;
      }
      const per = ((flags & TRUN.Duration) ? 4 : 0) +
        ((flags & TRUN.Size) ? 4 : 0) + ((flags & TRUN.Flags) ? 4 : 0) +
        ((flags & TRUN.CompositionOffset) ? 4 : 0);
      need(trun, per * n);
      for (let i = 0; i < n; i++) {
        const duration = flags & TRUN.Duration
          ? v.getUint32((o += 4) - 4)
          : defDuration;
        const size = flags & TRUN.Size ? v.getUint32((o += 4) - 4) : defSize;
        let sflags = flags & TRUN.Flags ? v.getUint32((o += 4) - 4) : defFlags;
        if (i === 0 && firstFlags !== undefined) sflags = firstFlags;
        const cts = flags & TRUN.CompositionOffset
          ? (version === 0
            ? v.getUint32((o += 4) - 4) | 0
            : v.getInt32((o += 4) - 4))
          : 0;
        if (dataOffset + size > this.#fileSize) {
          throw new Mp4FormatError(
            Mp4ErrorCode.SamplePastEnd,
            `Cannot read track ${trackId}: a fragment's sample ends at ${
              dataOffset + size
            }, past the file's ${this.#fileSize} bytes`,
          );
        }
        const sync = state.track.kind === "audio" || (sflags & NON_SYNC) === 0;
        b.push(dataOffset, size, dts, duration, cts, sync);
        dts += duration;
        dataOffset += size;
      }
      end = dataOffset;
    }
    return end;
  }

  /** The tracks with every sample read so far. */
  finish(): Mp4Track[] {
    return [...this.#states.values()].map((s) => ({
      ...s.track,
      samples: s.builder.finish() as SampleTable,
    }));
  }
}
