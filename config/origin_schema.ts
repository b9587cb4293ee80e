/**
 * The origin role's config section: shape, defaults and constraints.
 *
 * In its own file like `edge_schema.ts` and `scheduler_schema.ts`: `config/schema.ts` composes
 * it as `origin: OriginConfig` in `MeridianConfig`, `origin: ORIGIN_DEFAULTS` in `DEFAULTS` and
 * `...ORIGIN_CONSTRAINTS` in `CONSTRAINTS` (every key here starts with `origin.`).
 *
 * @module
 */

import { type Constraint, intIn, numIn, oneOf } from "./constraints.ts";
import {
  TRANSCODE_CONSTRAINTS,
  TRANSCODE_DEFAULTS,
  type TranscodeConfig,
} from "./transcode_schema.ts";

/** One daily slot of a virtual-live channel: `file` starts at `at` every day. */
export interface VirtualLiveScheduleItem {
  /** Wall time of day, `HH:MM` (24-hour), in the channel's {@link VirtualLiveChannel.timeZone}. */
  readonly at: string;
  /** An MP4 or FLV file (a filesystem path, like `file`). */
  readonly file: string;
}

/**
 * Files published as one live stream: a playlist (MP4 and FLV, mixed) played in order, looping,
 * with optional daily slots that interrupt it. The optional keys are optional for programmatic
 * callers (tests build channels by hand); a loaded config always has every key.
 */
export interface VirtualLiveChannel {
  readonly app: string;
  readonly stream: string;
  /**
   * One file, kept from before playlists: the same as `playlist: [file]`. Paths are filesystem
   * paths, relative ones resolved against the working directory. @default ""
   */
  readonly file: string;
  /** Files played in order (MP4 and FLV, mixed); replaces `file`. @default [] */
  readonly playlist?: readonly string[];
  /** Start over after the last item; `false`: the channel ends after it. @default true */
  readonly loop?: boolean;
  /** Daily slots; the playlist plays between them. @default [] */
  readonly schedule?: readonly VirtualLiveScheduleItem[];
  /** IANA time zone of `schedule[].at` (e.g. `Asia/Shanghai`). @default "UTC" */
  readonly timeZone?: string;
}

/** Who may play an app: anyone, or holders of a `?token=` from the token service. */
export type AppAccess = "open" | "token";

/** Publish keys of one stream (they replace the app's keys for that stream). */
export interface OriginStreamAccessConfig {
  readonly name: string;
  /** Keys accepted as `?key=` on RTMP publish; empty: the app's keys apply. */
  readonly publishKeys: readonly string[];
}

/** Access rules of one app. */
export interface OriginAppConfig {
  readonly name: string;
  /** @default "open" */
  readonly access: AppAccess;
  /** Keys accepted as `?key=` on RTMP publish; empty: publishing needs no key. @default [] */
  readonly publishKeys: readonly string[];
  /** Per-stream publish keys. @default [] */
  readonly streams: readonly OriginStreamAccessConfig[];
}

/** HTTP callbacks asked about publish and play, and told when they end (SRS `http_hooks`). */
export interface OriginHooksConfig {
  /** URL POSTed before a publish starts; a non-2xx answer refuses it. "" disables the hook. */
  readonly onPublish: string;
  /** URL POSTed before a play session opens; a non-2xx answer refuses it. "" disables it. */
  readonly onPlay: string;
  /** URL told (fire and forget) when an RTMP or HTTP-FLV viewer leaves. "" disables it. */
  readonly onStop: string;
  /** URL told (fire and forget) when a publisher leaves. "" disables it. */
  readonly onUnpublish: string;
  /** A hook that has not answered within this many ms has failed. */
  readonly timeoutMs: number;
  /** What a failed on_publish/on_play hook (timeout, refused, bad URL) means: deny or allow. */
  readonly onFailure: "deny" | "allow";
}

