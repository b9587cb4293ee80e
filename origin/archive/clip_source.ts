/**
 * Where a clip's frames come from, as the VOD machinery reads them (a {@link MediaFile}: a
 * sample index over one file):
 *
 * - a library file: its own index (the library's cache);
 * - the DVR window: the kept segments of the range read back ({@link TsSampleReader}) into one
 *   payload file of frames (AVCC and raw AAC, copied once, never re-encoded) and an index of
 *   them, on a timeline that starts at the first segment's EXT-X-PROGRAM-DATE-TIME, so that
 *   wall-clock times of the request become seconds of the payload.
 *
 * Within a publish session the segments' own timestamps keep frames exactly where they were;
 * where sessions join (or a segment is missing) the next run is placed by its PDT, never
 * before the end of the run before it.
 *
 * @module
 */

import { concatBytes } from "../../codec/bytes/concat.ts";
import { TsSampleReader } from "../../codec/mpegts/mod.ts";
import {
  SampleTableBuilder,
  type TrackIndex,
} from "../../codec/samples/mod.ts";
import { Library, type MediaFile } from "../vod/mod.ts";
import type { DvrSegment } from "./dvr_store.ts";
import { ArchiveError, ArchiveErrorCode, isDiskFull } from "./errors.ts";
import { writeAll } from "./files.ts";

/** The timescale of tracks read from the DVR (MPEG-TS's own 90 kHz: nothing is rounded). */
export const DVR_TIMESCALE = 90_000;
/** Payload bytes gathered before each write. */
const WRITE_BATCH_BYTES = 1024 * 1024;

/** A clip's source: its index and the wall clock of its time 0 (DVR sources). */
export interface ClipMedia {
  readonly media: MediaFile;
  /** Epoch ms at the payload's time 0 (DVR), or `undefined` (a library file). */
  readonly t0Ms: number | undefined;
  /** Files to remove when the clip is done. */
  readonly temporary: readonly string[];
}

/** Options of {@link dvrMedia}. */
export interface DvrMediaOptions {
  readonly signal?: AbortSignal | undefined;
  /** Told the fraction (0..1) of segments read. */
  readonly onProgress?: ((fraction: number) => void) | undefined;
  /**
   * Bytes left empty before the payload (room for an MP4 head written there later): the
   * samples' offsets count from the file's start, so they point past it. @default 0
   */
  readonly reserveBytes?: number | undefined;
}

interface TrackBuild {
  readonly builder: SampleTableBuilder;
  lastDts: number | undefined;
}

/**
 * Reads `segments` (kept in `dir`) into a payload file at `payloadPath` and indexes it.
 *
 * @throws {ArchiveError} `ARCHIVE_NOT_FOUND` when a segment left the window meanwhile,
 *   `ARCHIVE_UNSUPPORTED` for a stream whose video is not H.264 or audio not AAC,
 *   `ARCHIVE_DISK_FULL`, `ARCHIVE_CANCELLED`, `ARCHIVE_IO`.
 */
