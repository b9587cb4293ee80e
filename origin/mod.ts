/**
 * The origin role: RTMP ingest and play, HTTP-FLV, HLS, virtual-live channels.
 *
 * `startOrigin` wires the parts together from the `origin` config section; each part receives
 * only its own slice.
 *
 * @module
 */

import { encodeFlvHeader } from "../codec/flv/header.ts";
import { encodeFlvTag } from "../codec/flv/tag.ts";
import { encodeRtmpMediaTag } from "../codec/rtmp/mod.ts";
import {
  type AuthConfig,
  DEFAULTS,
  type LimitsConfig,
  type OriginConfig,
  type TlsConfig,
} from "../config/mod.ts";
import {
  importSessionKey,
  loadSessionKey,
  type SessionKey,
} from "../access/mod.ts";
import type { MetricsRegistry } from "../metrics/mod.ts";
import { openAccessLog } from "../log/access/mod.ts";
import {
  accessRecordOf,
  createResumeApi,
  guardFromLimits,
  http1Limits,
  openTlsServing,
  readCaCertificates,
  registerConnGuard,
  serveHttp1,
  StartupCleanup,
} from "../net/mod.ts";
import type { SharedStore } from "../store/mod.ts";
import { AccessGate, createRtmpAccessControl } from "./auth/mod.ts";
import { loadWebAssets } from "./http/assets.ts";
import { createOriginHttpApp, type HlsTraffic } from "./http/app.ts";
import { HlsSessions } from "./http/hls_sessions.ts";
import { OriginStreamTotals, registerOriginMetrics } from "./metrics.ts";
import { createStreamAdminRoutes } from "./http/stream_admin.ts";
import { Hono } from "hono";
import { HlsPackagers, HlsSequenceStore } from "./hls/mod.ts";
import { type Archive, ArchivePolicies, openArchive } from "./archive/mod.ts";
import type { Logger } from "./log.ts";
import { createRelay, type RelayHandle } from "./relay/mod.ts";
import { startRtmpServer } from "./rtmp/mod.ts";
import { createIngestMetrics, type IngestContext } from "./ingest/mod.ts";
import { startSrtServer } from "./srt/mod.ts";
import { createWebrtcRoutes, OpusFeeds, startWebrtc } from "./webrtc/mod.ts";
import {
  createSourceAdminRoutes,
  RtspSources,
  startRtspServer,
} from "./rtsp/mod.ts";
import type { RtmpAccessRecord } from "../log/access/mod.ts";
import {
  DEFAULT_ANNOUNCE_INTERVAL_MS,
  StreamAnnouncer,
} from "./stream/announcer.ts";
import { StreamRegistry } from "./stream/registry.ts";
import { startTranscoding } from "./transcode/mod.ts";
import { createLlHlsRoutes, LlHlsPackagers } from "./llhls/mod.ts";
import {
  createVodAdminRoutes,
  LibraryWriter,
  registerVodMetrics,
  VodService,
} from "./vod/mod.ts";
import {
  createVirtualLiveRoutes,
  registerVirtualLiveMetrics,
  VirtualLiveChannels,
} from "./virtual_live/mod.ts";

export { StreamRegistry } from "./stream/registry.ts";
export { OriginError, OriginErrorCode } from "./errors.ts";

/** Below the data directory: the HLS numbering of every stream (see HlsSequenceStore). */
export const HLS_STATE_DIR = "hls";
/** Below the data directory: the DVR's segments and indexes (unless `origin.dvr.dir` says). */
export const DVR_DIR = "dvr";
/** Below the data directory: the archive's state (programmes set, clip jobs, recordings). */
export const ARCHIVE_STATE_DIR = "archive";

/** A running origin. */
export interface OriginHandle {
  readonly rtmpPort: number;
  readonly httpPort: number;
  /** The SRT port (UDP), when `origin.srt` is on and its listener started. */
  readonly srtPort: number | undefined;
  /** The RTSP port, when `origin.rtsp` is on and its listener started. */
  readonly rtspPort: number | undefined;
  /** The bound RTMPS port; undefined when `origin.rtmps` has no certificate. */
  readonly rtmpsPort: number | undefined;
  /** The bound HTTPS port; undefined when `origin.tls` has no certificate. */
  readonly httpsPort: number | undefined;
  readonly registry: StreamRegistry;
  /** Relaying: pulls, pushes, this node's id in relay chains. */
  readonly relay: RelayHandle;
  close(): Promise<void>;
}

