/**
 * Frame-exact clips: only the partial GOPs at the two ends are re-encoded (ffmpeg, libx264,
 * the source's profile, level and size), everything between is copied as it is.
 *
 * A cut on keyframes starts up to a GOP early and ends up to a GOP late (the complaint about
 * MediaMTX, Monibuca and ZLMediaKit clips: 3 s to minutes off). Here:
 *
 * 1. The GOP holding the start is decoded and its frames from the start on are encoded as a
 *    new GOP that begins with an IDR frame at exactly the start; the same for the frames
 *    before the end in the GOP holding the end. Without B-frames (decode order is display
 *    order), each new frame keeps the display time of the frame it replaces.
 * 2. The new frames carry parameter sets with an id the source does not use (x264
 *    `sps-id`), and the clip's decoder configuration lists both the source's and the new
 *    ones (an avcC holds up to 31 SPS): each slice names its own, so one track plays across
 *    the splices with no decoder reset and no edit list (FLV and HLS have none).
 * 3. Decode times of the new frames sit a fixed reorder delay before their display times,
 *    so the copied frames that follow (with B-frames) still decode after them.
 *
 * Audio is cut on its frames (about 21 ms at 48 kHz), never re-encoded.
 *
 * @module
 */

import {
  decodeAvcDecoderConfig,
  encodeAvcDecoderConfig,
  NaluType,
  naluType,
  parameterSetIds,
  splitAnnexB,
} from "../../codec/h264/mod.ts";
import { concatBytes } from "../../codec/bytes/concat.ts";
import { planMp4 } from "../../codec/mp4/mod.ts";
import {
  isSync,
  presentationTicks,
  SampleTableBuilder,
  type TrackIndex,
} from "../../codec/samples/mod.ts";
import { Library, type MediaFile } from "../vod/mod.ts";
import type { ClipMedia } from "./clip_source.ts";
import { ArchiveError, ArchiveErrorCode, isDiskFull } from "./errors.ts";
import { writeAll } from "./files.ts";
import { writePieces } from "./finalize.ts";

/** libx264 quality of the re-encoded frames (visually lossless at CRF 16, x264 docs). */
export const EXACT_CRF = 16;
/** One ffmpeg run (a GOP) may take at most this long (ms). */
export const EXACT_FFMPEG_TIMEOUT_MS = 60_000;
/** Source bytes read at once while copying. */
const COPY_BLOCK_BYTES = 4 * 1024 * 1024;
/** libx264 profile names by profile_idc (H.264 Annex A). */
const X264_PROFILES: Readonly<Record<number, string>> = {
  66: "baseline",
  77: "main",
  100: "high",
};

/** Options of {@link exactCut}. */
export interface ExactOptions {
  /** Scratch space (the GOPs handed to ffmpeg, the clip's payload). */
  readonly workDir: string;
  /** The ffmpeg binary ("" = `ffmpeg` on PATH). */
  readonly ffmpegPath: string;
  readonly signal?: AbortSignal | undefined;
}

/** One video sample of the clip: copied from the source, or made by the encoder. */
type OutSample =
  | { readonly kind: "copy"; readonly i: number }
  | {
    readonly kind: "new";
    readonly data: Uint8Array;
    readonly pts: number;
    readonly dts: number;
    readonly sync: boolean;
  };

/** The re-encoded frames of one partial GOP, and the parameter sets they refer to. */
interface Encoded {
  readonly frames: Uint8Array[];
  readonly sps: Uint8Array;
  readonly pps: Uint8Array;
}

function cancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new ArchiveError(ArchiveErrorCode.Cancelled, "Cancelled");
  }
}

/**
 * The clip `[startSeconds, endSeconds)` of `media`, frame-exact, as a new payload and index
 * (its time 0 is the start).
 *
 * @throws {ArchiveError} `ARCHIVE_UNSUPPORTED` for video other than 8-bit H.264
 *   baseline/main/high, `ARCHIVE_TOOL` when ffmpeg is missing or fails,
 *   `ARCHIVE_DISK_FULL`, `ARCHIVE_CANCELLED`, `ARCHIVE_IO`.
 */
