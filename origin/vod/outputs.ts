/**
 * What each VOD output sends: the pieces of a progressive MP4 or FLV for a time range, built
 * from a file's index.
 *
 * Time-range outputs start on the keyframe at or before `start`: the MP4 output rebases time to
 * that keyframe (its `moov` says where presentation begins), the FLV output keeps the file's
 * own timestamps. Why keep them in FLV: an FLV source's tags then go out as the file's own
 * bytes, one range from the keyframe on, neither parsed nor copied; and the stream's time is the
 * file's time, so a player's position after a drag (高速拖拉) reads true. With `accurate`, the
 * MP4's edit list starts presentation at `start` itself (the frames before it are decoded, not
 * shown), and the FLV wraps those frames between the two video command frames of the FLV spec
 * (FrameType 5: start / end of client-side seeking) and names the exact start in `onMetaData`
 * (`accurateStartSeconds`).
 *
 * @module
 */

import {
  FLV_TAG_HEADER_BYTES,
  flvCodecHeaderBytes,
  flvFrameHead,
  flvPrelude,
  flvTagTrailer,
  flvVideoCommand,
  PREVIOUS_TAG_SIZE_BYTES,
  VideoCommand,
} from "../../codec/flv/mod.ts";
import { type Mp4Plan, planMp4 } from "../../codec/mp4/mod.ts";
import {
  isSync,
  presentationTicks,
  sampleAtOrBefore,
  syncSampleFor,
  type TrackIndex,
} from "../../codec/samples/mod.ts";
import type { Piece, PieceSource } from "./body.ts";
import { VodError, VodErrorCode } from "./errors.ts";
import type { MediaFile } from "./media_file.ts";

/** A time range asked for, seconds of the file's presentation. */
export interface TimeRange {
  readonly startSeconds: number;
  readonly endSeconds: number | undefined;
  readonly accurate: boolean;
}

/** Where each track's part of a range begins and ends, and where it is shown from. */
interface RangePlan {
  readonly parts: { track: TrackIndex; first: number; end: number }[];
  /** Presentation time (ms) the output's first shown frame has in the file. */
  readonly showFromMs: number;
  /** The keyframe's presentation time (ms): where decoding starts. */
  readonly keyframeMs: number;
}

function ms(track: TrackIndex, i: number): number {
  return (presentationTicks(track, i) * 1000) / track.timescale;
}

/**
 * Chooses each track's samples for `range`: video from the keyframe at or before the start up
 * to the first keyframe at or after the end (so every frame kept decodes), audio from the frame
 * covering the first shown time to the end.
 *
 * @throws {VodError} `VOD_BAD_REQUEST` when the range lies outside the file.
 */
export function planRange(media: MediaFile, range: TimeRange): RangePlan {
  const duration = media.index.durationMs / 1000;
  if (range.startSeconds >= duration && range.startSeconds > 0) {
    throw new VodError(
      VodErrorCode.BadRequest,
      `Cannot start at ${range.startSeconds} s: the file lasts ${
        duration.toFixed(3)
      } s`,
    );
  }
  const startMs = range.startSeconds * 1000;
  const endMs = range.endSeconds === undefined
    ? Infinity
    : range.endSeconds * 1000;
  const tracks = media.index.tracks;
  const video = tracks.find((t) => t.kind === "video");
  let keyframeMs = startMs;
  let videoFirst = 0;
  if (video) {
    videoFirst = syncSampleFor(
      video,
      Math.round((startMs * video.timescale) / 1000),
    );
    keyframeMs = Math.min(ms(video, videoFirst), startMs);
  }
  const showFromMs = range.accurate ? startMs : keyframeMs;
  const parts = tracks.map((t) => {
    const s = t.samples;
    if (t === video) {
      let end = videoFirst + 1;
      while (end < s.count && !(isSync(s, end) && ms(t, end) >= endMs)) end++;
      return { track: t, first: videoFirst, end };
    }
    // Audio (every sample a sync sample, presentation = decoding time - mediaTime): the frame
    // covering the first shown time, found by binary search, to the end time.
    const at = (msTime: number) =>
      sampleAtOrBefore(
        s,
        Math.floor((msTime * t.timescale) / 1000) + t.mediaTime,
      );
    let first = at(showFromMs);
    if (
      first < s.count &&
      ms(t, first) + (s.duration[first]! * 1000) / t.timescale <= showFromMs
    ) first++;
    let end = endMs === Infinity ? s.count : at(endMs);
    while (end < s.count && ms(t, end) < endMs) end++;
    return { track: t, first, end };
  }).filter((p) => p.end > p.first);
  return { parts, showFromMs, keyframeMs };
}

