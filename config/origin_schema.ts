/**
 * The origin role's config section: shape, defaults and constraints.
 *
 * In its own file like `edge_schema.ts` and `scheduler_schema.ts`: `config/schema.ts` composes
 * it as `origin: OriginConfig` in `MeridianConfig`, `origin: ORIGIN_DEFAULTS` in `DEFAULTS` and
 * `...ORIGIN_CONSTRAINTS` in `CONSTRAINTS` (every key here starts with `origin.`).
 *
 * @module
 */

import {
  ACCESS_LOG_DEFAULTS,
  type AccessLogConfig,
  accessLogConstraints,
} from "./access_log_schema.ts";
import { type Constraint, intIn, numIn, oneOf } from "./constraints.ts";
import {
  type TlsListenerConfig,
  tlsListenerConstraints,
  tlsListenerDefaults,
} from "./tls_schema.ts";
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

/** Time-shift (DVR) of an app: live segments kept on disk for a sliding window. */
export interface DvrAppConfig {
  /** Keep the app's live segments on disk (time-shift, programme list, clips). */
  readonly enabled: boolean;
  /** How far back time-shift reaches: older segments are deleted. */
  readonly windowSeconds: number;
  /** Bytes on disk for this app's DVR (oldest segments evicted first); 0 = only the overall cap. */
  readonly maxBytes: number;
}

/** A stream's own time-shift: replaces its app's (a given map enables it unless it says not). */
export interface DvrStreamConfig {
  readonly enabled: boolean;
  readonly windowSeconds: number;
}

/** Container formats a recording is written in. */
export type RecordFormat = "mp4" | "flv";

/** Recording of an app's (or a stream's) publishes into the library. */
export interface RecordAppConfig {
  /** Record every publish from its start (the admin API starts and stops others). */
  readonly enabled: boolean;
  /** `mp4` (fragmented while written, faststart when done) and/or `flv`. */
  readonly formats: readonly RecordFormat[];
}

/** Publish keys of one stream (they replace the app's keys for that stream). */
export interface OriginStreamAccessConfig {
  readonly name: string;
  /** Keys accepted as `?key=` on RTMP publish; empty: the app's keys apply. */
  readonly publishKeys: readonly string[];
  /** The stream's own time-shift; absent: the app's. */
  readonly dvr?: DvrStreamConfig | undefined;
  /** The stream's own recording; absent: the app's. */
  readonly record?: RecordAppConfig | undefined;
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
  /**
   * Time-shift of the app's streams (optional for programmatic callers; a loaded config
   * always has it). @default {enabled: false, windowSeconds: 7200, maxBytes: 0}
   */
  readonly dvr?: DvrAppConfig;
  /** Recording of the app's streams. @default {enabled: false, formats: [mp4]} */
  readonly record?: RecordAppConfig;
}

/**
 * A named programme of the programme list (节目单): `start`/`end` are ISO 8601 date-times (one
 * showing) or `HH:MM` (every day, in `origin.dvr.timeZone`).
 */
export interface DvrScheduleItem {
  readonly app: string;
  readonly stream: string;
  readonly title: string;
  readonly start: string;
  readonly end: string;
}

/** What every app's time-shift shares. */
export interface OriginDvrConfig {
  /** Folder of the DVR segments and indexes; "" = `${dataDir}/dvr`. */
  readonly dir: string;
  /** Bytes of DVR segments on disk, every app together (oldest evicted first). */
  readonly maxBytes: number;
  /** Named programmes (the admin API sets more per stream). */
  readonly schedule: readonly DvrScheduleItem[];
  /** IANA time zone of daily (`HH:MM`) programmes. */
  readonly timeZone: string;
}

