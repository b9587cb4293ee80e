/**
 * From a profile and what the source carries to the ffmpeg command line: which renditions a
 * stream gets (never an upscale, never a rendition of a rendition), their names and sizes, and
 * the arguments of a live rendition and of a VOD job. Pure: no processes here.
 *
 * Keyframes are aligned across renditions so that every rendition's HLS segments start at the
 * same timestamps and a player switches cleanly: live renditions force a keyframe where the
 * source has one (`-force_key_frames source`) and keep the source's timestamps (`-copyts`),
 * with scene-cut keyframes off (`-sc_threshold 0`) and no B-frames (`-bf 0`: with them x264
 * shifts the whole output by its reorder delay when the source starts near 0, and the
 * renditions' segments would no longer start where the source's do); VOD renditions force a
 * keyframe every segment duration from 0.
 *
 * @module
 */

import type { TranscodeProfile } from "../../config/mod.ts";

/** `publisher.protocol` of a rendition's stream: the marker the recursion guard reads. */
export const TRANSCODE_PROTOCOL = "transcode";
/**
 * Largest keyframe interval of a live rendition, frames: keyframes come from the source, this
 * only bounds a source that sends none for a long time (20 s at 30 fps).
 */
export const MAX_LIVE_GOP_FRAMES = 600;
/** x264's default peak when a profile names none: 1.07 × the average (constrained VBR). */
const DEFAULT_MAXRATE_RATIO = 1.07;
/** The VBV buffer when a profile names none: 1.5 × the peak rate. */
const DEFAULT_BUFSIZE_RATIO = 1.5;
/** The stream-name separator of `{stream}_{profile}`. */
const RENDITION_SEPARATOR = "_";

/** The name of a rendition's stream. */
export function renditionName(stream: string, profile: string): string {
  return `${stream}${RENDITION_SEPARATOR}${profile}`;
}

/**
 * The source and profile a stream name is a rendition of, if its name ends in `_{profile}` of
 * one of `profiles`: such a stream is never transcoded again (SRS users hit recursive spawns
 * until out of memory), whoever publishes it.
 *
 * @example
 * ```ts
 * import { renditionOf } from "./profiles.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(renditionOf("cam_720p", ["720p", "360p"]), { source: "cam", profile: "720p" });
 * assert.equal(renditionOf("cam", ["720p"]), undefined);
 * ```
 */
export function renditionOf(
  name: string,
  profiles: readonly string[],
): { source: string; profile: string } | undefined {
  for (const p of profiles) {
    const suffix = `${RENDITION_SEPARATOR}${p}`;
    if (name.length > suffix.length && name.endsWith(suffix)) {
      return { source: name.slice(0, -suffix.length), profile: p };
    }
  }
  return undefined;
}

/** What the source carries, as far as planning needs it. */
export interface SourceShape {
  readonly hasVideo: boolean;
  readonly hasAudio: boolean;
  /** Coded size after cropping, when known (an H.264 SPS). */
  readonly width?: number | undefined;
  readonly height?: number | undefined;
}

/** One rendition to run. */
export interface RenditionPlan {
  readonly profile: TranscodeProfile;
  /** Output picture size, when the video is encoded and the source size is known. */
  readonly width: number | undefined;
  readonly height: number | undefined;
}

/** A profile left out, and why (shown in logs and `/api/streams`). */
export interface SkippedProfile {
  readonly profile: string;
  readonly reason: string;
}

const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);

/**
 * The output size of an encoded profile for a source size: both sides as configured, or the
 * missing side from the source's aspect (even, as H.264 4:2:0 needs), or the source's size.
 */
export function outputSize(
  profile: TranscodeProfile,
  source: SourceShape,
): { width: number; height: number } | undefined {
  const sw = source.width;
  const sh = source.height;
  if (profile.width > 0 && profile.height > 0) {
    return { width: profile.width, height: profile.height };
  }
  if (sw === undefined || sh === undefined || sw <= 0 || sh <= 0) {
    return undefined;
  }
  if (profile.height > 0) {
    return { width: even((sw * profile.height) / sh), height: profile.height };
  }
  if (profile.width > 0) {
    return { width: profile.width, height: even((sh * profile.width) / sw) };
  }
  return { width: sw, height: sh };
}