export interface OriginConfig {
  /** Address the origin's RTMP and HTTP listeners bind to. */
  readonly hostname: string;
  /**
   * Bearer token of the origin's `/admin/*` (virtual-live channels); "" = the node's
   * `control.adminToken` (configured or generated), as for the edge and the scheduler.
   */
  readonly adminToken: string;
  readonly rtmpPort: number;
  readonly httpPort: number;
  /**
   * The HTTP server: `http1`, Meridian's own HTTP/1.1 server on raw TCP (live HTTP-FLV written
   * from the hub, each shared buffer framed as a chunk once), or `deno` for Deno.serve.
   */
  readonly httpServer: "http1" | "deno";
  /**
   * Live streams at once (every publish, virtual-live channels included); a publish past it is
   * refused with `NetStream.Publish.Rejected`.
   */
  readonly maxStreams: number;
  readonly rtmp: {
    /** Our outgoing RTMP chunk size (bytes). */
    readonly outChunkSize: number;
    /**
     * A client must finish the handshake within this many ms of connecting and start publishing
     * or playing within three times it (deadlines from accept, not restarted by a byte).
     */
    readonly handshakeTimeoutMs: number;
  };
  readonly live: {
    /** Keep the last GOP so new viewers start at once on a keyframe. */
    readonly gopCache: boolean;
    readonly maxGopCacheBytes: number;
    /** Viewer writes are coalesced over this interval (ms); 0 writes every tag. */
    readonly flushIntervalMs: number;
    /** A viewer whose unsent bytes pass this cap is dropped. */
    readonly maxViewerQueueBytes: number;
  };
  readonly hls: {
    readonly enabled: boolean;
    /** Segments are cut at the first keyframe after this many seconds (less the tolerance). */
    readonly targetDurationSeconds: number;
    /**
     * Fraction of the target by which a keyframe may come early and still end a segment
     * (encoders' GOPs on a millisecond clock run a few ms short: 1982 ms for "2 s").
     */
    readonly keyframeTolerance: number;
    /** Segments listed in the live playlist. */
    readonly windowSegments: number;
    /**
     * After the publisher leaves, the playlist stays live this long (a republish within it
     * continues the playlist behind EXT-X-DISCONTINUITY); then EXT-X-ENDLIST is appended.
     */
    readonly endGraceSeconds: number;
    /** An ended playlist (EXT-X-ENDLIST) and its segments stay this long, then answer 404. */
    readonly endedRetentionSeconds: number;
    /**
     * Playlist requests for live streams without a first segment yet are held (up to 1.5
     * target durations) instead of 404; at most this many at once, more get 503. 0: never hold.
     */
    readonly maxHeldPlaylistRequests: number;
  };
  /** Looping files published as live streams (the demo channel is one). */
  readonly virtualLive: readonly VirtualLiveChannel[];
  /** Media libraries served on demand (VOD). */
  readonly vod: {
    /** Folders and the URL prefixes they are served under (`/vod/` → `./media`). */
    readonly libraries: readonly {
      readonly path: string;
      readonly prefix: string;
    }[];
    /** HLS VOD segments are cut at the first keyframe at or after this many seconds (-10 %). */
    readonly hlsSegmentSeconds: number;
    /** Bytes of file indexes kept in memory (about 25 bytes a frame). */
    readonly indexCacheBytes: number;
    /** `Cache-Control: max-age` of VOD responses, seconds. */
    readonly maxAgeSeconds: number;
    /** ffmpeg for thumbnails; "" = `ffmpeg` on PATH. */
    readonly ffmpegPath: string;
  };
  /** Access rules per app; apps not listed follow {@link OriginConfig.defaultApp}. */
  readonly apps: readonly OriginAppConfig[];
  /** Access rules of every app not listed in `apps`. */
  readonly defaultApp: {
    readonly access: AppAccess;
    readonly publishKeys: readonly string[];
  };
  readonly hooks: OriginHooksConfig;
  /** Live ABR ladders, VOD transcode jobs and snapshots (ffmpeg children). */
  readonly transcode: TranscodeConfig;
}

