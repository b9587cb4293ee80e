/**
 * The `origin.transcode` section: live adaptive-bitrate ladders (ffmpeg children per
 * rendition), VOD transcode jobs and live snapshots. In its own file, composed by
 * `origin_schema.ts` (`transcode: TranscodeConfig`) and `schema.ts` (its list items).
 *
 * @module
 */

import { ConfigError } from "./errors.ts";
import { type Constraint, intIn, numIn, oneOf } from "./constraints.ts";

/** One rendition of a ladder: what ffmpeg makes of the source. */
export interface TranscodeProfile {
  /** Names the rendition: `{stream}_{name}` (`[A-Za-z0-9-]`, up to 32). */
  readonly name: string;
  /**
   * Video encoder: `libx264`, an H.264 hardware encoder of ffmpeg's (`h264_nvenc`, `h264_qsv`,
   * `h264_vaapi`, `h264_amf`, `h264_videotoolbox`, `h264_v4l2m2m`, …, passed through as
   * named), `copy` (the source's video as it is) or `none` (an audio-only rendition).
   * @default "libx264"
   */
  readonly video: string;
  /** Picture width, even; 0 = from `height` keeping the source's aspect. @default 0 */
  readonly width: number;
  /** Picture height, even; 0 = from `width` keeping the aspect (both 0: the source's). */
  readonly height: number;
  /** Frame rate cap (a faster source is decimated); 0 = the source's. @default 0 */
  readonly fps: number;
  /** Target video bit rate, kbit/s (needed when the video is encoded). */
  readonly videoKbps: number;
  /** Peak rate of the VBV, kbit/s; 0 = 1.07 × `videoKbps`. */
  readonly maxrateKbps: number;
  /** VBV buffer, kbit; 0 = 1.5 × the peak rate. */
  readonly bufsizeKbps: number;
  /** Encoder preset (`-preset`); "" = the encoder's own default. @default "veryfast" */
  readonly preset: string;
  /** Audio: `aac` (encoded at `audioKbps`), `copy`, or `none`. @default "aac" */
  readonly audio: "aac" | "copy" | "none";
  /** AAC bit rate, kbit/s. @default 128 */
  readonly audioKbps: number;
  /**
   * More ffmpeg arguments for this rendition's output, after Meridian's own (so they win:
   * `["-profile:v", "main"]`, `["-bf", "2"]`, a hardware device option). Passed as argv, never
   * through a shell. @default []
   */
  readonly extraArgs: readonly string[];
}

/** An app whose live streams get a ladder. */
export interface TranscodeAppConfig {
  readonly name: string;
  /** Profile names of `origin.transcode.profiles`; [] = all of them. @default [] */
  readonly profiles: readonly string[];
  /**
   * `on_demand`: renditions start with the first request for the master playlist or a
   * rendition (over HTTP), and stop `idleStopSeconds` after the last; `always`: with the
   * publish. @default "on_demand"
   */
  readonly start: "on_demand" | "always";
}

/** The `origin.transcode` section. */
export interface TranscodeConfig {
  /** ffmpeg to run; "" = `origin.vod.ffmpegPath`, else `ffmpeg` on PATH. */
  readonly ffmpegPath: string;
  /** Apps with a live ladder: none by default (transcoding costs CPU; opt in per app). */
  readonly apps: readonly TranscodeAppConfig[];
  /** The renditions apps may use (a 1080p/720p/480p/360p + audio-only ladder by default). */
  readonly profiles: readonly TranscodeProfile[];
  /** An on-demand ladder stops this long after its last viewer's last request. */
  readonly idleStopSeconds: number;
  /** First wait before restarting a crashed ffmpeg; doubles per crash up to 30 s. */
  readonly restartBackoffSeconds: number;
  /** Crashes in a row (runs shorter than 30 s) before a rendition is given up (until republish). */
  readonly maxRestarts: number;
  /**
   * A live rendition whose ffmpeg writes nothing for this long (it cannot decode its source,
   * or hangs) is killed and counts as a crash.
   */
  readonly stallTimeoutSeconds: number;
  /** Live ffmpeg children at once, every stream together; more renditions are refused. */
  readonly maxProcesses: number;
  /** `/{app}/{stream}.jpg` is at most this old (one keyframe decoded per period); 0 = off. */
  readonly snapshotSeconds: number;
  /** Snapshot width in pixels (height keeps the aspect). */
  readonly snapshotWidth: number;
  /** VOD transcode jobs running at once; more wait in the queue. */
  readonly maxConcurrentJobs: number;
}

/** Codecs a profile's `video` may name besides the H.264 hardware encoders. */
export const TRANSCODE_VIDEO_CODECS = ["libx264", "copy", "none"] as const;
/** ffmpeg's H.264 hardware encoders are all named `h264_*` (nvenc, qsv, vaapi, amf, …). */
const HARDWARE_H264 = /^h264_[a-z0-9_]{2,32}$/;
/** Largest picture a profile asks for (8K UHD). */
export const MAX_PROFILE_WIDTH = 7680;
export const MAX_PROFILE_HEIGHT = 4320;
/** Smallest picture side a profile may ask for (the smallest H.264 macroblock row). */
export const MIN_PROFILE_SIDE = 16;
/** Most extra arguments of one profile, and their longest. */
export const MAX_EXTRA_ARGS = 64;
export const MAX_EXTRA_ARG_CHARS = 256;