/**
 * The renditions a source gets from `profiles`, and the profiles left out: a picture larger
 * than the source's (no upscale: it costs bits for nothing), video for a source without video,
 * audio-only for a source without audio.
 *
 * @example
 * ```ts
 * import { planRenditions } from "./profiles.ts";
 * import { DEFAULT_LADDER } from "../../config/mod.ts";
 * import assert from "node:assert/strict";
 * const plan = planRenditions(DEFAULT_LADDER, { hasVideo: true, hasAudio: true, width: 1280, height: 720 });
 * assert.deepEqual(plan.planned.map((p) => p.profile.name), ["720p", "480p", "360p", "audio"]);
 * assert.match(plan.skipped[0]!.reason, /larger than the source's 1280x720/);
 * ```
 */
export function planRenditions(
  profiles: readonly TranscodeProfile[],
  source: SourceShape,
): { planned: RenditionPlan[]; skipped: SkippedProfile[] } {
  const planned: RenditionPlan[] = [];
  const skipped: SkippedProfile[] = [];
  for (const profile of profiles) {
    const wantsVideo = profile.video !== "none";
    if (wantsVideo && !source.hasVideo) {
      skipped.push({
        profile: profile.name,
        reason: "the source has no video",
      });
      continue;
    }
    if (!wantsVideo && !source.hasAudio) {
      skipped.push({
        profile: profile.name,
        reason: "an audio-only rendition of a source without audio",
      });
      continue;
    }
    if (!wantsVideo || profile.video === "copy") {
      planned.push({ profile, width: undefined, height: undefined });
      continue;
    }
    const size = outputSize(profile, source);
    if (
      size && source.width !== undefined && source.height !== undefined &&
      (size.width > source.width || size.height > source.height)
    ) {
      skipped.push({
        profile: profile.name,
        reason:
          `${size.width}x${size.height} is larger than the source's ${source.width}x${source.height} (not upscaled)`,
      });
      continue;
    }
    planned.push({ profile, width: size?.width, height: size?.height });
  }
  return { planned, skipped };
}

/** Peak and buffer of a profile, kbit/s and kbit. */
export function rateControl(
  p: TranscodeProfile,
): { maxrateKbps: number; bufsizeKbps: number } {
  const maxrateKbps = p.maxrateKbps > 0
    ? p.maxrateKbps
    : Math.round(p.videoKbps * DEFAULT_MAXRATE_RATIO);
  const bufsizeKbps = p.bufsizeKbps > 0
    ? p.bufsizeKbps
    : Math.round(maxrateKbps * DEFAULT_BUFSIZE_RATIO);
  return { maxrateKbps, bufsizeKbps };
}

/** The `-vf` scale of a profile: the configured sides, the other from the aspect. */
function scaleFilter(p: TranscodeProfile): string | undefined {
  if (p.width > 0 && p.height > 0) return `scale=${p.width}:${p.height}`;
  if (p.height > 0) return `scale=-2:${p.height}`;
  if (p.width > 0) return `scale=${p.width}:-2`;
  return undefined;
}

/** How keyframes are placed in an encoded rendition. */
type KeyframePolicy =
  | { readonly kind: "source" }
  | { readonly kind: "every"; readonly seconds: number };

/** Video and audio codec arguments of one rendition (no input, no output). */
function codecArgs(
  p: TranscodeProfile,
  keyframes: KeyframePolicy,
  hasAudio: boolean,
): string[] {
  const args: string[] = [];
  if (p.video === "none") args.push("-vn");
  else {
    args.push("-map", "0:v:0");
    if (p.video === "copy") args.push("-c:v", "copy");
    else {
      const { maxrateKbps, bufsizeKbps } = rateControl(p);
      args.push("-c:v", p.video);
      if (p.preset !== "") args.push("-preset", p.preset);
      args.push(
        "-b:v",
        `${p.videoKbps}k`,
        "-maxrate",
        `${maxrateKbps}k`,
        "-bufsize",
        `${bufsizeKbps}k`,
      );
      const scale = scaleFilter(p);
      // libx264 takes 8-bit 4:2:0 for what every player decodes; a 10-bit or 4:2:2 source
      // would otherwise give High 10 / High 4:2:2 renditions. Hardware encoders pick their own.
      const filters = [
        ...(scale ? [scale] : []),
        ...(p.video === "libx264" ? ["format=yuv420p"] : []),
      ];
      if (filters.length > 0) args.push("-vf", filters.join(","));
      if (p.fps > 0) args.push("-fpsmax", String(p.fps));
      args.push("-sc_threshold", "0");
      if (keyframes.kind === "source") {
        // The input's millisecond time base, not 1/fps: frames keep the source's exact
        // timestamps (rounded to 1/15 s, a 15 fps rendition's keyframes would move up to 33 ms
        // away from the source's, and so would its segment boundaries). A dropped source
        // keyframe (an fps cap) moves to the next frame kept.
        args.push("-enc_time_base:v", "-1");
        args.push(
          "-force_key_frames",
          p.fps > 0 ? "source_no_drop" : "source",
          "-g",
          String(MAX_LIVE_GOP_FRAMES),
          "-bf",
          "0",
        );
      } else {
        args.push(
          "-force_key_frames",
          `expr:gte(t,n_forced*${keyframes.seconds})`,
        );
      }
    }
  }
  if (p.audio === "none" || !hasAudio) args.push("-an");
  else {
    args.push("-map", "0:a:0?");
    if (p.audio === "copy") args.push("-c:a", "copy");
    else args.push("-c:a", "aac", "-b:a", `${p.audioKbps}k`);
  }
  return args;
}