/** What every recording shares. */
export interface OriginRecordConfig {
  /** Library folder recordings and clips are written into; "" = the first `origin.vod.libraries` path. */
  readonly library: string;
  /**
   * A recording's path in the library: `{app}`, `{stream}`, `{start}` (UTC, `2024-05-01T12-00-00Z`),
   * `{date}` (`2024-05-01`), `{unix}` (seconds) and `{ext}` are replaced.
   */
  readonly pathPattern: string;
  /** A clip's path in the library: as `pathPattern`, plus `{name}`. */
  readonly clipPattern: string;
  /** A recording is split into a new file after this many seconds (at a keyframe); 0 = never. */
  readonly splitSeconds: number;
  /** ...or once a file holds this many bytes; 0 = never. */
  readonly splitBytes: number;
  /** MP4 fragments (each fsync'ed) last about this long: a crash loses at most one. */
  readonly fragmentSeconds: number;
  /** Clip jobs run at once (each copies, so disk bandwidth, not CPU, bounds them). */
  readonly maxConcurrentClips: number;
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
  /**
   * URL told when a recording file is finished (JSON `{app, stream, path, start, duration,
   * bytes, format}`), retried with backoff until it answers 2xx. "" disables it.
   */
  readonly onRecordDone: string;
  /** A hook that has not answered within this many ms has failed. */
  readonly timeoutMs: number;
  /** What a failed on_publish/on_play hook (timeout, refused, bad URL) means: deny or allow. */
  readonly onFailure: "deny" | "allow";
}

/** A camera or encoder pulled over RTSP into a live stream (`origin.rtsp.sources[]`). */
export interface RtspSourceConfig {
  /** The live stream it becomes, `app/stream` (names of [A-Za-z0-9_.-]). */
  readonly name: string;
  /** `rtsp://[user[:password]@]host[:port]/path`; credentials may instead go in `user`/`password`. */
  readonly url: string;
  /** RTP over the RTSP connection (`tcp`, RFC 2326 §10.12) or over UDP port pairs. @default "tcp" */
  readonly transport: "tcp" | "udp";
  /** Digest (RFC 7616 MD5) or Basic user name; "" = the URL's. @default "" */
  readonly user: string;
  /** Its password; "" = the URL's. Never logged. @default "" */
  readonly password: string;
}

/** RTSP publish (ANNOUNCE/RECORD), play (DESCRIBE/PLAY) and pulled sources. */
export interface OriginRtspConfig {
  /** Listen for RTSP on {@link OriginRtspConfig.port}. @default true */
  readonly enabled: boolean;
  /** RTSP over TCP. @default 8554 */
  readonly port: number;
  /**
   * UDP ports every UDP session shares (RTP, RTCP), as MediaMTX's `rtpAddress`/`rtcpAddress`:
   * packets are told apart by the client's address. 0 = any free port. @default 8000 / 8001
   */
  readonly rtpPort: number;
  readonly rtcpPort: number;
  /** Offer RTP over UDP (SETUP with `RTP/AVP;unicast`); false: TCP interleaved only. @default true */
  readonly udp: boolean;
  /**
   * A session with no request, RTP or RTCP for this long is closed (RFC 2326 §12.37: the
   * `timeout` of the Session header, 60 s by default there too). @default 60
   */
  readonly sessionTimeoutSeconds: number;
  /** Cameras pulled into live streams; more are added through `POST /admin/sources`. */
  readonly sources: readonly RtspSourceConfig[];
  /** A pulled source that fails is retried after this, doubling up to `retryMaxMs`. */
  readonly retryMinMs: number;
  readonly retryMaxMs: number;
}

/** WebRTC: WHEP playback and WHIP ingest on the HTTP port (origin/webrtc/). */
export interface OriginWebrtcConfig {
  /** Answer WHEP (`POST /{app}/{stream}/whep`) and WHIP (`.../whip`) offers. @default true */
  readonly enabled: boolean;
  /**
   * Host candidate addresses offered besides the host's own interface addresses (loopback is
   * not one of those, so it is listed). @default ["127.0.0.1"]
   */
  readonly iceAddresses: readonly string[];
  /** UDP ports of the candidates, one per session, from this range. @default 20000..20999 */
  readonly icePortMin: number;
  readonly icePortMax: number;
  /** WHEP and WHIP sessions open at once; more offers get 503. @default 256 */
  readonly maxSessions: number;
  /** ICE gathering must complete within this before the answer goes out (ms). @default 3000 */
  readonly gatherTimeoutMs: number;
  /** A session whose ICE and DTLS did not connect within this after its answer is closed (ms). @default 15000 */
  readonly connectTimeoutMs: number;
  /**
   * AAC audio goes to WHEP viewers as Opus, transcoded by one ffmpeg child per stream with
   * WebRTC viewers (`origin.transcode.ffmpegPath`); false: video only. @default true
   */
  readonly opusAudio: boolean;
}