/** What the origin needs from the process. */
export interface OriginDeps {
  readonly log: Logger;
  readonly metrics: MetricsRegistry;
  /**
   * The shared store (tokens, revocation feed, session secret), opened once by the process.
   * Required when an app requires tokens; start-up fails otherwise.
   */
  readonly store?: SharedStore | undefined;
  /** The `auth` section (session secret and length, the all-apps token switch). */
  readonly auth?: AuthConfig | undefined;
  /** Hook requests go through this. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /**
   * The node's data directory: HLS numbering is kept in `${dataDir}/hls` so that a restarted
   * origin goes on from it. Without it numbering restarts at 0 with the process.
   */
  readonly dataDir?: string | undefined;
  /**
   * The top-level `limits` section: connection caps of the RTMP port (`limits.rtmp`) and the
   * HTTP port (`limits.http`, with its deadlines), trusted networks exempt from the
   * per-address caps. @default DEFAULTS.limits
   */
  readonly limits?: LimitsConfig | undefined;
  /**
   * The top-level `tls` section: handshake deadline and certificate reload of the RTMPS and
   * HTTPS ports. @default DEFAULTS.tls
   */
  readonly tls?: TlsConfig | undefined;
  /**
   * Clock of the virtual-live channels (epoch ms): paces their frames and places their daily
   * slots. Tests run it fast. @default Date.now
   */
  readonly virtualLiveClock?: () => number;
}

/** The session key: the configured secret, or the one shared through the store. */
async function sessionKeyOf(
  auth: AuthConfig,
  store: SharedStore | undefined,
): Promise<SessionKey | undefined> {
  if (store) return await loadSessionKey(auth, store);
  if (auth.sessionSecret !== "") {
    return await importSessionKey(auth.sessionSecret);
  }
  return undefined;
}

