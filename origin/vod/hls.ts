/**
 * HLS VOD of a library file: a playlist of segments cut at keyframes near the target duration,
 * each segment remuxed to MPEG-TS on request with the live muxer (never transcoded).
 *
 * Segment requests are stateless: the segment plan is a pure function of the file's index and
 * the target duration, so any origin (or edge) answers any segment, in any order.
 *
 * @module
 */

import { buildAdtsFrame } from "../../codec/aac/adts.ts";
import { decodeAudioSpecificConfig } from "../../codec/aac/audio_specific_config.ts";
import { concatBytes } from "../../codec/bytes/concat.ts";
import { decodeAvcDecoderConfig } from "../../codec/h264/avc_config.ts";
import {
  buildAnnexBAccessUnit,
  splitAvccNalus,
} from "../../codec/h264/nalu.ts";
import { StreamType, TsMuxer } from "../../codec/mpegts/mod.ts";
import {
  isSync,
  presentationTicks,
  type TrackIndex,
} from "../../codec/samples/mod.ts";
import { VodError, VodErrorCode } from "./errors.ts";
import type { MediaFile } from "./media_file.ts";

/**
 * A keyframe this much before the target still ends a segment (fraction of the target): an
 * encoder's GOP of exactly the target lands a few ms early after timestamp rounding, and
 * waiting for the next keyframe would double the segment.
 */
export const SEGMENT_TOLERANCE = 0.1;
/** AAC frames per PES packet (as the live packager: fewer PES headers, same latency). */
const AUDIO_FRAMES_PER_PES = 8;

/** One planned segment: a presentation span and the samples of each track in it. */
export interface VodSegment {
  readonly startMs: number;
  readonly durationMs: number;
  /** Per track of the index (same order): sample index range `[first, end)`. */
  readonly ranges: readonly (readonly [number, number])[];
}

const plans = new WeakMap<MediaFile, Map<number, VodSegment[]>>();

function ptsMs(track: TrackIndex, i: number): number {
  return (presentationTicks(track, i) * 1000) / track.timescale;
}

/** The segments of `media` for `targetMs` (computed once per file and target). */
export function planSegments(media: MediaFile, targetMs: number): VodSegment[] {
  let byTarget = plans.get(media);
  if (!byTarget) plans.set(media, byTarget = new Map());
  const hit = byTarget.get(targetMs);
  if (hit) return hit;
  const tracks = media.index.tracks;
  const video = tracks.find((t) => t.kind === "video");
  // Boundaries: presentation times where segments start.
  const bounds: number[] = [];
  if (video) {
    const s = video.samples;
    let segStart = -Infinity;
    for (let i = 0; i < s.count; i++) {
      if (!isSync(s, i)) continue;
      const t = ptsMs(video, i);
      if (t - segStart >= targetMs * (1 - SEGMENT_TOLERANCE)) {
        bounds.push(t);
        segStart = t;
      }
    }
  } else {
    for (let t = 0; t < media.index.durationMs; t += targetMs) bounds.push(t);
  }
  if (bounds.length === 0) bounds.push(0);
  bounds[0] = Math.min(bounds[0]!, 0);
  const end = media.index.durationMs;
  const segments: VodSegment[] = [];
  const cursors = tracks.map(() => 0);
  for (let n = 0; n < bounds.length; n++) {
    const from = bounds[n]!;
    const to = n + 1 < bounds.length ? bounds[n + 1]! : Infinity;
    const ranges = tracks.map((t, k) => {
      const first = cursors[k]!;
      let i = first;
      const s = t.samples;
      if (t === video) {
        // Video: decoding order from this keyframe up to the next segment's keyframe.
        while (
          i < s.count && !(i > first && isSync(s, i) && ptsMs(t, i) >= to)
        ) i++;
      } else {
        while (i < s.count && ptsMs(t, i) < to) i++;
      }
      cursors[k] = i;
      return [first, i] as const;
    });
    const startMs = Math.max(0, from);
    segments.push({
      startMs,
      durationMs: Math.max(0, Math.min(to, end) - startMs),
      ranges,
    });
  }
  byTarget.set(targetMs, segments);
  return segments;
}

/**
 * The VOD playlist (RFC 8216 §4.3: EXT-X-PLAYLIST-TYPE:VOD, EXT-X-ENDLIST, exact EXTINF).
 *
 * @param segmentBase The URI prefix of segments (`name.mp4/`), relative to the playlist.
 * @param query Appended to every segment URI (`?cred=…`), or "".
 * @param startSeconds `EXT-X-START` offset, when asked for.
 */
export function vodPlaylist(
  segments: readonly VodSegment[],
  segmentBase: string,
  query: string,
  startSeconds: number | undefined,
): string {
  let longest = 0;
  for (const s of segments) longest = Math.max(longest, s.durationMs);
  const lines = [
    "#EXTM3U",
    "#EXT-X-VERSION:3",
    // §4.3.3.1: every EXTINF, rounded to the nearest integer, is at most the target.
    `#EXT-X-TARGETDURATION:${Math.max(1, Math.round(longest / 1000))}`,
    "#EXT-X-MEDIA-SEQUENCE:0",
    "#EXT-X-PLAYLIST-TYPE:VOD",
    "#EXT-X-INDEPENDENT-SEGMENTS",
  ];
  if (startSeconds !== undefined) {
    lines.push(
      `#EXT-X-START:TIME-OFFSET=${startSeconds.toFixed(3)},PRECISE=YES`,
    );
  }
  segments.forEach((s, n) => {
    lines.push(`#EXTINF:${(s.durationMs / 1000).toFixed(6)},`);
    lines.push(`${segmentBase}${n}.ts${query}`);
  });
  lines.push("#EXT-X-ENDLIST", "");
  return lines.join("\n");
}