export async function dvrMedia(
  dir: string,
  segments: readonly DvrSegment[],
  payloadPath: string,
  options: DvrMediaOptions = {},
): Promise<ClipMedia> {
  const first = segments[0];
  if (!first) {
    throw new ArchiveError(
      ArchiveErrorCode.NotFound,
      "Cannot clip: no segment",
    );
  }
  const t0 = first.programDateTimeMs;
  const reader = new TsSampleReader();
  const video: TrackBuild = {
    builder: new SampleTableBuilder(8192),
    lastDts: undefined,
  };
  const audio: TrackBuild = {
    builder: new SampleTableBuilder(8192),
    lastDts: undefined,
  };
  const out = await Deno.open(payloadPath, {
    write: true,
    create: true,
    truncate: true,
  });
  const reserve = options.reserveBytes ?? 0;
  // The room stays a hole (a sparse file): the head is written there at the end.
  if (reserve > 0) await out.seek(reserve, Deno.SeekMode.Start);
  let offset = reserve;
  let batch: Uint8Array[] = [];
  let batchBytes = 0;
  // One write per batch: a write per frame is an async op per frame (43,000 for 10 minutes:
  // 1.6 s of the 2 s a clip took).
  const flush = async () => {
    if (batchBytes > 0) await writeAll(out, concatBytes(batch, batchBytes));
    batch = [];
    batchBytes = 0;
  };
  // Where the current run of segments (one session, no gap) sits on the payload's timeline.
  let shiftMs = 0;
  let prev: DvrSegment | undefined;
  let endMs = 0;
  try {
    for (let i = 0; i < segments.length; i++) {
      if (options.signal?.aborted) {
        throw new ArchiveError(ArchiveErrorCode.Cancelled, "Cancelled");
      }
      const seg = segments[i]!;
      const joins = !prev || seg.session !== prev.session ||
        seg.discontinuity ||
        seg.sequence !== prev.sequence + 1;
      let bytes: Uint8Array;
      try {
        bytes = await Deno.readFile(`${dir}/${seg.name}`);
      } catch (cause) {
        throw new ArchiveError(
          ArchiveErrorCode.NotFound,
          `Cannot clip: segment ${seg.name} left the window while the clip was cut`,
          { cause },
        );
      }
      let samples;
      try {
        samples = reader.read(bytes, seg.mediaStartMs);
      } catch (cause) {
        throw new ArchiveError(
          ArchiveErrorCode.Io,
          `Cannot clip: segment ${seg.name} is not valid MPEG-TS`,
          { cause },
        );
      }
      if (joins) {
        // By its PDT, but never before what came already. EXT-X-PROGRAM-DATE-TIME is the
        // time of the segment's first displayed frame (RFC 8216 §4.3.2.6): the keyframe's
        // presentation time, a reorder delay after its decoding time when there are B-frames.
        const first = samples.find((x) => x.kind === "video") ?? samples[0];
        const anchor = first?.ptsMs ?? seg.mediaStartMs;
        shiftMs = Math.max(seg.programDateTimeMs - t0, endMs) - anchor;
      }
      for (const s of samples) {
        const t = s.kind === "video" ? video : audio;
        const dts = Math.round((s.dtsMs + shiftMs) * (DVR_TIMESCALE / 1000));
        const cts = Math.round((s.ptsMs - s.dtsMs) * (DVR_TIMESCALE / 1000));
        // Decode order never goes back (a clamp where two runs meet).
        const at = t.lastDts === undefined ? dts : Math.max(dts, t.lastDts + 1);
        if (t.lastDts !== undefined) t.builder.setLastDuration(at - t.lastDts);
        t.builder.push(offset, s.data.byteLength, at, 0, cts, s.sync);
        t.lastDts = at;
        offset += s.data.byteLength;
        batch.push(s.data);
        batchBytes += s.data.byteLength;
        if (batchBytes >= WRITE_BATCH_BYTES) await flush();
        endMs = Math.max(endMs, (at * 1000) / DVR_TIMESCALE);
      }
      endMs = Math.max(
        endMs,
        seg.programDateTimeMs - t0 + seg.durationMs,
      );
      prev = seg;
      options.onProgress?.((i + 1) / segments.length);
    }
    await flush();
    await out.syncData();
  } catch (err) {
    out.close();
    await Deno.remove(payloadPath).catch(() => {});
    if (err instanceof ArchiveError) throw err;
    if (isDiskFull(err)) {
      throw new ArchiveError(
        ArchiveErrorCode.DiskFull,
        "Cannot clip: the disk is full",
        { cause: err },
      );
    }
    throw new ArchiveError(ArchiveErrorCode.Io, "Cannot clip", { cause: err });
  }
  out.close();
  if (
    reader.unsupported.size > 0 && !reader.config.video && !reader.config.audio
  ) {
    throw new ArchiveError(
      ArchiveErrorCode.Unsupported,
      `Cannot clip: the stream carries ${[...reader.unsupported].join(", ")}`,
    );
  }
  const tracks: TrackIndex[] = [];
  const cfg = reader.config;
  const lastDuration = (t: TrackBuild, fallback: number) => {
    t.builder.setLastDuration(fallback);
  };
  if (cfg.video && video.builder.count > 0) {
    lastDuration(video, Math.round(DVR_TIMESCALE / 25));
    tracks.push({
      kind: "video",
      codec: "h264",
      timescale: DVR_TIMESCALE,
      config: cfg.video.config,
      sampleEntry: undefined,
      width: cfg.video.width,
      height: cfg.video.height,
      mediaTime: 0,
      samples: video.builder.finish(),
    });
  }
  if (cfg.audio && audio.builder.count > 0) {
    lastDuration(
      audio,
      Math.round((1024 * DVR_TIMESCALE) / cfg.audio.sampleRate),
    );
    tracks.push({
      kind: "audio",
      codec: "aac",
      timescale: DVR_TIMESCALE,
      config: cfg.audio.config,
      sampleEntry: undefined,
      sampleRate: cfg.audio.sampleRate,
      channels: cfg.audio.channels,
      mediaTime: 0,
      samples: audio.builder.finish(),
    });
  }
  if (tracks.length === 0) {
    throw new ArchiveError(
      ArchiveErrorCode.Unsupported,
      "Cannot clip: no H.264 video or AAC audio in the range",
    );
  }
  let durationMs = 0;
  for (const t of tracks) {
    const s = t.samples;
    durationMs = Math.max(
      durationMs,
      ((s.dts[s.count - 1]! + s.duration[s.count - 1]!) * 1000) / t.timescale,
    );
  }
  const slash = payloadPath.lastIndexOf("/");
  const media: MediaFile = {
    file: {
      library: new Library({ path: payloadPath.slice(0, slash), prefix: "/" }),
      relPath: payloadPath.slice(slash + 1),
      realPath: payloadPath,
      size: offset,
      mtimeMs: Date.now(),
    },
    index: { container: "mp4", fileSize: offset, durationMs, tracks },
    flvMetadata: {},
    moovAtStart: undefined,
    fragmented: false,
    skipped: [],
    indexBytes: 0,
  };
  return { media, t0Ms: t0, temporary: [payloadPath] };
}