export async function exactCut(
  media: MediaFile,
  startSeconds: number,
  endSeconds: number,
  options: ExactOptions,
): Promise<ClipMedia> {
  const tracks = media.index.tracks;
  const video = tracks.find((t) => t.kind === "video");
  const audio = tracks.find((t) => t.kind === "audio");
  if (video && video.codec !== "h264") {
    throw new ArchiveError(
      ArchiveErrorCode.Unsupported,
      `Cannot cut ${video.codec} video frame-exactly: only H.264 is re-encoded (cut on keyframes without exact)`,
    );
  }
  const out: { track: TrackIndex; samples: OutSample[]; shift: number }[] = [];
  let config = video?.config;
  if (video) {
    const plan = planVideo(video, startSeconds, endSeconds);
    const samples: OutSample[] = [];
    let extra: { sps: Uint8Array[]; pps: Uint8Array[] } | undefined;
    const src = video.config ? decodeAvcDecoderConfig(video.config) : undefined;
    if (!src) {
      throw new ArchiveError(
        ArchiveErrorCode.Unsupported,
        "Cannot cut frame-exactly: the video has no decoder configuration",
      );
    }
    const used = new Set<number>();
    for (const n of [...src.sps, ...src.pps]) {
      try {
        const ids = parameterSetIds(n);
        used.add(ids.sps);
        if (ids.pps !== undefined) used.add(ids.pps);
      } catch {
        // unreadable: ids 0 is the likely one
        used.add(0);
      }
    }
    let id = 0;
    while (used.has(id)) id++;
    if (id > 31) {
      throw new ArchiveError(
        ArchiveErrorCode.Unsupported,
        "Cannot cut frame-exactly: the source uses every parameter set id",
      );
    }
    const profile = X264_PROFILES[src.profileIndication];
    if (!profile) {
      throw new ArchiveError(
        ArchiveErrorCode.Unsupported,
        `Cannot cut frame-exactly: H.264 profile ${src.profileIndication} is not re-encoded (baseline, main and high are)`,
      );
    }
    for (const part of plan.parts) {
      cancelled(options.signal);
      if (part.kind === "copy") {
        for (let i = part.first; i < part.end; i++) {
          samples.push({ kind: "copy", i });
        }
        continue;
      }
      const enc = await encodePartialGop(media, video, part, {
        ...options,
        id,
        profile,
        level: src.levelIndication,
      });
      extra ??= { sps: [enc.sps], pps: [enc.pps] };
      // Display times of the frames they replace; decode times a fixed delay before, so the
      // copied frames after them (with their own reorder delay) still decode later.
      const delay = part.reorderDelay;
      enc.frames.forEach((data, k) => {
        const pts = part.pts[k]!;
        samples.push({
          kind: "new",
          data,
          pts,
          dts: pts - delay,
          sync: k === 0,
        });
      });
    }
    if (extra) {
      config = encodeAvcDecoderConfig({
        ...src,
        sps: [...src.sps, ...extra.sps],
        pps: [...src.pps, ...extra.pps],
      });
    }
    out.push({
      track: { ...video, config },
      samples,
      shift: Math.round(startSeconds * video.timescale),
    });
  }
  if (audio) {
    const a0 = Math.round(startSeconds * audio.timescale);
    const a1 = Math.round(endSeconds * audio.timescale);
    const s = audio.samples;
    const samples: OutSample[] = [];
    for (let i = 0; i < s.count; i++) {
      const p = presentationTicks(audio, i);
      if (p + s.duration[i]! > a0 && p < a1) samples.push({ kind: "copy", i });
    }
    out.push({ track: audio, samples, shift: a0 });
  }
  return await writeClip(media, out, options);
}