/** SRT publish and play, libsrt through FFI. */
export interface OriginSrtConfig {
  /** Listen for SRT on {@link OriginSrtConfig.port} (UDP); without libsrt it stays off with a warning. */
  readonly enabled: boolean;
  /** @default 10080 */
  readonly port: number;
  /** SRTO_LATENCY: the receiver's buffer for retransmissions, ms (libsrt's default 120). */
  readonly latencyMs: number;
  /** SRTO_PASSPHRASE (10..79 characters) every caller must use; "" = no encryption. */
  readonly passphrase: string;
  /** SRTO_PBKEYLEN: AES key length in bytes (16, 24 or 32) with a passphrase. @default 16 */
  readonly pbKeyLen: number;
  /** The libsrt shared object; "" tries Debian's and upstream's names. @default "" */
  readonly library: string;
  /**
   * A connection that has not started publishing or playing, or a publisher that sends
   * nothing, is closed after this (ms). @default 10000
   */
  readonly idleTimeoutMs: number;
}

/** One upstream origin a relay pulls live streams from (`origin.relay.upstreams[]`). */
export interface RelayUpstreamConfig {
  /**
   * Where streams are pulled: `rtmp://host[:port]` (RTMP play) or `http(s)://host[:port]`
   * (HTTP-FLV). The app and stream are the requested ones.
   */
  readonly url: string;
  /**
   * The upstream's HTTP base for its stream list (`/api/relay/streams`); "" = `url` when it is
   * http(s), else no list from this upstream (its streams are found by trying a pull).
   */
  readonly apiUrl: string;
  /** Apps pulled from this upstream; [] = every app. */
  readonly apps: readonly string[];
}

/** One static push of chosen streams to another origin or a platform (`origin.relay.forward[]`). */
export interface RelayForwardConfig {
  /**
   * `rtmp(s)://host[:port]/app[/stream][?query]`; `{app}` and `{stream}` in the path are the
   * local names; without a stream part the local stream name is appended. Put a platform's
   * stream key in `streamKey`, not here: the URL is shown in status and `/admin/config`.
   */
  readonly url: string;
  /**
   * The stream name sent instead (a platform's stream key, e.g. `live_123_abc`); never shown
   * in status, logs or `/admin/config`. "" = the name from `url`.
   */
  readonly streamKey: string;
  /** Apps forwarded; [] = every app. */
  readonly apps: readonly string[];
  /** Streams of those apps forwarded; [] = every stream. */
  readonly streams: readonly string[];
}

/** Origin-to-origin relaying: pulls on demand, static pushes, the shared secret, loop limits. */
export interface OriginRelayConfig {
  /** Upstreams in fail-over order: a pull tries them first to last. [] = no pulls. */
  readonly upstreams: readonly RelayUpstreamConfig[];
  /** Static pushes of live streams to other origins or third-party ingest URLs. */
  readonly forward: readonly RelayForwardConfig[];
  /**
   * Shared secret of the cascade: sent on every pull and stream-list request; when set, this
   * node refuses relay pulls and list requests without it. "" = relay requests need none.
   */
  readonly secret: string;
  /** This node's id in the relay chain (loop detection); "" = random per process. */
  readonly nodeId: string;
  /** Most hops a pull may have travelled to reach this node; one past it is refused. */
  readonly maxDepth: number;
  /** A pull stops this long after its last viewer left and its last HLS request (ms). */
  readonly idleCloseMs: number;
  /** A viewer of a stream being pulled waits at most this long for the pull to start (ms). */
  readonly startTimeoutMs: number;
  /** After its upstream is lost a pull tries the others this long before the stream ends (ms). */
  readonly reconnectWindowMs: number;
  /** An upstream silent for this long (no byte) counts as lost (ms). */
  readonly readTimeoutMs: number;
  /**
   * Which streams exist upstream: `upstream` (poll each upstream's list), `store` (the shared
   * store's stream directory), `off` (every request tries a pull).
   */
  readonly streamList: "upstream" | "store" | "off";
  /** Between two polls of the stream list (ms). */
  readonly streamListIntervalMs: number;
}