/** Arguments every ffmpeg child starts with: quiet log, progress blocks, no keyboard. */
function commonArgs(progressTarget: "pipe:1" | "pipe:2"): string[] {
  return [
    "-hide_banner",
    "-nostdin",
    "-loglevel",
    "warning",
    "-nostats",
    "-progress",
    progressTarget,
  ];
}

/**
 * ffmpeg's arguments for one live rendition: FLV in on stdin (the source, as an HTTP-FLV viewer
 * gets it), FLV out on stdout, progress and log on stderr.
 *
 * @param marker A value written into the rendition's onMetaData (`meridian_rendition`), for
 *   people reading the stream (the guard itself needs no trust in it).
 */
export function liveRenditionArgs(
  plan: RenditionPlan,
  source: SourceShape,
  marker: string,
): string[] {
  const p = plan.profile;
  return [
    ...commonArgs("pipe:2"),
    // The source is already live: no need to wait 5 s analysing it.
    "-analyzeduration",
    "1000000",
    "-f",
    "flv",
    "-i",
    "pipe:0",
    ...codecArgs(p, { kind: "source" }, source.hasAudio),
    "-copyts",
    "-metadata",
    `meridian_rendition=${marker}`,
    ...p.extraArgs,
    "-flush_packets",
    "1",
    "-flvflags",
    "no_duration_filesize",
    "-f",
    "flv",
    "pipe:1",
  ];
}

/** Output formats of a VOD job. */
export type VodJobFormat = "hls" | "mp4";

/** Where one VOD rendition is written (paths inside the job's working folder). */
export interface VodOutput {
  readonly plan: RenditionPlan;
  /** `{name}.mp4`, or `{name}/index.m3u8` with `{name}/seg_00000.ts` … */
  readonly path: string;
}

/** The file one rendition of a VOD job goes to, relative to the job's folder. */
export function vodOutputPath(profile: string, format: VodJobFormat): string {
  return format === "mp4" ? `${profile}.mp4` : `${profile}/index.m3u8`;
}

/**
 * ffmpeg's arguments for a VOD job: one input file decoded once, one output per rendition
 * (an MP4, or an HLS VOD playlist with its segments), keyframes every `segmentSeconds` from 0
 * in every rendition so that segments line up; progress on stdout, log on stderr.
 *
 * @param dir The job's working folder (absolute or relative to ffmpeg's working directory).
 */
export function vodJobArgs(
  input: string,
  plans: readonly RenditionPlan[],
  source: SourceShape,
  format: VodJobFormat,
  segmentSeconds: number,
  dir: string,
): string[] {
  const args = [...commonArgs("pipe:1"), "-i", input];
  for (const plan of plans) {
    const p = plan.profile;
    args.push(
      ...codecArgs(
        p,
        { kind: "every", seconds: segmentSeconds },
        source.hasAudio,
      ),
      ...p.extraArgs,
    );
    if (format === "mp4") {
      args.push("-movflags", "+faststart", "-f", "mp4", `${dir}/${p.name}.mp4`);
    } else {
      args.push(
        "-f",
        "hls",
        "-hls_time",
        String(segmentSeconds),
        "-hls_playlist_type",
        "vod",
        "-hls_flags",
        "independent_segments",
        "-hls_segment_type",
        "mpegts",
        "-hls_segment_filename",
        `${dir}/${p.name}/seg_%05d.ts`,
        `${dir}/${vodOutputPath(p.name, "hls")}`,
      );
    }
  }
  return args;
}