/** A run of the source's video samples to copy, or a partial GOP to re-encode. */
type VideoPart =
  | { readonly kind: "copy"; readonly first: number; readonly end: number }
  | {
    readonly kind: "encode";
    /** The GOP: decode-order samples `[first, end)`. */
    readonly first: number;
    readonly end: number;
    /** Display-order frames of the GOP to keep: `[from, to)`. */
    readonly from: number;
    readonly to: number;
    /** Display times (ticks) of the kept frames, in display order. */
    readonly pts: readonly number[];
    /** PTS − DTS of the first copied frame after it (0 when none follows). */
    readonly reorderDelay: number;
  };

/** Splits the range into copied GOPs and the partial ones at its ends. */
export function planVideo(
  video: TrackIndex,
  startSeconds: number,
  endSeconds: number,
): { parts: VideoPart[] } {
  const s = video.samples;
  const t0 = Math.round(startSeconds * video.timescale);
  const t1 = Math.round(endSeconds * video.timescale);
  const keys: number[] = [];
  for (let i = 0; i < s.count; i++) if (isSync(s, i)) keys.push(i);
  if (keys.length === 0) {
    throw new ArchiveError(
      ArchiveErrorCode.Unsupported,
      "Cannot cut: the video has no keyframe",
    );
  }
  // GOP g is [keys[g], keys[g+1]); a frame belongs to the GOP it is decoded in.
  const gops = keys.map((k, g) => ({
    first: k,
    end: keys[g + 1] ?? s.count,
  }));
  const wanted = (i: number) => {
    const p = presentationTicks(video, i);
    return p >= t0 && p < t1;
  };
  const parts: VideoPart[] = [];
  for (let g = 0; g < gops.length; g++) {
    const { first, end } = gops[g]!;
    let inRange = 0;
    for (let i = first; i < end; i++) if (wanted(i)) inRange++;
    if (inRange === 0) continue;
    if (inRange === end - first) {
      const last = parts[parts.length - 1];
      if (last?.kind === "copy" && last.end === first) {
        parts[parts.length - 1] = { kind: "copy", first: last.first, end };
      } else parts.push({ kind: "copy", first, end });
      continue;
    }
    const display = [];
    for (let i = first; i < end; i++) display.push(presentationTicks(video, i));
    display.sort((a, b) => a - b);
    const from = display.findIndex((p) => p >= t0);
    let to = display.length;
    while (to > 0 && display[to - 1]! >= t1) to--;
    parts.push({
      kind: "encode",
      first,
      end,
      from,
      to,
      pts: display.slice(from, to),
      reorderDelay: 0, // set below, once the part after it is known
    });
  }
  // New frames decode a keyframe's composition offset (PTS − DTS) before they show, so the
  // keyframe after them (and its B-frames) still decodes after the last of them.
  for (let k = 0; k < parts.length; k++) {
    const p = parts[k]!;
    if (p.kind !== "encode") continue;
    const n = parts[k + 1];
    parts[k] = { ...p, reorderDelay: n ? Math.max(0, s.cts[n.first]!) : 0 };
  }
  return { parts };
}