/**
 * The default ladder: the rungs most ABR guides give for 16:9 H.264 (Apple's HLS authoring
 * specification lists 1080p at 5–6 Mbit/s down to 360p under 1 Mbit/s), with a peak of 1.07×
 * the average and a 1.5× buffer (constrained VBR, so segments stay near BANDWIDTH), and a
 * 64 kbit/s audio-only variant for the worst mobile links.
 */
export const DEFAULT_LADDER: readonly TranscodeProfile[] = [
  profile("1080p", 1080, 5000, 5350, 7500, 128),
  profile("720p", 720, 2800, 2996, 4200, 128),
  profile("480p", 480, 1400, 1498, 2100, 96),
  profile("360p", 360, 800, 856, 1200, 96),
  {
    ...profile("audio", 0, 0, 0, 0, 64),
    video: "none",
    preset: "",
  },
];

function profile(
  name: string,
  height: number,
  videoKbps: number,
  maxrateKbps: number,
  bufsizeKbps: number,
  audioKbps: number,
): TranscodeProfile {
  return {
    name,
    video: "libx264",
    width: 0,
    height,
    fps: 0,
    videoKbps,
    maxrateKbps,
    bufsizeKbps,
    preset: "veryfast",
    audio: "aac",
    audioKbps,
    extraArgs: [],
  };
}

/** The section's defaults: no app transcoded. */
export const TRANSCODE_DEFAULTS: TranscodeConfig = {
  ffmpegPath: "",
  apps: [],
  profiles: DEFAULT_LADDER,
  // 30 s: an HLS player asks every target duration (2 s), an edge every second it is watched;
  // long enough that a viewer switching streams and back finds the ladder still running.
  idleStopSeconds: 30,
  restartBackoffSeconds: 1,
  maxRestarts: 5,
  // 10 s: ffmpeg's own start (probe, encoder set-up) takes well under a second, and a source's
  // keyframes come every few seconds; longer than that with no output is not a slow start.
  stallTimeoutSeconds: 10,
  // Each 1080p x264 veryfast rendition takes about a core; 16 is more than a box runs well.
  maxProcesses: 16,
  snapshotSeconds: 10,
  snapshotWidth: 320,
  maxConcurrentJobs: 1,
};

/** List-item schemas of the section (composed into config/schema.ts LIST_ITEMS). */
export const TRANSCODE_LIST_ITEMS = {
  "origin.transcode.apps[]": {
    template: { name: "", profiles: [], start: "on_demand" },
    required: ["name"],
  },
  "origin.transcode.apps[].profiles[]": { template: "" },
  "origin.transcode.profiles[]": {
    template: {
      ...profile("", 0, 0, 0, 0, 128),
    },
    required: ["name"],
  },
  "origin.transcode.profiles[].extraArgs[]": { template: "" },
} as const;

const PROFILE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/;
const APP_NAME_RE = /^[A-Za-z0-9_.-]+$/;

const videoCodec: Constraint = (v) =>
  typeof v === "string" &&
    ((TRANSCODE_VIDEO_CODECS as readonly string[]).includes(v) ||
      HARDWARE_H264.test(v))
    ? undefined
    : "libx264, copy, none, or an H.264 hardware encoder named h264_* (h264_nvenc, h264_qsv, h264_vaapi, ...)";

const side = (max: number): Constraint => (v) =>
  typeof v === "number" &&
    (v === 0 ||
      (Number.isInteger(v) && v % 2 === 0 && v >= MIN_PROFILE_SIDE &&
        v <= max))
    ? undefined
    : `0 (keep the aspect) or an even number of pixels ${MIN_PROFILE_SIDE}..${max}`;

const extraArg: Constraint = (v) =>
  typeof v === "string" && v.length > 0 && v.length <= MAX_EXTRA_ARG_CHARS &&
    !v.includes("\0")
    ? undefined
    : `an argument of 1..${MAX_EXTRA_ARG_CHARS} characters`;

/** Rules across one profile's keys, once each key is good. */
const profileRules: Constraint = (v) => {
  const p = v as TranscodeProfile;
  const encoded = p.video !== "copy" && p.video !== "none";
  if (p.video === "copy" && (p.width || p.height || p.fps || p.videoKbps)) {
    return "video: copy with no width, height, fps or videoKbps (a copied picture cannot be scaled or re-rated)";
  }
  if (p.video === "none" && p.audio === "none") {
    return "some output: video and audio cannot both be none";
  }
  if (encoded && p.videoKbps <= 0) {
    return `a videoKbps above 0 for the encoded video of profile '${p.name}'`;
  }
  if (encoded && p.maxrateKbps > 0 && p.maxrateKbps < p.videoKbps) {
    return `maxrateKbps of at least videoKbps (${p.videoKbps}) in profile '${p.name}'`;
  }
  if (p.audio === "aac" && p.audioKbps <= 0) {
    return `an audioKbps above 0 for the AAC audio of profile '${p.name}'`;
  }
  return undefined;
};