export interface OriginConfig {
  /** Address the origin's RTMP and HTTP listeners bind to. */
  readonly hostname: string;
  /**
   * Bearer token of the origin's `/admin/*` (virtual-live channels, clips, recordings,
   * programmes); "" = the node's
   * `control.adminToken` (configured or generated), as for the edge and the scheduler.
   */
  readonly adminToken: string;
  readonly rtmpPort: number;
  readonly httpPort: number;
  /** HTTPS beside the HTTP port (same routes), on once it has a certificate (`net/tls/`). */
  readonly tls: TlsListenerConfig;
  /**
   * RTMPS (RTMP over TLS) publish and play beside the RTMP port, on once it has a certificate
   * (1936 by default; 443 in production, as platforms' `rtmps://` ingest URLs assume).
   */
  readonly rtmps: TlsListenerConfig;
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
  /**
   * Low-latency HLS (RFC 8216bis) per app: `/{app}/{stream}/ll.m3u8` with fMP4 parts, blocking
   * reload and delta updates, beside the regular `.m3u8`. Segments follow `origin.hls`
   * (target, tolerance); end grace and retention too.
   */
  readonly llhls: {
    /** Apps whose streams are also packaged as LL-HLS ([] turns it off). */
    readonly apps: readonly string[];
    /** Part target (PART-TARGET), seconds: parts are at most this long. */
    readonly partTargetSeconds: number;
    /** Complete segments listed in the LL playlist (CAN-SKIP-UNTIL is 6 targets). */
    readonly windowSegments: number;
    /** Requests held at once for parts not made yet (all streams); more get 503. */
    readonly maxHeldRequests: number;
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
    /** Largest file an upload through the admin API may make (bytes); 0 turns uploads off. */
    readonly maxUploadBytes: number;
    /**
     * Trick-play thumbnails (a sprite and a WebVTT track per file, made once and kept in
     * `${dataDir}/trickplay`): seconds between two thumbnails, at least; long files get
     * fewer so a sprite stays at most 200 tiles.
     */
    readonly trickPlayIntervalSeconds: number;
  };
  /** Access rules per app; apps not listed follow {@link OriginConfig.defaultApp}. */
  readonly apps: readonly OriginAppConfig[];
  /** Access rules of every app not listed in `apps`. */
  readonly defaultApp: {
    readonly access: AppAccess;
    readonly publishKeys: readonly string[];
    /** Optional for programmatic callers; a loaded config always has it. */
    readonly dvr?: DvrAppConfig;
    readonly record?: RecordAppConfig;
  };
  readonly hooks: OriginHooksConfig;
  readonly rtsp: OriginRtspConfig;
  readonly srt: OriginSrtConfig;
  readonly webrtc: OriginWebrtcConfig;
  /** Relay cascade: pulls from upstream origins, static pushes (origin/relay/). */
  readonly relay: OriginRelayConfig;
  /** Time-shift storage shared by every app (each app says whether and how long). */
  readonly dvr: OriginDvrConfig;
  /** Recording and clips (each app says whether it records). */
  readonly record: OriginRecordConfig;
  /** One line per HTTP request and per RTMP session (`log/access/`). */
  readonly accessLog: AccessLogConfig;
  /** Live ABR ladders, VOD transcode jobs and snapshots (ffmpeg children). */
  readonly transcode: TranscodeConfig;
}