/** The `origin` section's defaults: `deno task start` with no config file runs these. */
export const ORIGIN_DEFAULTS: OriginConfig = {
  hostname: "127.0.0.1",
  adminToken: "",
  rtmpPort: 1935,
  httpPort: 8090,
  httpServer: "http1",
  // A publisher holds about 2.5 MiB before any viewer (measured), plus its GOP cache and HLS
  // window (about 6 MiB at 3 Mbit/s with the defaults): 256 streams stay near 2 GiB and
  // 770 Mbit/s of ingest at that rate, what one box's NIC and core take.
  maxStreams: 256,
  rtmp: { outChunkSize: 4096, handshakeTimeoutMs: 10_000 },
  live: {
    gopCache: true,
    maxGopCacheBytes: 16 * 1024 * 1024,
    flushIntervalMs: 50,
    maxViewerQueueBytes: 4 * 1024 * 1024,
  },
  hls: {
    enabled: true,
    targetDurationSeconds: 2,
    keyframeTolerance: 0.1,
    windowSegments: 6,
    endGraceSeconds: 10,
    endedRetentionSeconds: 60,
    maxHeldPlaylistRequests: 1000,
  },
  virtualLive: [{
    app: "live",
    stream: "demo",
    file: "media/demo.flv",
    playlist: [],
    loop: true,
    schedule: [],
    timeZone: "UTC",
  }],
  vod: {
    libraries: [{ path: "./media", prefix: "/vod/" }],
    // 4 s: short enough to start fast and seek finely, long enough that a 2-hour film is
    // 1,800 segments (Apple's guidance for VOD is 6 s; live keeps 2 s for latency).
    hlsSegmentSeconds: 4,
    indexCacheBytes: 256 * 1024 * 1024,
    maxAgeSeconds: 300,
    ffmpegPath: "",
  },
  apps: [],
  defaultApp: { access: "open", publishKeys: [] },
  hooks: {
    onPublish: "",
    onPlay: "",
    onStop: "",
    onUnpublish: "",
    timeoutMs: 3000,
    onFailure: "deny",
  },
  transcode: TRANSCODE_DEFAULTS,
};

const NAME_RE = /^[A-Za-z0-9_.-]+$/;
const safeName: Constraint = (v) =>
  typeof v === "string" && NAME_RE.test(v) && v !== "." && v !== ".."
    ? undefined
    : "a name of [A-Za-z0-9_.-]";

const libraryPrefix: Constraint = (v) =>
  typeof v === "string" && /^\/([A-Za-z0-9_.-]+\/)+$/.test(v) &&
    !v.includes("/../") &&
    !/^\/(api|assets|admin|play)\//.test(v)
    ? undefined
    : "a URL prefix like /vod/ (names of [A-Za-z0-9_.-], not /api/, /assets/, /admin/ or /play/)";
const uniquePrefixes: Constraint = (v) => {
  const p = (v as readonly { prefix: string }[]).map((x) => x.prefix);
  const dup = p.find((x, i) => p.indexOf(x) !== i);
  return dup === undefined ? undefined : `unique prefixes (${dup} repeats)`;
};

const hookUrl: Constraint = (v) => {
  if (v === "") return undefined;
  try {
    const u = new URL(v as string);
    if (u.protocol === "http:" || u.protocol === "https:") return undefined;
  } catch {
    // falls through to the expectation
  }
  return `"" or an http(s) URL`;
};
const nonEmptyText: Constraint = (v) =>
  typeof v === "string" && v.length > 0 && v.length <= 256
    ? undefined
    : "a non-empty string of at most 256 characters";
const uniqueNames: Constraint = (v) => {
  const names = (v as readonly { name: string }[]).map((x) => x.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  return dup === undefined ? undefined : `unique names (${dup} repeats)`;
};

/** Longest file path a playlist or schedule item may name (bytes: PATH_MAX on Linux). */
export const MAX_MEDIA_PATH_LENGTH = 4096;
/** Most items in one channel's playlist or schedule (a year of hourly slots fits). */
export const MAX_PLAYLIST_ITEMS = 10_000;

const mediaPath: Constraint = (v) =>
  typeof v === "string" && v.length > 0 && v.length <= MAX_MEDIA_PATH_LENGTH &&
    !v.includes("\0")
    ? undefined
    : `a file path of 1..${MAX_MEDIA_PATH_LENGTH} characters`;
const listOfAtMost = (max: number): Constraint => (v) =>
  Array.isArray(v) && v.length <= max ? undefined : `at most ${max} items`;
// 24-hour wall time; "24:00" is not a time of day (ISO 8601 allows it only as an end).
const CLOCK_TIME_RE = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;
const clockTime: Constraint = (v) =>
  typeof v === "string" && CLOCK_TIME_RE.test(v)
    ? undefined
    : "a time of day HH:MM (00:00..23:59)";
/** Intl knows every IANA zone the runtime's ICU has; an unknown one throws RangeError. */
const timeZone: Constraint = (v) => {
  if (typeof v !== "string" || v === "") return "an IANA time zone like UTC";
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: v });
    return undefined;
  } catch {
    return "an IANA time zone like UTC or Asia/Shanghai";
  }
};
const uniqueTimes: Constraint = (v) => {
  const at = (v as readonly { at: string }[]).map((x) => x.at);
  const dup = at.find((x, i) => at.indexOf(x) !== i);
  return dup === undefined ? undefined : `unique times (${dup} repeats)`;
};
/** A channel plays something: `file` or a `playlist`, not both (which would come first?). */
const channelMedia: Constraint = (v) => {
  const c = v as { file: string; playlist: readonly string[] };
  if (c.file !== "" && c.playlist.length > 0) {
    return "either 'file' or 'playlist', not both";
  }
  return c.file === "" && c.playlist.length === 0
    ? "a 'playlist' of files (or one 'file')"
    : undefined;
};
const uniqueChannels: Constraint = (v) => {
  const keys = (v as readonly { app: string; stream: string }[]).map((x) =>
    `${x.app}/${x.stream}`
  );
  const dup = keys.find((k, i) => keys.indexOf(k) !== i);
  return dup === undefined ? undefined : `unique app/stream (${dup} repeats)`;
};

