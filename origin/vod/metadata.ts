/**
 * What the library listing says about a file, from its index (no decoding).
 *
 * @module
 */

import { isSync } from "../../codec/samples/mod.ts";
import type { LibraryFile } from "./library.ts";
import type { MediaFile } from "./media_file.ts";
import { frameRateOf } from "./outputs.ts";

/** One file in `GET /api/vod`. */
export interface VodFileInfo {
  readonly path: string;
  readonly url: string;
  readonly size: number;
  readonly mtime: string;
  readonly error?: string;
  readonly container?: string;
  readonly durationSeconds?: number;
  readonly bitrate?: number;
  readonly moovAtStart?: boolean;
  readonly fragmented?: boolean;
  readonly video?: {
    readonly codec: string;
    readonly profile: string | undefined;
    readonly width: number | undefined;
    readonly height: number | undefined;
    readonly fps: number | undefined;
    readonly keyframes: number;
    readonly keyframeIntervalSeconds: number | undefined;
  };
  readonly audio?: {
    readonly codec: string;
    readonly sampleRate: number | undefined;
    readonly channels: number | undefined;
  };
  readonly skippedTracks?: readonly string[];
}

const AVC_PROFILES: Readonly<Record<number, string>> = {
  66: "Baseline",
  77: "Main",
  88: "Extended",
  100: "High",
  110: "High 10",
  122: "High 4:2:2",
  244: "High 4:4:4",
};
const HEVC_PROFILES: Readonly<Record<number, string>> = {
  1: "Main",
  2: "Main 10",
  3: "Main Still Picture",
};

function urlOf(f: LibraryFile): string {
  return f.library.prefix +
    f.relPath.split("/").map(encodeURIComponent).join("/");
}

/** The listing entry of an indexed file. */
export function describeMedia(m: MediaFile): VodFileInfo {
  const f = m.file;
  const index = m.index;
  const video = index.tracks.find((t) => t.kind === "video");
  const audio = index.tracks.find((t) => t.kind === "audio");
  let v: VodFileInfo["video"];
  if (video) {
    let keyframes = 0;
    for (let i = 0; i < video.samples.count; i++) {
      if (isSync(video.samples, i)) keyframes++;
    }
    const cfg = video.config;
    const profile = cfg && cfg.length > 1
      ? video.codec === "h264"
        ? AVC_PROFILES[cfg[1]!] ?? `profile ${cfg[1]}`
        : HEVC_PROFILES[cfg[1]! & 0x1f] ?? `profile ${cfg[1]! & 0x1f}`
      : undefined;
    v = {
      codec: video.codec,
      profile,
      width: video.width,
      height: video.height,
      fps: frameRateOf(video) ?? m.flvMetadata.frameRate,
      keyframes,
      keyframeIntervalSeconds: keyframes > 1
        ? Math.round(index.durationMs / keyframes) / 1000
        : undefined,
    };
  }
  const durationSeconds = index.durationMs / 1000;
  return {
    path: f.relPath,
    url: urlOf(f),
    size: f.size,
    mtime: new Date(f.mtimeMs).toISOString(),
    container: index.container,
    durationSeconds,
    bitrate: durationSeconds > 0
      ? Math.round((f.size * 8) / durationSeconds)
      : undefined,
    ...(m.moovAtStart !== undefined ? { moovAtStart: m.moovAtStart } : {}),
    ...(index.container === "mp4" ? { fragmented: m.fragmented } : {}),
    ...(v ? { video: v } : {}),
    ...(audio
      ? {
        audio: {
          codec: audio.codec,
          sampleRate: audio.sampleRate,
          channels: audio.channels,
        },
      }
      : {}),
    ...(m.skipped.length ? { skippedTracks: m.skipped } : {}),
  };
}