/** The `origin` section's defaults: `deno task start` with no config file runs these. */
export const ORIGIN_DEFAULTS: OriginConfig = {
  hostname: "127.0.0.1",
  adminToken: "",
  rtmpPort: 1935,
  httpPort: 8090,
  tls: tlsListenerDefaults(8493),
  rtmps: tlsListenerDefaults(1936),
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
  // On for `live` (the quick start's app and the demo channel): `/live/demo/ll.m3u8`.
  llhls: {
    apps: ["live"],
    partTargetSeconds: 0.333,
    windowSegments: 10,
    maxHeldRequests: 10_000,
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
    // 16 GiB: a two-hour film at 15 Mbit/s (13.5 GB) fits; a console upload beyond that is
    // better copied to the library folder directly.
    maxUploadBytes: 16 * 1024 ** 3,
    // 10 s: a two-minute clip gets 12 thumbnails, a film one every 36 s (200 tiles).
    trickPlayIntervalSeconds: 10,
  },
  apps: [],
  defaultApp: {
    access: "open",
    publishKeys: [],
    // The quick start shows time-shift at once; 10 minutes of a 2 Mbit/s stream is 150 MB.
    dvr: { enabled: true, windowSeconds: 600, maxBytes: 0 },
    record: { enabled: false, formats: ["mp4"] },
  },
  hooks: {
    onPublish: "",
    onPlay: "",
    onStop: "",
    onUnpublish: "",
    onRecordDone: "",
    timeoutMs: 3000,
    onFailure: "deny",
  },
  // The ports of ../shared/INTERFACES.md; both on, as `deno task start` promises them.
  rtsp: {
    enabled: true,
    port: 8554,
    rtpPort: 8000,
    rtcpPort: 8001,
    udp: true,
    sessionTimeoutSeconds: 60,
    sources: [],
    // 1 s then doubling to 30 s: a camera that reboots (about 30-60 s) is back within one
    // retry of its return, and a dead one costs a connection attempt every 30 s.
    retryMinMs: 1000,
    retryMaxMs: 30_000,
  },
  srt: {
    enabled: true,
    port: 10080,
    // libsrt's own default (SRTO_LATENCY 120 ms): four round trips of a 30 ms path.
    latencyMs: 120,
    passphrase: "",
    pbKeyLen: 16,
    library: "",
    idleTimeoutMs: 10_000,
  },
  webrtc: {
    enabled: true,
    iceAddresses: ["127.0.0.1"],
    // 1,000 ports: four times the default maxSessions, so a port freed by a closing session
    // is not needed again at once.
    icePortMin: 20_000,
    icePortMax: 20_999,
    maxSessions: 256,
    // Host candidates only: gathering takes milliseconds; 3 s covers a slow interface scan.
    gatherTimeoutMs: 3000,
    // ICE checks and the DTLS handshake take well under a second on a LAN; 15 s allows a
    // slow client (a browser tab in the background) without keeping dead offers long.
    connectTimeoutMs: 15_000,
    opusAudio: true,
  },

  relay: {
    upstreams: [],
    forward: [],
    secret: "",
    nodeId: "",
    // Eight levels: origin, shields and regional origins of any real cascade fit many times.
    maxDepth: 8,
    // Longer than an HLS player's reload interval (a target duration), so HLS-only viewers
    // keep the pull, and long enough that a player reconnecting finds it still running.
    idleCloseMs: 10_000,
    // Below the edge's 10 s upstream timeout with the 1.5-target HLS hold added (3 s).
    startTimeoutMs: 4_000,
    reconnectWindowMs: 10_000,
    // Media arrives every few tens of ms; 5 s of silence is a dead upstream, not a slow one.
    readTimeoutMs: 5_000,
    streamList: "upstream",
    streamListIntervalMs: 2_000,
  },
  dvr: {
    dir: "",
    // 20 GiB: two hours of 10 streams at 2 Mbit/s (18 GB), on any disk a server has.
    maxBytes: 20 * 1024 ** 3,
    schedule: [],
    timeZone: "UTC",
  },
  record: {
    library: "",
    pathPattern: "recordings/{app}/{stream}/{start}.{ext}",
    clipPattern: "clips/{app}/{stream}/{name}.{ext}",
    // An hour a file: a day's recording is 24 files a player can seek in at once.
    splitSeconds: 3600,
    splitBytes: 0,
    fragmentSeconds: 1,
    maxConcurrentClips: 2,
  },
  accessLog: ACCESS_LOG_DEFAULTS,
  transcode: TRANSCODE_DEFAULTS,
};