/** `host:port` as a URL authority (IPv6 in brackets); a wildcard bind names this machine. */
function urlAuthority(hostname: string, port: number): string {
  let host = hostname;
  if (host === "0.0.0.0" || host === "::" || host === "") {
    try {
      host = Deno.hostname();
    } catch {
      host = "127.0.0.1"; // no --allow-sys: same-machine links still work
    }
  }
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/**
 * Announces the origin's live streams into the store's stream directory (for the control
 * role's `GET /admin/streams` and console): every {@link DEFAULT_ANNOUNCE_INTERVAL_MS} and
 * shortly after a publish starts or ends. Reads the registry on a timer only, never per tag.
 */
function announceStreams(
  store: SharedStore,
  registry: StreamRegistry,
  where: { hostname: string; httpPort: number; rtmpPort: number },
  log: Logger,
): StreamAnnouncer {
  const http = urlAuthority(where.hostname, where.httpPort);
  const announcer = new StreamAnnouncer(
    store.streams,
    () =>
      registry.list().map((s) => ({
        app: s.app,
        name: s.name,
        startedAt: s.startedAt,
        viewers: s.viewers,
        viewersByProtocol: s.viewersByFormat,
        bytesIn: s.bytesIn,
        codecs: s.codecs,
        protocol: s.publisher.protocol,
        publisher: {
          address: s.publisher.peer,
          software: s.media.encoder ?? "",
        },
        video: {
          width: s.media.width ?? 0,
          height: s.media.height ?? 0,
          fps: s.media.fps ?? 0,
        },
      })),
    {
      originId: http,
      httpUrl: `http://${http}`,
      rtmpUrl: `rtmp://${urlAuthority(where.hostname, where.rtmpPort)}`,
      intervalMs: DEFAULT_ANNOUNCE_INTERVAL_MS,
      log,
    },
  );
  registry.onPublish((hub) => {
    announcer.changed();
    // The hub tells its listeners when it ends; the no-op onTag is the only per-tag cost.
    hub.addListener({ onTag() {}, onEnd: () => announcer.changed() });
  });
  return announcer;
}

/** The origin's own admin routes: kicking publishers, and the libraries' writes. */
function originAdminRoutes(
  config: OriginConfig,
  registry: StreamRegistry,
  vod: VodService | undefined,
  log: Logger,
): Hono {
  const admin = new Hono();
  admin.route(
    "/",
    createStreamAdminRoutes({ registry, adminToken: config.adminToken, log }),
  );
  if (vod) {
    admin.route(
      "/",
      createVodAdminRoutes({
        libraries: vod.libraries,
        writer: new LibraryWriter({
          maxUploadBytes: config.vod.maxUploadBytes,
        }),
        adminToken: config.adminToken,
        log,
      }),
    );
  }
  return admin;
}

/**
 * Starts one of the ingests that default to on (SRT, RTSP): a port that cannot be bound, or
 * libsrt missing, is logged as an error and the origin starts without that listener, so a
 * machine where another program holds 8554 or 10080 (or that has no libsrt) still serves
 * RTMP, HTTP-FLV and HLS. `meridian_origin_listener_up{listener}` shows which ones run.
 */
function startOptional<T>(
  log: Logger,
  what: string,
  hostname: string,
  port: number,
  open: () => T,
): T | undefined {
  try {
    return open();
  } catch (err) {
    log.error(`${what} off: cannot start its listener`, {
      address: `${hostname}:${port}`,
      error: err instanceof Error ? err.message : String(err),
    });
    return undefined;
  }
}

/**
 * Starts the origin: RTMP listener, HTTP listener, HLS packagers and virtual-live channels,
 * with access control (origin.apps, origin.defaultApp, origin.hooks, the auth section).
 *
 * A start-up that fails closes what it had opened (the RTMP listener when the HTTP port is
 * taken, the access gate's feed subscription, the HLS packagers) before the error goes up.
 *
 * @throws {NetError} `NET_LISTEN` when the RTMP or HTTP port cannot be bound (it names the
 *   address).
 * @throws {OriginError} `ORIGIN_ACCESS_SETUP` when an app requires tokens without a store;
 *   `ORIGIN_ASSETS` when the player files are missing.
 */
export async function startOrigin(
  config: OriginConfig,
  deps: OriginDeps,
): Promise<OriginHandle> {
  const log = deps.log;
  const auth = deps.auth ?? DEFAULTS.auth;
  const access = new AccessGate({
    apps: config.apps,
    defaultApp: config.defaultApp,
    hooks: config.hooks,
    tokensEverywhere: auth.enabled,
    sessionSeconds: auth.sessionSeconds,
  }, {
    store: deps.store,
    sessionKey: await sessionKeyOf(auth, deps.store),
    log: log.child("access"),
    metrics: deps.metrics,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
  // What is open so far, closed newest first if a later step fails (no half-started origin).
  const opened = new StartupCleanup();
  opened.add(() => access.close());
  const chunkSize = config.rtmp.outChunkSize;
  const totals = new OriginStreamTotals();
  const accessLog = await opened.run(() =>
    openAccessLog(config.accessLog, {
      role: "origin",
      metrics: deps.metrics,
      log: log.child("access-log"),
    })
  );
  opened.add(() => accessLog?.close());
  const hlsStateWriteErrors = deps.metrics.counter(
    "meridian_origin_hls_state_write_errors_total",
    "Failed writes of the persisted HLS numbering (dataDir/hls): a restart may then reuse sequence numbers",
  );
  const registry = new StreamRegistry({
    gopCache: config.live.gopCache,
    maxGopCacheBytes: config.live.maxGopCacheBytes,
    flushIntervalMs: config.live.flushIntervalMs,
    encoders: {
      flv: { header: encodeFlvHeader, tag: encodeFlvTag },
      rtmp: { tag: (t) => encodeRtmpMediaTag(t, chunkSize) },
    },
    log: log.child("stream"),
    onViewerDropped: (format) => totals.viewerDropped(format),
  });
  const unfollow = totals.follow(registry);
  opened.add(unfollow);
  // Before the archive: its clips of library files and its recordings are the library's.
  const vod = config.vod.libraries.length > 0
    ? new VodService(config.vod, {
      log: log.child("vod"),
      dataDir: deps.dataDir,
    })
    : undefined;
  if (vod) {
    registerVodMetrics(deps.metrics, vod);
    opened.add(() => vod.close());
  }

  // The archive keeps the live segments: it needs the packagers even where HLS is not served.
  const dvrDir = config.dvr.dir ||
    (deps.dataDir === undefined ? undefined : `${deps.dataDir}/${DVR_DIR}`);
  const recordDir = config.record.library || config.vod.libraries[0]?.path;
  const archive: Archive | undefined = dvrDir !== undefined
    ? await opened.run(() =>
      openArchive(config, {
        registry,
        metrics: deps.metrics,
        log: log.child("archive"),
        dvrDir,
        stateDir: deps.dataDir === undefined
          ? undefined
          : `${deps.dataDir}/${ARCHIVE_STATE_DIR}`,
        library: recordDir === undefined ? undefined : {
          dir: recordDir,
          prefix: config.vod.libraries.find((l) => l.path === recordDir)
            ?.prefix,
        },
        vod,
        ...(deps.fetch ? { fetch: deps.fetch } : {}),
      })
    )
    : undefined;
  if (archive) opened.add(() => archive.close());
  if (
    archive && recordDir !== undefined &&
    config.vod.libraries.every((l) => l.path !== recordDir)
  ) {
    log.warn(
      "origin.record.library is not a VOD library: recordings are not served",
      {
        folder: recordDir,
      },
    );
  }
  const packagers = config.hls.enabled ||
      (archive && new ArchivePolicies(config).anyDvr)
    ? new HlsPackagers({
      targetDurationMs: Math.round(config.hls.targetDurationSeconds * 1000),
      keyframeTolerance: config.hls.keyframeTolerance,
      windowSegments: config.hls.windowSegments,
      endGraceMs: Math.round(config.hls.endGraceSeconds * 1000),
      endedRetentionMs: Math.round(config.hls.endedRetentionSeconds * 1000),
      maxHeldRequests: config.hls.maxHeldPlaylistRequests,
    }, {
      registry,
      metrics: deps.metrics,
      log: log.child("hls"),
      sequences: deps.dataDir === undefined
        ? undefined
        : await opened.run(() =>
          HlsSequenceStore.open(`${deps.dataDir}/${HLS_STATE_DIR}`, {
            log: log.child("hls"),
            onWriteError: () => hlsStateWriteErrors.inc(),
          })
        ),
      observer: archive?.observer,
    })
    : undefined;
  if (packagers) archive?.setPhases(packagers);
  const hls = config.hls.enabled ? packagers : undefined;
  opened.add(async () => {
    registry.endAll();
    await packagers?.close();
  });
  // LL-HLS (origin.llhls): subscribed before any channel publishes, like the HLS packagers.
  const llhls = config.llhls.apps.length > 0
    ? new LlHlsPackagers({
      apps: config.llhls.apps,
      targetDurationMs: Math.round(config.hls.targetDurationSeconds * 1000),
      keyframeTolerance: config.hls.keyframeTolerance,
      partTargetMs: Math.round(config.llhls.partTargetSeconds * 1000),
      windowSegments: config.llhls.windowSegments,
      maxHeldRequests: config.llhls.maxHeldRequests,
      endGraceMs: Math.round(config.hls.endGraceSeconds * 1000),
      endedRetentionMs: Math.round(config.hls.endedRetentionSeconds * 1000),
    }, { registry, metrics: deps.metrics, log: log.child("llhls") })
    : undefined;
  opened.add(() => llhls?.close());

  // Relaying (origin.relay): pulls on demand, pushes, the relay list; always present, since a
  // node without upstreams is still an upstream for others.
  const self: { originId?: string } = {};
  // rtmps:// and https:// upstreams and push targets: the built-in roots plus tls.caFile.
  const relayCaCerts = await opened.run(() =>
    readCaCertificates((deps.tls ?? DEFAULTS.tls).caFile)
  );
  const relay = createRelay(config.relay, {
    registry,
    log: log.child("relay"),
    metrics: deps.metrics,
    maxStreams: config.maxStreams,
    directory: deps.store?.streams,
    ownOriginId: () => self.originId,
    adminToken: config.adminToken,
    caCerts: relayCaCerts,
  });
  opened.add(() => relay.close());

  // HLS viewers: clients that fetched a playlist within 3 target durations (a reload each).
  const hlsTraffic: HlsTraffic | undefined = hls
    ? {
      bytesOut: 0,
      sessions: new HlsSessions(
        3 * Math.round(config.hls.targetDurationSeconds * 1000),
      ),
    }
    : undefined;
  let rtmpConnects = () => 0;
  registerOriginMetrics(deps.metrics, {
    registry,
    hls: hlsTraffic,
    rtmpConnects: () => rtmpConnects(),
  }, totals);

  // Before the channels start publishing: a channel of a transcoded app gets its ladder too.
  const transcoding = await opened.run(() =>
    startTranscoding(config.transcode, {
      registry,
      hls,
      metrics: deps.metrics,
      log: log.child("transcode"),
      dataDir: deps.dataDir,
      vodFfmpegPath: config.vod.ffmpegPath,
      maxQueueBytes: config.live.maxViewerQueueBytes,
      protectedApp: (app) => access.sessionRequired(app),
      libraries: config.vod.libraries,
      segmentSeconds: config.vod.hlsSegmentSeconds,
      adminToken: config.adminToken,
    })
  );
  opened.add(() => transcoding.close());

  const channels = new VirtualLiveChannels(config.virtualLive, {
    registry,
    log: log.child("virtual"),
    now: deps.virtualLiveClock,
  });
  registerVirtualLiveMetrics(deps.metrics, channels);

  const ingest: IngestContext = {
    registry,
    access,
    maxStreams: config.maxStreams,
    metrics: createIngestMetrics(deps.metrics),
    log,
  };
  // Cameras pulled over RTSP: they need no listener of ours, only the hub.
  const sources = config.rtsp.enabled
    ? new RtspSources(config.rtsp, { ...ingest, log: log.child("rtsp") })
    : undefined;
  if (sources) {
    sources.registerMetrics(deps.metrics);
    opened.add(() => sources.close());
  }
  const admin = originAdminRoutes(config, registry, vod, log.child("admin"));
  if (sources) {
    admin.route(
      "/",
      createSourceAdminRoutes(sources, {
        adminToken: config.adminToken,
        log: log.child("admin"),
      }),
    );
  }

  // WebRTC (WHEP playback, WHIP ingest) on the HTTP port; werift loads on the first offer.
  const webrtc = config.webrtc.enabled
    ? startWebrtc(config.webrtc, {
      ingest: { ...ingest, log: log.child("webrtc") },
      metrics: deps.metrics,
      opus: config.webrtc.opusAudio
        ? new OpusFeeds({
          children: transcoding.children,
          ffmpeg: config.transcode.ffmpegPath || config.vod.ffmpegPath ||
            "ffmpeg",
          log: log.child("webrtc"),
        })
        : undefined,
    })
    : undefined;
  if (webrtc) opened.add(() => webrtc.close());
  const extraRoutes = new Hono();
  if (llhls) {
    extraRoutes.route(
      "/",
      createLlHlsRoutes(llhls, {
        log: log.child("llhls"),
        protectedApp: (app) => access.sessionRequired(app),
      }),
    );
  }
  extraRoutes.route("/", transcoding.routes);
  if (webrtc) extraRoutes.route("/", createWebrtcRoutes(webrtc));

  const app = createOriginHttpApp(
    {
      maxViewerQueueBytes: config.live.maxViewerQueueBytes,
      playlistMaxAgeSeconds: Math.max(
        1,
        Math.floor(config.hls.targetDurationSeconds / 2),
      ),
    },
    {
      registry,
      hls,
      metrics: deps.metrics,
      assets: await opened.run(loadWebAssets),
      log: log.child("http"),
      access,
      vod,
      archive: archive && { http: archive.http, routes: archive.routes },
      virtualLive: createVirtualLiveRoutes(channels, {
        adminToken: config.adminToken,
        log: log.child("admin"),
      }),
      relay: { admit: (raw) => relay.relay.admit(raw), routes: relay.routes },
      resume: deps.store
        ? createResumeApi({ store: deps.store, log: log.child("resume") })
        : undefined,
      admin,
      sources,
      hlsTraffic,
      abr: transcoding.live,
      extraRoutes,
    },
  );

  const limits = deps.limits ?? DEFAULTS.limits;
  const rtmpGuard = guardFromLimits(limits.rtmp, limits.trustedNetworks);
  registerConnGuard(deps.metrics, "origin_rtmp", rtmpGuard);
  const rtmpOptions = {
    hostname: config.hostname,
    port: config.rtmpPort,
    outChunkSize: chunkSize,
    handshakeTimeoutMs: config.rtmp.handshakeTimeoutMs,
    maxViewerQueueBytes: config.live.maxViewerQueueBytes,
    maxStreams: config.maxStreams,
  };
  const rtmpDeps = {
    registry,
    log: log.child("rtmp"),
    access: createRtmpAccessControl(access),
    guard: rtmpGuard,
    vod,
    relay: relay.relay,
    onSessionEnd: accessLog
      ? (r: RtmpAccessRecord) => accessLog.rtmp(r)
      : undefined,
  };
  const rtmp = await opened.listen(
    "RTMP",
    config.hostname,
    config.rtmpPort,
    () => startRtmpServer(rtmpOptions, rtmpDeps),
  );
  opened.add(() => rtmp.close());
  // RTMPS: the same server inside TLS, on its own port and guard (`origin.rtmps`).
  const tls = deps.tls ?? DEFAULTS.tls;
  const rtmpsServing = await opened.run(() =>
    openTlsServing(config.rtmps, tls, "origin_rtmps", {
      log: log.child("tls"),
      metrics: deps.metrics,
    })
  );
  opened.add(() => rtmpsServing?.certificates.close());
  const rtmpsGuard = guardFromLimits(limits.rtmp, limits.trustedNetworks);
  if (rtmpsServing) {
    registerConnGuard(deps.metrics, "origin_rtmps", rtmpsGuard);
  }
  const rtmps = rtmpsServing
    ? await opened.listen(
      "RTMPS",
      config.hostname,
      config.rtmps.port,
      () =>
        startRtmpServer(
          { ...rtmpOptions, port: config.rtmps.port, tls: rtmpsServing },
          { ...rtmpDeps, log: log.child("rtmps"), guard: rtmpsGuard },
        ),
    )
    : undefined;
  opened.add(() => rtmps?.close());
  rtmpConnects = () => rtmp.connects + (rtmps?.connects ?? 0);
  deps.metrics.collect(
    "meridian_origin_rtmp_refused_total",
    "RTMP publishes and plays refused, by action and reason (max_streams: origin.maxStreams reached; denied: access control; bad_name, busy, not_found, one_per_connection)",
    "counter",
    function* () {
      const sums = new Map<string, number>();
      for (const server of rtmps ? [rtmp, rtmps] : [rtmp]) {
        for (const [action, reason, n] of server.refusals()) {
          const k = `${action} ${reason}`;
          sums.set(k, (sums.get(k) ?? 0) + n);
        }
      }
      for (const [k, n] of sums) {
        const [action, reason] = k.split(" ") as [string, string];
        yield [{ action, reason }, n];
      }
    },
  );

  const srt = config.srt.enabled
    ? startOptional(
      log.child("srt"),
      "SRT",
      config.hostname,
      config.srt.port,
      () => {
        const guard = guardFromLimits(limits.srt, limits.trustedNetworks);
        registerConnGuard(deps.metrics, "origin_srt", guard);
        return startSrtServer({ hostname: config.hostname, ...config.srt }, {
          ingest: { ...ingest, log: log.child("srt") },
          guard,
        });
      },
    )
    : undefined;
  if (srt) opened.add(() => srt.close());
  const rtsp = config.rtsp.enabled
    ? startOptional(
      log.child("rtsp"),
      "RTSP",
      config.hostname,
      config.rtsp.port,
      () => {
        const guard = guardFromLimits(limits.rtsp, limits.trustedNetworks);
        registerConnGuard(deps.metrics, "origin_rtsp", guard);
        return startRtspServer({
          hostname: config.hostname,
          ...config.rtsp,
          maxViewerQueueBytes: config.live.maxViewerQueueBytes,
        }, { ingest: { ...ingest, log: log.child("rtsp") }, guard });
      },
    )
    : undefined;
  if (rtsp) opened.add(() => rtsp.close());
  deps.metrics.collect(
    "meridian_origin_listener_up",
    "1 when an optional listener (srt, rtsp) runs, 0 when it is on in config but could not start (port taken, libsrt missing)",
    "gauge",
    function* () {
      if (config.srt.enabled) yield [{ listener: "srt" }, srt ? 1 : 0];
      if (config.rtsp.enabled) yield [{ listener: "rtsp" }, rtsp ? 1 : 0];
    },
  );

  const httpLog = log.child("http");
  if (config.httpServer === "deno") {
    // Deno.serve has no accept hook and no head deadline of its own to set.
    log.warn(
      "limits.http and the HTTP access log do not apply with origin.httpServer: deno",
      { maxConnections: limits.http.maxConnections },
    );
  }
  const http: { readonly addr: Deno.NetAddr; shutdown(): Promise<void> } =
    await opened.listen(
      "HTTP",
      config.hostname,
      config.httpPort,
      () =>
        config.httpServer === "deno"
          ? Deno.serve({
            hostname: config.hostname,
            port: config.httpPort,
            onListen: () => {},
          }, (req, info) => app.fetch(req, info))
          : serveHttp1({
            hostname: config.hostname,
            port: config.httpPort,
            ...http1Limits(limits, deps.metrics, "origin_http"),
            ...(accessLog
              ? { observe: (x) => accessLog.http(accessRecordOf(x)) }
              : {}),
            onError: (message, context) => httpLog.debug(message, context),
          }, (req, info) => app.fetch(req, info)),
    );
  const httpPort = http.addr.port;
  opened.add(() => http.shutdown());
  // HTTPS: the same routes on their own port and guard (`origin.tls`).
  const httpsServing = await opened.run(() =>
    openTlsServing(config.tls, tls, "origin_https", {
      log: log.child("tls"),
      metrics: deps.metrics,
    })
  );
  opened.add(() => httpsServing?.certificates.close());
  const https = httpsServing
    ? await opened.listen(
      "HTTPS",
      config.hostname,
      config.tls.port,
      () =>
        serveHttp1({
          hostname: config.hostname,
          port: config.tls.port,
          ...http1Limits(limits, deps.metrics, "origin_https"),
          tls: httpsServing,
          ...(accessLog
            ? { observe: (x) => accessLog.http(accessRecordOf(x)) }
            : {}),
          onError: (message, context) => httpLog.debug(message, context),
        }, (req, info) => app.fetch(req, info)),
    )
    : undefined;
  log.info("origin listening", {
    rtmp: `rtmp://${config.hostname}:${rtmp.port}`,
    http: `http://${config.hostname}:${httpPort}`,
    ...(rtmps ? { rtmps: `rtmps://${config.hostname}:${rtmps.port}` } : {}),
    ...(https
      ? { https: `https://${config.hostname}:${https.addr.port}` }
      : {}),
  });

  self.originId = urlAuthority(config.hostname, httpPort);
  relay.relay.start();
  relay.forwarder.start();

  const announcer = deps.store
    ? announceStreams(
      deps.store,
      registry,
      { hostname: config.hostname, httpPort, rtmpPort: rtmp.port },
      log.child("directory"),
    )
    : undefined;

  channels.start();

  return {
    rtmpPort: rtmp.port,
    httpPort,
    srtPort: srt?.port,
    rtspPort: rtsp?.port,
    rtmpsPort: rtmps?.port,
    httpsPort: https?.addr.port,
    registry,
    relay,
    async close() {
      await announcer?.close();
      await relay.close();
      channels.stop();
      await sources?.close();
      await srt?.close();
      await rtsp?.close();
      await transcoding.close();
      registry.endAll();
      await packagers?.close();
      await archive?.close();
      await rtmp.close();
      await rtmps?.close();
      await http.shutdown();
      await https?.shutdown();
      rtmpsServing?.certificates.close();
      httpsServing?.certificates.close();
      await vod?.close();
      await access.close();
      unfollow();
      await accessLog?.close();
    },
  };
}