/** The MP4 of `range` (or of the whole file, moov first, when `range` is undefined). */
export function mp4Source(
  media: MediaFile,
  range: TimeRange | undefined,
): PieceSource {
  const plan = planRange(
    media,
    range ?? { startSeconds: 0, endSeconds: undefined, accurate: false },
  );
  // A whole file keeps its own presentation start (its edit lists): time 0 is the file's 0.
  const startMs = range ? plan.showFromMs : 0;
  // Seeks of one file land on few keyframes (every `start` within a GOP asks for the same
  // output): the last plans are kept per file, a few at most.
  const key = `${
    plan.parts.map((x) => `${x.first}-${x.end}`).join(",")
  }@${startMs}`;
  let plans = mp4Plans.get(media);
  if (!plans) mp4Plans.set(media, plans = new Map());
  let p = plans.get(key);
  if (!p) {
    p = planMp4(plan.parts, { startMs });
    if (plans.size >= MP4_PLANS_PER_FILE) {
      plans.delete(plans.keys().next().value!);
    }
    plans.set(key, p);
  }
  const pieces: Piece[] = [p.head, ...p.ranges];
  return { size: p.size, pieces: () => pieces };
}

/** MP4 plans kept per file (an hour's plan is ~1 MB of tables). */
const MP4_PLANS_PER_FILE = 8;
const mp4Plans = new WeakMap<MediaFile, Map<string, Mp4Plan>>();

/** The FLV of `range`, timestamps as in the file. */
export function flvSource(media: MediaFile, range: TimeRange): PieceSource {
  const plan = planRange(media, range);
  const tracks = plan.parts.map((p) => p.track);
  const video = plan.parts.find((p) => p.track.kind === "video");
  const firstTs = Math.round(plan.keyframeMs);
  const extra: Record<string, number> = {};
  if (range.accurate) extra.accurateStartSeconds = plan.showFromMs / 1000;
  const prelude = flvPrelude(tracks, {
    timestampMs: Math.max(0, firstTs),
    durationSeconds: media.index.durationMs / 1000,
    frameRate: frameRateOf(video?.track),
    extra,
  });
  // Interleave by decoding time; each frame is a generated head, its bytes from the file, and
  // the PreviousTagSize. Nothing per frame is kept: the size is counted, the heads are made as
  // the body is read (an hour of video is ~277,000 frames).
  const seeking = range.accurate && video !== undefined &&
    plan.showFromMs > plan.keyframeMs;
  const startCmd = seeking
    ? flvVideoCommand(VideoCommand.StartSeek, firstTs)
    : undefined;
  const endCmd = seeking
    ? flvVideoCommand(VideoCommand.EndSeek, Math.round(plan.showFromMs))
    : undefined;
  let size = prelude.byteLength + (startCmd?.byteLength ?? 0) +
    (endCmd?.byteLength ?? 0);
  for (const p of plan.parts) {
    const per = FLV_TAG_HEADER_BYTES + flvCodecHeaderBytes(p.track) +
      PREVIOUS_TAG_SIZE_BYTES;
    for (let i = p.first; i < p.end; i++) {
      size += per + p.track.samples.size[i]!;
    }
  }
  const dtsMs = (t: TrackIndex, i: number) =>
    (t.samples.dts[i]! * 1000) / t.timescale;
  return {
    size,
    *pieces(): Iterable<Piece> {
      yield prelude;
      if (startCmd) yield startCmd;
      let ended = !endCmd;
      const cursors = plan.parts.map((p) => p.first);
      for (;;) {
        // The part whose next frame decodes first (video first on ties).
        let k = -1;
        for (let c = 0; c < plan.parts.length; c++) {
          const p = plan.parts[c]!;
          if (cursors[c]! >= p.end) continue;
          if (
            k < 0 ||
            dtsMs(p.track, cursors[c]!) <
              dtsMs(plan.parts[k]!.track, cursors[k]!)
          ) k = c;
        }
        if (k < 0) break;
        const t = plan.parts[k]!.track;
        const i = cursors[k]!++;
        if (!ended && t.kind === "video" && ms(t, i) >= plan.showFromMs) {
          yield endCmd!;
          ended = true;
        }
        const head = flvFrameHead(t, i, Math.round(dtsMs(t, i)));
        yield head;
        yield [t.samples.offset[i]!, t.samples.size[i]!];
        yield flvTagTrailer(
          head.byteLength - FLV_TAG_HEADER_BYTES + t.samples.size[i]!,
        );
      }
      if (!ended) yield endCmd!;
    },
  };
}

/** Average frame rate of a video track (frames over its decoding span), if it has one. */
export function frameRateOf(track: TrackIndex | undefined): number | undefined {
  if (!track || track.samples.count < 2) return undefined;
  const s = track.samples;
  const span = s.dts[s.count - 1]! - s.dts[0]!;
  return span > 0
    ? Math.round(((s.count - 1) * track.timescale * 1000) / span) / 1000
    : undefined;
}