/** Reads `[offset, offset + length)` of the file. */
export type ReadRange = (offset: number, length: number) => Promise<Uint8Array>;

/**
 * Segment `n` of `media` as MPEG-TS.
 *
 * @throws {VodError} `VOD_BAD_REQUEST` for a segment number past the end; `VOD_UNSUPPORTED`
 *   for video other than H.264 (HEVC files play as MP4 and FLV, not HLS).
 */
export async function vodSegment(
  media: MediaFile,
  segments: readonly VodSegment[],
  n: number,
  read: ReadRange,
): Promise<Uint8Array> {
  const seg = segments[n];
  if (!seg) {
    throw new VodError(
      VodErrorCode.NotFound,
      `Cannot find segment ${n}: the file has ${segments.length}`,
    );
  }
  const tracks = media.index.tracks;
  const video = tracks.find((t) => t.kind === "video");
  const audio = tracks.find((t) => t.kind === "audio");
  if (video && video.codec !== "h264") {
    throw new VodError(
      VodErrorCode.Unsupported,
      `Cannot package ${video.codec} video as HLS: play the file as .mp4 or .flv`,
    );
  }
  // One read of the span that holds every sample of the segment.
  let lo = Infinity;
  let hi = 0;
  tracks.forEach((t, k) => {
    const [a, b] = seg.ranges[k]!;
    for (let i = a; i < b; i++) {
      lo = Math.min(lo, t.samples.offset[i]!);
      hi = Math.max(hi, t.samples.offset[i]! + t.samples.size[i]!);
    }
  });
  const bytes = hi > lo ? await read(lo, hi - lo) : new Uint8Array(0);
  const sample = (t: TrackIndex, i: number) =>
    bytes.subarray(
      t.samples.offset[i]! - lo,
      t.samples.offset[i]! - lo + t.samples.size[i]!,
    );

  const avc = video?.config ? decodeAvcDecoderConfig(video.config) : undefined;
  const asc = audio?.codec === "aac" && audio.config
    ? decodeAudioSpecificConfig(audio.config)
    : undefined;
  const audioType = audio
    ? audio.codec === "aac"
      ? StreamType.AacAdts
      : (audio.sampleRate ?? 44100) >= 32000
      ? StreamType.Mpeg1Audio
      : StreamType.Mpeg2Audio
    : undefined;
  const mux = new TsMuxer({
    videoStreamType: video ? StreamType.H264 : undefined,
    audioStreamType: audioType,
  });
  const out: Uint8Array[] = [mux.writePsi()];
  const to90k = (ticks: number, t: TrackIndex) =>
    Math.round((ticks * 90_000) / t.timescale);

  // Interleave by decoding time, as a demuxer reads them.
  const vIdx = video ? tracks.indexOf(video) : -1;
  const aIdx = audio ? tracks.indexOf(audio) : -1;
  let [vi, vEnd] = vIdx >= 0 ? seg.ranges[vIdx]! : [0, 0];
  let [ai, aEnd] = aIdx >= 0 ? seg.ranges[aIdx]! : [0, 0];
  const dtsMs = (t: TrackIndex, i: number) =>
    ((t.samples.dts[i]! - t.mediaTime) * 1000) / t.timescale;
  let pendingAudio: Uint8Array[] = [];
  let pendingPts = 0;
  const flushAudio = () => {
    if (pendingAudio.length === 0) return;
    out.push(
      mux.writeAudio({ ptsTicks: pendingPts, data: concatBytes(pendingAudio) }),
    );
    pendingAudio = [];
  };
  while (vi < vEnd || ai < aEnd) {
    const takeVideo = vi < vEnd &&
      (ai >= aEnd || dtsMs(video!, vi) <= dtsMs(audio!, ai));
    if (takeVideo) {
      const v = video!;
      const s = v.samples;
      const nalus = splitAvccNalus(sample(v, vi), avc?.naluLengthSize ?? 4);
      const key = isSync(s, vi);
      out.push(mux.writeVideo({
        dtsTicks: to90k(s.dts[vi]! - v.mediaTime, v),
        ptsTicks: to90k(presentationTicks(v, vi), v),
        keyframe: key,
        data: buildAnnexBAccessUnit(
          nalus,
          key && avc ? { sps: avc.sps, pps: avc.pps } : undefined,
        ),
      }));
      vi++;
      continue;
    }
    const a = audio!;
    const frame = asc ? buildAdtsFrame(asc, sample(a, ai)) : sample(a, ai);
    if (pendingAudio.length === 0) {
      pendingPts = to90k(presentationTicks(a, ai), a);
    }
    pendingAudio.push(frame);
    if (pendingAudio.length >= AUDIO_FRAMES_PER_PES) flushAudio();
    ai++;
  }
  flushAudio();
  return concatBytes(out);
}