/** Decodes one GOP with ffmpeg and encodes its display-order frames `[from, to)` anew. */
async function encodePartialGop(
  media: MediaFile,
  video: TrackIndex,
  part: Extract<VideoPart, { kind: "encode" }>,
  o: ExactOptions & { id: number; profile: string; level: number },
): Promise<Encoded> {
  const gopPath = `${o.workDir}/gop-${part.first}.mp4`;
  const outPath = `${o.workDir}/gop-${part.first}.h264`;
  const startMs = (presentationTicks(video, part.first) * 1000) /
    video.timescale;
  // The GOP alone, as an MP4 that starts showing at its keyframe (copied by range).
  const plan = planMp4([{ track: video, first: part.first, end: part.end }], {
    startMs,
  });
  await writePieces(
    media.file.realPath,
    {
      size: plan.size,
      pieces: () => [plan.head, ...plan.ranges],
    },
    gopPath,
    { signal: o.signal },
  );
  const level = (o.level / 10).toFixed(1);
  const args = [
    "-v",
    "error",
    "-nostdin",
    "-i",
    gopPath,
    "-an",
    "-vf",
    `trim=start_frame=${part.from}:end_frame=${part.to},setpts=PTS-STARTPTS`,
    "-c:v",
    "libx264",
    "-preset",
    "veryfast",
    "-crf",
    String(EXACT_CRF),
    "-profile:v",
    o.profile,
    "-level",
    level,
    "-pix_fmt",
    "yuv420p",
    "-bf",
    "0",
    "-x264-params",
    `sps-id=${o.id}:aud=1:scenecut=0:keyint=100000:open-gop=0`,
    "-f",
    "h264",
    "-y",
    outPath,
  ];
  let result: Deno.CommandOutput;
  try {
    const child = new Deno.Command(o.ffmpegPath || "ffmpeg", {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const kill = () => {
      try {
        child.kill("SIGKILL");
      } catch {
        // gone already
      }
    };
    const timer = setTimeout(kill, EXACT_FFMPEG_TIMEOUT_MS);
    o.signal?.addEventListener("abort", kill, { once: true });
    try {
      result = await child.output();
    } finally {
      clearTimeout(timer);
      o.signal?.removeEventListener("abort", kill);
    }
  } catch (cause) {
    throw new ArchiveError(
      ArchiveErrorCode.Tool,
      `Cannot cut frame-exactly: ffmpeg cannot run (${
        cause instanceof Error ? cause.message : cause
      })`,
      { cause },
    );
  }
  cancelled(o.signal);
  if (!result.success) {
    throw new ArchiveError(
      ArchiveErrorCode.Tool,
      `Cannot cut frame-exactly: ffmpeg failed (${
        new TextDecoder().decode(result.stderr).trim().slice(0, 300)
      })`,
    );
  }
  const stream = await Deno.readFile(outPath);
  const frames: Uint8Array[] = [];
  let current: Uint8Array[] | undefined;
  let sps: Uint8Array | undefined;
  let pps: Uint8Array | undefined;
  const flush = () => {
    if (current && current.length > 0) frames.push(avcc(current));
    current = undefined;
  };
  for (const n of splitAnnexB(stream)) {
    const t = naluType(n);
    if (t === NaluType.Aud) {
      flush();
      current = [];
    } else if (t === NaluType.Sps) sps ??= n.slice();
    else if (t === NaluType.Pps) pps ??= n.slice();
    else (current ??= []).push(n);
  }
  flush();
  if (!sps || !pps || frames.length !== part.to - part.from) {
    throw new ArchiveError(
      ArchiveErrorCode.Tool,
      `Cannot cut frame-exactly: ffmpeg gave ${frames.length} frames for ${
        part.to - part.from
      }`,
    );
  }
  return { frames, sps, pps };
}

function avcc(nalus: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const n of nalus) size += 4 + n.byteLength;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let o = 0;
  for (const n of nalus) {
    v.setUint32(o, n.byteLength);
    out.set(n, o + 4);
    o += 4 + n.byteLength;
  }
  return out;
}

/** Writes the clip's samples (copied or new) into one payload and indexes it. */
async function writeClip(
  media: MediaFile,
  parts: readonly { track: TrackIndex; samples: OutSample[]; shift: number }[],
  options: ExactOptions,
): Promise<ClipMedia> {
  const payload = `${options.workDir}/exact.bin`;
  const src = await Deno.open(media.file.realPath, { read: true });
  const dst = await Deno.open(payload, {
    write: true,
    create: true,
    truncate: true,
  });
  let block = new Uint8Array(0);
  let blockAt = 0;
  const read = async (offset: number, size: number): Promise<Uint8Array> => {
    if (offset < blockAt || offset + size > blockAt + block.length) {
      const n = Math.max(size, COPY_BLOCK_BYTES);
      const buf = new Uint8Array(n);
      await src.seek(offset, Deno.SeekMode.Start);
      let got = 0;
      while (got < n) {
        const k = await src.read(buf.subarray(got));
        if (k === null) break;
        got += k;
      }
      block = buf.subarray(0, got);
      blockAt = offset;
      if (got < size) {
        throw new ArchiveError(
          ArchiveErrorCode.Io,
          `Cannot cut: the source ends before byte ${offset + size}`,
        );
      }
    }
    return block.subarray(offset - blockAt, offset - blockAt + size);
  };
  const tracks: TrackIndex[] = [];
  let offset = 0;
  let durationMs = 0;
  // Frames gathered and written a block at a time (a write per frame is an op per frame).
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flushPending = async () => {
    if (pendingBytes > 0) {
      await writeAll(dst, concatBytes(pending, pendingBytes));
    }
    pending = [];
    pendingBytes = 0;
  };
  try {
    for (const p of parts) {
      const s = p.track.samples;
      // Decode and display times from the start; mediaTime keeps decode times from going
      // below 0 (the first frames may decode before they show).
      const rows = p.samples.map((x) => {
        if (x.kind === "new") {
          return {
            x,
            dts: x.dts,
            cts: x.pts - x.dts,
            size: x.data.byteLength,
            sync: x.sync,
          };
        }
        return {
          x,
          dts: s.dts[x.i]! - p.track.mediaTime,
          cts: s.cts[x.i]!,
          size: s.size[x.i]!,
          sync: isSync(s, x.i),
        };
      });
      let minDts = Infinity;
      for (const r of rows) minDts = Math.min(minDts, r.dts - p.shift);
      const mediaTime = minDts < 0 ? -minDts : 0;
      const b = new SampleTableBuilder(rows.length + 1);
      let last: number | undefined;
      for (const r of rows) {
        cancelled(options.signal);
        const data = r.x.kind === "new"
          ? r.x.data
          : await read(s.offset[r.x.i]!, r.size);
        pending.push(data);
        pendingBytes += data.byteLength;
        if (pendingBytes >= COPY_BLOCK_BYTES) await flushPending();
        const dts = Math.max(
          r.dts - p.shift + mediaTime,
          last === undefined ? 0 : last + 1,
        );
        if (last !== undefined) b.setLastDuration(dts - last);
        b.push(offset, r.size, dts, 0, r.cts, r.sync);
        last = dts;
        offset += r.size;
      }
      const lastRow = p.samples[p.samples.length - 1];
      b.setLastDuration(
        lastRow?.kind === "copy"
          ? s.duration[lastRow.i]!
          : Math.max(1, s.duration[0] ?? 1),
      );
      const samples = b.finish();
      if (samples.count === 0) continue;
      durationMs = Math.max(
        durationMs,
        ((samples.dts[samples.count - 1]! +
          samples.duration[samples.count - 1]! - mediaTime) *
          1000) / p.track.timescale,
      );
      tracks.push({
        ...p.track,
        sampleEntry: p.track.kind === "video" ? undefined : p.track.sampleEntry,
        mediaTime,
        samples,
      });
    }
    await flushPending();
    await dst.syncData();
  } catch (err) {
    if (err instanceof ArchiveError) throw err;
    if (isDiskFull(err)) {
      throw new ArchiveError(
        ArchiveErrorCode.DiskFull,
        "Cannot cut: the disk is full",
        {
          cause: err,
        },
      );
    }
    throw new ArchiveError(ArchiveErrorCode.Io, "Cannot cut", { cause: err });
  } finally {
    src.close();
    dst.close();
  }
  const slash = payload.lastIndexOf("/");
  return {
    media: {
      file: {
        library: new Library({ path: payload.slice(0, slash), prefix: "/" }),
        relPath: payload.slice(slash + 1),
        realPath: payload,
        size: offset,
        mtimeMs: Date.now(),
      },
      index: { container: "mp4", fileSize: offset, durationMs, tracks },
      flvMetadata: {},
      moovAtStart: undefined,
      fragmented: false,
      skipped: [],
      indexBytes: 0,
    },
    t0Ms: undefined,
    temporary: [payload],
  };
}