const NAME_RE = /^[A-Za-z0-9_.-]+$/;
/** A dotted-quad IPv4 address (ICE candidates here are IPv4). */
function isIpv4(v: string): boolean {
  const parts = v.split(".");
  return parts.length === 4 &&
    parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

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
const uniqueStrings: Constraint = (v) => {
  const list = v as readonly string[];
  const dup = list.find((n, i) => list.indexOf(n) !== i);
  return dup === undefined ? undefined : `unique names (${dup} repeats)`;
};
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

/** `app/stream` of a pulled source: two safe names. */
const streamPath: Constraint = (v) => {
  const parts = typeof v === "string" ? v.split("/") : [];
  return parts.length === 2 &&
      parts.every((p) => NAME_RE.test(p) && p !== "." && p !== "..")
    ? undefined
    : "app/stream (names of [A-Za-z0-9_.-])";
};
const rtspUrl: Constraint = (v) => {
  try {
    const u = new URL(v as string);
    if ((u.protocol === "rtsp:" || u.protocol === "rtsps:") && u.hostname) {
      return u.protocol === "rtsp:"
        ? undefined
        : "an rtsp:// URL (rtsps is not supported)";
    }
  } catch {
    // falls through
  }
  return "an rtsp://host[:port]/path URL";
};
const srtPassphrase: Constraint = (v) =>
  v === "" || (typeof v === "string" && v.length >= 10 && v.length <= 79)
    ? undefined
    : `"" or 10..79 characters (SRTO_PASSPHRASE)`;
/** A relay upstream: `rtmp(s)://` or `http(s)://`, a host, no path. */
const upstreamUrl: Constraint = (v) => {
  try {
    const u = new URL(v as string);
    if (
      /^(rtmps?|https?):$/.test(u.protocol) && u.hostname !== "" &&
      (u.pathname === "" || u.pathname === "/") && u.search === ""
    ) return undefined;
  } catch {
    // falls through to the expectation
  }
  return "rtmp://host[:port] or http(s)://host[:port] (no path)";
};
const httpBase: Constraint = (v) => {
  if (v === "") return undefined;
  try {
    const u = new URL(v as string);
    if (/^https?:$/.test(u.protocol) && u.hostname !== "") return undefined;
  } catch {
    // falls through to the expectation
  }
  return `"" or an http(s) URL`;
};
const forwardUrl: Constraint = (v) => {
  try {
    const u = new URL(v as string);
    const path = u.pathname.split("/").filter((p) => p !== "");
    if (
      /^rtmps?:$/.test(u.protocol) && u.hostname !== "" && path.length >= 1 &&
      path.length <= 2
    ) return undefined;
  } catch {
    // falls through to the expectation
  }
  return "rtmp(s)://host[:port]/app[/stream][?query]";
};
/** Shorter shared secrets are guessable; the error shows only the length (config/errors.ts). */
export const MIN_RELAY_SECRET_LENGTH = 16;
const windowSeconds = intIn(10, 7 * 86_400);
const dvrBytes = intIn(0, 2 ** 50);
const formatList: Constraint = (v) => {
  const f = v as readonly string[];
  return f.length > 0 && new Set(f).size === f.length
    ? undefined
    : "a non-empty list of unique formats (mp4, flv)";
};
const PATTERN_FIELDS = [
  "app",
  "stream",
  "start",
  "date",
  "unix",
  "ext",
  "name",
];
/** A library path pattern: relative, `{ext}` in its last part, only known fields, no `..`. */
const pathPattern = (fields: readonly string[]): Constraint => (v) => {
  const expected = `a relative path pattern ending in .{ext} (fields: ${
    fields.map((f) => `{${f}}`).join(" ")
  })`;
  if (typeof v !== "string" || v.length === 0 || v.length > 512) {
    return expected;
  }
  const unknown = [...v.matchAll(/\{([^}]*)\}/g)].some((m) =>
    !fields.includes(m[1]!)
  );
  const parts = v.split("/");
  const bad = v.startsWith("/") || v.includes("\\") ||
    parts.some((p) =>
      p === "" || p === "." || p === ".." || p.startsWith(".")
    ) ||
    !parts[parts.length - 1]!.endsWith(".{ext}");
  return unknown || bad ? expected : undefined;
};
/** `HH:MM` (daily) or an ISO 8601 date-time with a zone (`2024-05-01T19:00:00Z`). */
export const SCHEDULE_TIME_RE =
  /^(?:([01]\d|2[0-3]):([0-5]\d)|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2}))$/;