/** Constraints of the `origin` section by dotted key (array items use `[]`). */
export const ORIGIN_CONSTRAINTS: Readonly<Record<string, Constraint>> = {
  "origin.rtmpPort": intIn(0, 65535),
  "origin.httpPort": intIn(0, 65535),
  "origin.httpServer": oneOf("http1", "deno"),
  "origin.maxStreams": intIn(1, 100_000),
  "origin.rtmp.outChunkSize": intIn(128, 65536),
  "origin.rtmp.handshakeTimeoutMs": intIn(100, 600_000),
  "origin.live.maxGopCacheBytes": intIn(0, 1 << 30),
  "origin.live.flushIntervalMs": intIn(0, 1000),
  "origin.live.maxViewerQueueBytes": intIn(64 * 1024, 1 << 30),
  "origin.hls.targetDurationSeconds": numIn(0.5, 60),
  "origin.hls.keyframeTolerance": numIn(0, 0.5),
  "origin.hls.windowSegments": intIn(2, 1000),
  "origin.vod.libraries[].prefix": libraryPrefix,
  "origin.vod.libraries[].path": nonEmptyText,
  "origin.vod.libraries": uniquePrefixes,
  "origin.vod.hlsSegmentSeconds": numIn(1, 60),
  "origin.vod.indexCacheBytes": intIn(1024 * 1024, 2 ** 40),
  "origin.vod.maxAgeSeconds": intIn(0, 31_536_000),
  "origin.hls.endGraceSeconds": numIn(0, 3600),
  "origin.hls.endedRetentionSeconds": numIn(0.1, 86_400),
  "origin.hls.maxHeldPlaylistRequests": intIn(0, 100_000),
  "origin.virtualLive": uniqueChannels,
  "origin.virtualLive[]": channelMedia,
  "origin.virtualLive[].app": safeName,
  "origin.virtualLive[].stream": safeName,
  "origin.virtualLive[].file": (v) => v === "" ? undefined : mediaPath(v),
  "origin.virtualLive[].playlist": listOfAtMost(MAX_PLAYLIST_ITEMS),
  "origin.virtualLive[].playlist[]": mediaPath,
  "origin.virtualLive[].schedule": (v) =>
    listOfAtMost(MAX_PLAYLIST_ITEMS)(v) ?? uniqueTimes(v),
  "origin.virtualLive[].schedule[].at": clockTime,
  "origin.virtualLive[].schedule[].file": mediaPath,
  "origin.virtualLive[].timeZone": timeZone,
  "origin.apps": uniqueNames,
  "origin.apps[].name": safeName,
  "origin.apps[].access": oneOf("open", "token"),
  "origin.apps[].publishKeys[]": nonEmptyText,
  "origin.apps[].streams": uniqueNames,
  "origin.apps[].streams[].name": safeName,
  "origin.apps[].streams[].publishKeys[]": nonEmptyText,
  "origin.defaultApp.access": oneOf("open", "token"),
  "origin.defaultApp.publishKeys[]": nonEmptyText,
  "origin.hooks.onPublish": hookUrl,
  "origin.hooks.onPlay": hookUrl,
  "origin.hooks.onStop": hookUrl,
  "origin.hooks.onUnpublish": hookUrl,
  "origin.hooks.timeoutMs": intIn(10, 60_000),
  "origin.hooks.onFailure": oneOf("deny", "allow"),
  ...TRANSCODE_CONSTRAINTS,
};
