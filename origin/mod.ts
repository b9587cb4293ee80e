/**
 * The origin role: RTMP ingest and play, HTTP-FLV, HLS, virtual-live channels.
 *
 * `startOrigin` wires the parts together from the `origin` config section; each part receives
 * only its own slice.
 *
 * @module
 */

import { serveHttp1 } from "../runtime/http1_server.ts";
import { encodeFlvHeader } from "../codec/flv/header.ts";
import { encodeFlvTag } from "../codec/flv/tag.ts";
import { encodeRtmpMediaTag } from "../codec/rtmp/mod.ts";
import { type AuthConfig, DEFAULTS, type OriginConfig } from "../config/mod.ts";
import {
  importSessionKey,
  loadSessionKey,
  type SessionKey,
} from "../control/mod.ts";
import type { MetricsRegistry } from "../metrics/mod.ts";
import {
  DEFAULT_ANNOUNCE_INTERVAL_MS,
  type SharedStore,
  StreamAnnouncer,
} from "../store/mod.ts";
import { AccessGate, createRtmpAccessControl } from "./auth/mod.ts";
import { loadWebAssets } from "./http/assets.ts";
import { createOriginHttpApp, type HlsSource } from "./http/app.ts";
import { HlsStream } from "./hls/mod.ts";
import type { Logger } from "./log.ts";
import { startRtmpServer } from "./rtmp/server.ts";
import { StreamRegistry } from "./stream/registry.ts";
import { registerVodMetrics, VodService } from "./vod/mod.ts";
import { restartOnCodecChange } from "./codec_change.ts";
import {
  createVirtualLiveRoutes,
  registerVirtualLiveMetrics,
  VirtualLiveChannels,
} from "./virtual_live/mod.ts";

export { StreamRegistry } from "./stream/registry.ts";

/** A running origin. */
export interface OriginHandle {
  readonly rtmpPort: number;
  readonly httpPort: number;
  readonly registry: StreamRegistry;
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
        bytesIn: s.bytesIn,
        codecs: s.codecs,
        protocol: s.publisher.protocol,
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

/** Keeps one HLS packager per stream key, across republishes (for EXT-X-DISCONTINUITY). */
function createHlsPackagers(
  registry: StreamRegistry,
  config: OriginConfig["hls"],
): HlsSource {
  const streams = new Map<string, HlsStream>();
  // A per-start prefix keeps segment names unique across restarts (caches never mix them up).
  const prefix = Date.now().toString(36);
  registry.onPublish((hub) => {
    const key = `${hub.app}/${hub.name}`;
    let s = streams.get(key);
    if (!s) {
      s = new HlsStream({
        streamName: hub.name,
        targetDurationMs: Math.round(config.targetDurationSeconds * 1000),
        windowSegments: config.windowSegments,
        segmentNamePrefix: prefix,
        now: Date.now,
      });
      streams.set(key, s);
    }
    // A new resolution or sample rate mid-publish opens a segment with EXT-X-DISCONTINUITY.
    hub.addListener(restartOnCodecChange(s));
  });
  return {
    playlist: (app, stream) => streams.get(`${app}/${stream}`)?.playlist(),
    segment: (app, stream, name) =>
      streams.get(`${app}/${stream}`)?.segment(name),
  };
}

/**
 * Starts the origin: RTMP listener, HTTP listener, HLS packagers and virtual-live channels,
 * with access control (origin.apps, origin.defaultApp, origin.hooks, the auth section).
 *
 * @throws {Error} When a port cannot be bound, or an app requires tokens without a store.
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
  const chunkSize = config.rtmp.outChunkSize;
  const registry = new StreamRegistry({
    gopCache: config.live.gopCache,
    maxGopCacheBytes: config.live.maxGopCacheBytes,
    flushIntervalMs: config.live.flushIntervalMs,
    encoders: {
      flv: { header: encodeFlvHeader, tag: encodeFlvTag },
      rtmp: { tag: (t) => encodeRtmpMediaTag(t, chunkSize) },
    },
    log: log.child("stream"),
  });
  const hls = config.hls.enabled
    ? createHlsPackagers(registry, config.hls)
    : undefined;

  deps.metrics.collect(
    "meridian_origin_streams",
    "Live streams on this origin",
    "gauge",
    () => [[undefined, registry.size]],
  );
  deps.metrics.collect(
    "meridian_origin_viewers",
    "Viewers by stream",
    "gauge",
    () =>
      registry.list().map((s) => [{ stream: `${s.app}/${s.name}` }, s.viewers]),
  );
  deps.metrics.collect(
    "meridian_origin_ingest_bytes_total",
    "Media bytes received by stream",
    "counter",
    () =>
      registry.list().map((s) => [{ stream: `${s.app}/${s.name}` }, s.bytesIn]),
  );

  const vod = config.vod.libraries.length > 0
    ? new VodService(config.vod, { log: log.child("vod") })
    : undefined;
  if (vod) registerVodMetrics(deps.metrics, vod);

  const channels = new VirtualLiveChannels(config.virtualLive, {
    registry,
    log: log.child("virtual"),
    now: deps.virtualLiveClock,
  });
  registerVirtualLiveMetrics(deps.metrics, channels);

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
      assets: await loadWebAssets(),
      log: log.child("http"),
      access,
      vod,
      virtualLive: createVirtualLiveRoutes(channels, {
        adminToken: config.adminToken,
        log: log.child("admin"),
      }),
    },
  );

  const rtmp = await startRtmpServer(
    {
      hostname: config.hostname,
      port: config.rtmpPort,
      outChunkSize: chunkSize,
      handshakeTimeoutMs: config.rtmp.handshakeTimeoutMs,
      maxViewerQueueBytes: config.live.maxViewerQueueBytes,
    },
    {
      registry,
      log: log.child("rtmp"),
      access: createRtmpAccessControl(access),
    },
  );

  const httpLog = log.child("http");
  const http: { readonly addr: Deno.NetAddr; shutdown(): Promise<void> } =
    config.httpServer === "deno"
      ? Deno.serve({
        hostname: config.hostname,
        port: config.httpPort,
        onListen: () => {},
      }, (req, info) => app.fetch(req, info))
      : serveHttp1({
        hostname: config.hostname,
        port: config.httpPort,
        onError: (message, context) => httpLog.debug(message, context),
      }, (req, info) => app.fetch(req, info));
  const httpPort = http.addr.port;
  log.info("origin listening", {
    rtmp: `rtmp://${config.hostname}:${rtmp.port}`,
    http: `http://${config.hostname}:${httpPort}`,
  });

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
    registry,
    async close() {
      await announcer?.close();
      channels.stop();
      registry.endAll();
      await rtmp.close();
      await http.shutdown();
      await access.close();
    },
  };
}