const scheduleTime: Constraint = (v) =>
  typeof v === "string" && SCHEDULE_TIME_RE.test(v) &&
    (v.length === 5 || Number.isFinite(Date.parse(v)))
    ? undefined
    : "HH:MM (daily) or an ISO 8601 date-time with a zone, like 2024-05-01T19:00:00Z";
const scheduleItem: Constraint = (v) => {
  const { start, end } = v as { start: string; end: string };
  const daily = start.length === 5;
  if (daily !== (end.length === 5)) {
    return "start and end both HH:MM (daily) or both date-times";
  }
  if (daily ? start === end : Date.parse(end) <= Date.parse(start)) {
    return "an end after the start";
  }
  return undefined;
};

/** Constraints of the `origin` section by dotted key (array items use `[]`). */
export const ORIGIN_CONSTRAINTS: Readonly<Record<string, Constraint>> = {
  "origin.rtmpPort": intIn(0, 65535),
  ...accessLogConstraints("origin.accessLog"),
  "origin.httpPort": intIn(0, 65535),
  ...tlsListenerConstraints("origin.tls"),
  ...tlsListenerConstraints("origin.rtmps"),
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
  "origin.vod.maxUploadBytes": intIn(0, 2 ** 50),
  "origin.vod.trickPlayIntervalSeconds": intIn(1, 3600),
  "origin.hls.endGraceSeconds": numIn(0, 3600),
  "origin.hls.endedRetentionSeconds": numIn(0.1, 86_400),
  "origin.hls.maxHeldPlaylistRequests": intIn(0, 100_000),
  "origin.llhls.apps": uniqueStrings,
  "origin.llhls.apps[]": safeName,
  // Apple: 0.2..1 s parts; shorter cost a request each, longer lose the point.
  "origin.llhls.partTargetSeconds": numIn(0.1, 2),
  "origin.llhls.windowSegments": intIn(3, 1000),
  "origin.llhls.maxHeldRequests": intIn(0, 1_000_000),
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
  "origin.defaultApp.dvr.windowSeconds": windowSeconds,
  "origin.defaultApp.dvr.maxBytes": dvrBytes,
  "origin.defaultApp.record.formats": formatList,
  "origin.defaultApp.record.formats[]": oneOf("mp4", "flv"),
  "origin.apps[].dvr.windowSeconds": windowSeconds,
  "origin.apps[].dvr.maxBytes": dvrBytes,
  "origin.apps[].record.formats": formatList,
  "origin.apps[].record.formats[]": oneOf("mp4", "flv"),
  "origin.apps[].streams[].dvr.windowSeconds": windowSeconds,
  "origin.apps[].streams[].record.formats": formatList,
  "origin.apps[].streams[].record.formats[]": oneOf("mp4", "flv"),
  "origin.dvr.dir": (v) =>
    typeof v === "string" && v.length <= 4096 && !v.includes("\0")
      ? undefined
      : 'a folder path ("" = dataDir/dvr)',
  "origin.dvr.maxBytes": intIn(1024 * 1024, 2 ** 50),
  "origin.dvr.timeZone": timeZone,
  "origin.dvr.schedule[]": scheduleItem,
  "origin.dvr.schedule[].app": safeName,
  "origin.dvr.schedule[].stream": safeName,
  "origin.dvr.schedule[].title": nonEmptyText,
  "origin.dvr.schedule[].start": scheduleTime,
  "origin.dvr.schedule[].end": scheduleTime,
  "origin.record.pathPattern": pathPattern(
    PATTERN_FIELDS.filter((f) => f !== "name"),
  ),
  "origin.record.clipPattern": pathPattern(PATTERN_FIELDS),
  "origin.record.splitSeconds": intIn(0, 7 * 86_400),
  "origin.record.splitBytes": (v) =>
    v === 0 || (typeof v === "number" && Number.isInteger(v) &&
        v >= 1024 * 1024 && v <= 2 ** 50)
      ? undefined
      : "0 (never) or an integer 1048576..2^50",
  "origin.record.fragmentSeconds": numIn(0.1, 10),
  "origin.record.maxConcurrentClips": intIn(1, 64),
  "origin.hooks.onPublish": hookUrl,
  "origin.hooks.onPlay": hookUrl,
  "origin.hooks.onStop": hookUrl,
  "origin.hooks.onUnpublish": hookUrl,
  "origin.hooks.onRecordDone": hookUrl,
  "origin.hooks.timeoutMs": intIn(10, 60_000),
  "origin.hooks.onFailure": oneOf("deny", "allow"),
  "origin.rtsp.port": intIn(0, 65535),
  "origin.rtsp.rtpPort": intIn(0, 65535),
  "origin.rtsp.rtcpPort": intIn(0, 65535),
  "origin.rtsp.sessionTimeoutSeconds": intIn(5, 3600),
  "origin.rtsp.sources": uniqueNames,
  "origin.rtsp.sources[].name": streamPath,
  "origin.rtsp.sources[].url": rtspUrl,
  "origin.rtsp.sources[].transport": oneOf("tcp", "udp"),
  "origin.rtsp.retryMinMs": intIn(100, 600_000),
  "origin.rtsp.retryMaxMs": intIn(100, 3_600_000),
  "origin.srt.port": intIn(0, 65535),
  "origin.webrtc.iceAddresses[]": (v) =>
    typeof v === "string" && isIpv4(v) ? undefined : "an IPv4 address",
  "origin.webrtc.icePortMin": intIn(1024, 65534),
  "origin.webrtc.icePortMax": intIn(1025, 65535),
  "origin.webrtc.maxSessions": intIn(1, 10_000),
  "origin.webrtc.gatherTimeoutMs": intIn(100, 60_000),
  "origin.webrtc.connectTimeoutMs": intIn(1000, 600_000),
  "origin.srt.latencyMs": intIn(20, 10_000),
  "origin.srt.passphrase": srtPassphrase,
  "origin.srt.pbKeyLen": (v) =>
    v === 16 || v === 24 || v === 32 ? undefined : "16, 24 or 32",
  "origin.srt.idleTimeoutMs": intIn(100, 600_000),
  "origin.relay.upstreams[].url": upstreamUrl,
  "origin.relay.upstreams[].apiUrl": httpBase,
  "origin.relay.upstreams[].apps[]": safeName,
  "origin.relay.forward[].url": forwardUrl,
  "origin.relay.forward[].streamKey": (v) =>
    typeof v === "string" && v.length <= 1024 && !/[\s?]/.test(v)
      ? undefined
      : "a stream key of at most 1024 characters, no spaces or '?'",
  "origin.relay.forward[].apps[]": safeName,
  "origin.relay.forward[].streams[]": safeName,
  "origin.relay.secret": (v) =>
    v === "" || (typeof v === "string" && v.length >= MIN_RELAY_SECRET_LENGTH &&
        v.length <= 256)
      ? undefined
      : `"" or ${MIN_RELAY_SECRET_LENGTH}..256 characters`,
  "origin.relay.nodeId": (v) =>
    v === "" || (typeof v === "string" && /^[A-Za-z0-9_.:-]{1,64}$/.test(v))
      ? undefined
      : `"" or 1..64 characters of [A-Za-z0-9_.:-]`,
  "origin.relay.maxDepth": intIn(1, 64),
  "origin.relay.idleCloseMs": intIn(0, 3_600_000),
  "origin.relay.startTimeoutMs": intIn(100, 60_000),
  "origin.relay.reconnectWindowMs": intIn(0, 600_000),
  "origin.relay.readTimeoutMs": intIn(100, 600_000),
  "origin.relay.streamList": oneOf("upstream", "store", "off"),
  "origin.relay.streamListIntervalMs": intIn(100, 600_000),
  ...TRANSCODE_CONSTRAINTS,
};