function uniqueBy<T>(items: readonly T[], key: (t: T) => string) {
  const seen = new Set<string>();
  for (const [i, t] of items.entries()) {
    const k = key(t);
    if (seen.has(k)) return { index: i, value: k };
    seen.add(k);
  }
  return undefined;
}

/**
 * Rules across the section: profile and app names unique, every profile an app names defined.
 * Thrown as a ConfigError naming the exact item (a constraint's string would name only the
 * section and show all of it).
 */
const sectionRules: Constraint = (v) => {
  const t = v as TranscodeConfig;
  const dupProfile = uniqueBy(t.profiles, (p) => p.name);
  if (dupProfile) {
    throw new ConfigError(
      `origin.transcode.profiles[${dupProfile.index}].name`,
      dupProfile.value,
      `a profile name not used before (${dupProfile.value} repeats)`,
    );
  }
  const dupApp = uniqueBy(t.apps, (a) => a.name);
  if (dupApp) {
    throw new ConfigError(
      `origin.transcode.apps[${dupApp.index}].name`,
      dupApp.value,
      `an app listed once (${dupApp.value} repeats)`,
    );
  }
  const names = new Set(t.profiles.map((p) => p.name));
  for (const [i, app] of t.apps.entries()) {
    for (const [k, name] of app.profiles.entries()) {
      if (!names.has(name)) {
        throw new ConfigError(
          `origin.transcode.apps[${i}].profiles[${k}]`,
          name,
          `a profile of origin.transcode.profiles (${[...names].join(", ")})`,
        );
      }
    }
    const dup = uniqueBy(app.profiles, (p) => p);
    if (dup) {
      throw new ConfigError(
        `origin.transcode.apps[${i}].profiles[${dup.index}]`,
        dup.value,
        "each profile once",
      );
    }
  }
  return undefined;
};

/** Constraints of the section by dotted key. */
export const TRANSCODE_CONSTRAINTS: Readonly<Record<string, Constraint>> = {
  "origin.transcode": sectionRules,
  "origin.transcode.ffmpegPath": (v) =>
    typeof v === "string" && v.length <= 4096 && !v.includes("\0")
      ? undefined
      : 'a path to ffmpeg or ""',
  "origin.transcode.apps[].name": (v) =>
    typeof v === "string" && APP_NAME_RE.test(v) && v !== "." && v !== ".."
      ? undefined
      : "a name of [A-Za-z0-9_.-]",
  "origin.transcode.apps[].start": oneOf("on_demand", "always"),
  "origin.transcode.profiles": (v) =>
    Array.isArray(v) && v.length <= 32 ? undefined : "at most 32 profiles",
  "origin.transcode.profiles[]": profileRules,
  "origin.transcode.profiles[].name": (v) =>
    typeof v === "string" && PROFILE_NAME_RE.test(v)
      ? undefined
      : "a profile name of 1..32 [A-Za-z0-9-] (it ends the rendition's stream name)",
  "origin.transcode.profiles[].video": videoCodec,
  "origin.transcode.profiles[].width": side(MAX_PROFILE_WIDTH),
  "origin.transcode.profiles[].height": side(MAX_PROFILE_HEIGHT),
  "origin.transcode.profiles[].fps": numIn(0, 240),
  "origin.transcode.profiles[].videoKbps": intIn(0, 200_000),
  "origin.transcode.profiles[].maxrateKbps": intIn(0, 200_000),
  "origin.transcode.profiles[].bufsizeKbps": intIn(0, 400_000),
  "origin.transcode.profiles[].preset": (v) =>
    typeof v === "string" && /^[A-Za-z0-9_-]{0,32}$/.test(v)
      ? undefined
      : 'an encoder preset name ([A-Za-z0-9_-], up to 32) or ""',
  "origin.transcode.profiles[].audio": oneOf("aac", "copy", "none"),
  "origin.transcode.profiles[].audioKbps": intIn(0, 1024),
  "origin.transcode.profiles[].extraArgs": (v) =>
    Array.isArray(v) && v.length <= MAX_EXTRA_ARGS
      ? undefined
      : `at most ${MAX_EXTRA_ARGS} arguments`,
  "origin.transcode.profiles[].extraArgs[]": extraArg,
  "origin.transcode.idleStopSeconds": numIn(1, 86_400),
  "origin.transcode.restartBackoffSeconds": numIn(0.1, 60),
  "origin.transcode.maxRestarts": intIn(1, 1000),
  "origin.transcode.stallTimeoutSeconds": numIn(1, 600),
  "origin.transcode.maxProcesses": intIn(1, 1024),
  "origin.transcode.snapshotSeconds": numIn(0, 3600),
  "origin.transcode.snapshotWidth": (v) =>
    side(MAX_PROFILE_WIDTH)(v) === undefined && v !== 0
      ? undefined
      : `an even number of pixels ${MIN_PROFILE_SIDE}..${MAX_PROFILE_WIDTH}`,
  "origin.transcode.maxConcurrentJobs": intIn(1, 64),
};
