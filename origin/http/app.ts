/**
 * The origin's HTTP face (Hono): HTTP-FLV, HLS playlists and segments, the player page and its
 * assets, the stream list, `/healthz` and `/metrics`.
 *
 * URL scheme (../shared/INTERFACES.md): `/{app}/{stream}.flv`, `/{app}/{stream}.m3u8`, segments
 * below `/{app}/{stream}/`.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { withSessionCredential } from "../../access/mod.ts";
import type { MetricsRegistry } from "../../metrics/mod.ts";
import {
  ACCESS_MARKER_HEADER,
  type AccessGate,
  AccessMark,
  type Refusal,
  sessionPath,
} from "../auth/mod.ts";
import type { PlaylistWait } from "../hls/mod.ts";
import {
  archiveErrorResponse,
  type ArchiveHttp,
  type TimeshiftAnswer,
  type TimeshiftFlvRequest,
} from "../archive/mod.ts";
import type { Logger } from "../log.ts";
import type { StreamRegistry } from "../stream/registry.ts";
import {
  type RawRelayMark,
  refusalStatus,
  RELAY_HOPS_PARAM,
  RELAY_SECRET_HEADER,
  RELAY_VIA_PARAM,
  type RelayAdmission,
} from "../relay/wire.ts";
import type { VodService } from "../vod/mod.ts";
import { createFlvResponse } from "./flv_viewer.ts";
import type { WebAssets } from "./assets.ts";
import type { HlsSessions } from "./hls_sessions.ts";

/** What the HTTP app counts of HLS for `/metrics` (read at scrape time). */
export interface HlsTraffic {
  /** Playlist and segment body bytes sent. */
  bytesOut: number;
  /** Clients fetching playlists (HLS viewers). */
  readonly sessions: HlsSessions;
}

/** Where the HTTP app finds a stream's HLS output (origin/hls/packagers.ts). */
export interface HlsSource {
  /** The playlist text now, if there is one. */
  playlist(app: string, stream: string): string | undefined;
  /** A live stream without a first segment yet: its playlist request may wait for it. */
  pending(app: string, stream: string): boolean;
  /** Waits (bounded in time and number) for a pending playlist; `signal` releases the hold. */
  waitForPlaylist(
    app: string,
    stream: string,
    signal?: AbortSignal,
  ): Promise<PlaylistWait>;
  segment(app: string, stream: string, name: string): Uint8Array | undefined;
}

/**
 * Adaptive-bitrate sets of transcoded streams (origin/transcode's LiveTranscoder): a
 * transcoded stream's `.m3u8` is a master playlist whose variants live below
 * `/{app}/{stream}/` (`{stream}/{variant}.m3u8`, segments `{stream}/{variant}/{n}.ts`).
 */
export interface AbrSource {
  /** The master playlist of a transcoded stream (its ladder started on demand); else undefined. */
  master(
    app: string,
    stream: string,
    signal?: AbortSignal,
  ): Promise<string | undefined>;
  /** A request for a stream by name: starts its ladder on demand and waits briefly for it. */
  demand(app: string, stream: string, signal?: AbortSignal): Promise<void>;
  /** True when `variant` belongs to `stream`'s set (the stream or one of its renditions). */
  variantOf(app: string, stream: string, variant: string): boolean;
  /** What `/api/streams` shows of a stream's ladder (or of a rendition), if anything. */
  describe(app: string, stream: string): unknown;
}

/** The config slice of the HTTP app. */
export interface OriginHttpOptions {
  readonly maxViewerQueueBytes: number;
  /** Seconds the playlist may be cached (half the target duration). */
  readonly playlistMaxAgeSeconds: number;
}

/** What the HTTP app needs from the rest of the origin. */
export interface OriginHttpDeps {
  readonly registry: StreamRegistry;
  readonly hls: HlsSource | undefined;
  readonly metrics: MetricsRegistry;
  readonly assets: WebAssets;
  readonly log: Logger;
  /**
   * Access control of play URLs (tokens, session credentials, hooks). Without it every stream
   * plays for anyone.
   */
  readonly access?: AccessGate | undefined;
  /** The media libraries (VOD), served under their prefixes before any live route. */
  readonly vod?: VodService | undefined;
  /**
   * The archive (time-shift playlists and segments, programme list, its admin API). Its routes
   * are mounted before the segment route, which would otherwise take `/{app}/{stream}/programs`.
   */
  readonly archive?: {
    readonly http: ArchiveHttp;
    readonly routes: Hono;
  } | undefined;
  /**
   * Virtual-live routes (`/{app}/{stream}/programs`, `/admin/channels/…`), mounted before the
   * segment route that would otherwise take `/{app}/{stream}/programs`.
   */
  readonly virtualLive?: Hono | undefined;
  /**
   * Relay marks of HTTP-FLV plays (a downstream relay's pull: hop count, chain, secret), and
   * the relay's routes (`/api/relay/streams`, `/admin/relay`). Without it every play is a
   * viewer's.
   */
  readonly relay?: {
    admit(raw: RawRelayMark | undefined): RelayAdmission;
    readonly routes: Hono;
  } | undefined;
  /** `/api/resume` (net/http/resume_api.ts), when the origin has a shared store. */
  readonly resume?: Hono | undefined;
  /**
   * The origin's admin routes of its own (`/admin/streams/…`, the libraries' uploads, moves
   * and deletes), mounted after the virtual-live ones; each takes the admin token.
   */
  readonly admin?: Hono | undefined;
  /**
   * Pulled RTSP sources, listed in `/api/streams` as `sources` with their state and last
   * error (a camera that is down has no stream to list).
   */
  readonly sources?: { list(): readonly unknown[] } | undefined;
  /** Where HLS bytes and viewers are counted. */
  readonly hlsTraffic?: HlsTraffic | undefined;
  /** Live ABR ladders (master playlists, on-demand renditions). */
  readonly abr?: AbrSource | undefined;
  /**
   * More routes mounted before the live ones (`/{app}/{stream}.jpg` snapshots, the origin's
   * `/admin/transcode` and `/admin/jobs`).
   */
  readonly extraRoutes?: Hono | undefined;
}

const NAME_RE = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

/** True for a safe app or stream name (no traversal, no separators). */
export function isSafeName(name: string): boolean {
  return NAME_RE.test(name) && !name.includes("..");
}

const CORS = { "Access-Control-Allow-Origin": "*" };

/** A relay pull's mark on an HTTP-FLV request: the chain in the query, the secret a field. */
function relayMarkOf(c: Context): RawRelayMark | undefined {
  const hops = c.req.query(RELAY_HOPS_PARAM);
  const via = c.req.query(RELAY_VIA_PARAM);
  if (hops === undefined && via === undefined) return undefined;
  return { hops, via, secret: c.req.header(RELAY_SECRET_HEADER) };
}

/**
 * The player page's policy: its own scripts only (no inline script or style), media and API
 * calls to this host (hls.js runs its transmuxer in a blob worker), and framing by any site:
 * the page is what embedding sites put in an iframe. The page is the same for every viewer of
 * a path (the token and viewer id are read from the URL by the script), so caches may keep it.
 */
const PLAYER_HEADERS = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
    "media-src 'self' blob:; connect-src 'self'; worker-src 'self' blob:; base-uri 'none'; " +
    "form-action 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "public, max-age=60",
} as const;

/** Names that are media of a stream below an app `play`, never a player page. */
const MEDIA_SUFFIX = /\.(ts|m3u8|flv|jpg|mp4|vtt)$/i;

/** What the player page template is filled with. */
export interface PlayerPageVars {
  readonly kind: "live" | "vod";
  readonly app: string;
  readonly stream: string;
  /** VOD: the file's path after the library prefix, percent-encoded as in the URL. */
  readonly path: string;
  /** VOD: the library's prefix (`/vod/`). */
  readonly prefix: string;
}

/**
 * The page a `/play/…` path names: `/play/{app}/{stream}` (live) or `/play{prefix}{path}`
 * (a library file, e.g. `/play/vod/films/a.mp4`); `undefined` for anything else.
 *
 * @example
 * ```ts
 * import { playerPageVars } from "./app.ts";
 * const v = playerPageVars("/play/vod/a%20b.mp4", ["/vod/"]);
 * if (v?.kind !== "vod" || v.path !== "a%20b.mp4") throw new Error(JSON.stringify(v));
 * if (playerPageVars("/play/live/cam", ["/vod/"])?.stream !== "cam") throw new Error();
 * if (playerPageVars("/play/../x", []) !== undefined) throw new Error();
 * ```
 */
export function playerPageVars(
  pathname: string,
  prefixes: readonly string[],
): PlayerPageVars | undefined {
  const rest = pathname.slice("/play".length);
  const prefix = prefixes.find((p) => rest.startsWith(p));
  if (prefix !== undefined) {
    const path = rest.slice(prefix.length);
    if (path === "" || path.length > 4096) return undefined;
    return { kind: "vod", app: "", stream: "", path, prefix };
  }
  const parts = rest.split("/");
  if (
    parts.length !== 3 || parts[0] !== "" || !isSafeName(parts[1]!) ||
    !isSafeName(parts[2]!) || MEDIA_SUFFIX.test(parts[2]!)
  ) return undefined;
  return {
    kind: "live",
    app: parts[1]!,
    stream: parts[2]!,
    path: "",
    prefix: "",
  };
}

const escapeAttr = (s: string) =>
  s.replaceAll("&", "&amp;").replaceAll('"', "&quot;").replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;").replaceAll("'", "&#39;");

/** The template with every `{{name}}` replaced by its value, escaped for an attribute. */
export function renderPlayerPage(
  template: string,
  vars: PlayerPageVars,
): string {
  return template.replace(
    /\{\{(kind|app|stream|path|prefix)\}\}/g,
    (_, k: keyof PlayerPageVars) => escapeAttr(vars[k]),
  );
}

/** The client address Deno.serve passes as the Hono env, if any. */
function remoteOf(c: Context): { hostname: string; port: number } | undefined {
  return (c.env as
    | { remoteAddr?: { hostname: string; port: number } }
    | undefined)?.remoteAddr;
}

/**
 * Response headers naming a protected stream (`X-Meridian-Access`), so an edge keeps the mark
 * with what it caches and checks viewers itself; none for an open stream.
 */
function markHeaders(
  mark: AccessMark | undefined,
): Record<string, string> {
  return mark === undefined ? {} : { [ACCESS_MARKER_HEADER]: mark };
}

/** The refusal as a response: its status and description, never the presented secret. */
function refusalResponse(
  c: Context,
  refusal: Refusal,
  mark: AccessMark | undefined,
): Response {
  return c.text(refusal.description, refusal.status, {
    ...CORS,
    ...markHeaders(mark),
    "Cache-Control": "no-store",
  });
}

/**
 * Creates the origin's Hono app.
 *
 * @example
 * ```ts
 * import { createOriginHttpApp } from "./app.ts";
 * import { StreamRegistry } from "../stream/registry.ts";
 * import { MetricsRegistry } from "../../metrics/mod.ts";
 * import { silentLogger } from "../log.ts";
 * const enc = { tag: (t: { data: Uint8Array }) => t.data };
 * const registry = new StreamRegistry({ gopCache: true, maxGopCacheBytes: 1 << 20, flushIntervalMs: 0, encoders: { flv: enc, rtmp: enc }, log: silentLogger });
 * const app = createOriginHttpApp({ maxViewerQueueBytes: 1 << 20, playlistMaxAgeSeconds: 1 }, {
 *   registry, hls: undefined, metrics: new MetricsRegistry(), log: silentLogger,
 *   assets: { page: () => "<html></html>", script: () => undefined },
 * });
 * const res = await app.request("http://localhost/live/none.flv");
 * if (res.status !== 404) throw new Error(`got ${res.status}`);
 * ```
 */
export function createOriginHttpApp(
  options: OriginHttpOptions,
  deps: OriginHttpDeps,
): Hono {
  const { registry, hls, metrics, assets, access, abr } = deps;
  const traffic = deps.hlsTraffic;
  /** A playlist answered with 200: one more look from this client, and its bytes. */
  const playlistServed = (
    c: Context,
    appName: string,
    stream: string,
    body: string,
  ): string => {
    if (!traffic) return body;
    const cred = c.req.query("cred");
    traffic.sessions.seen(
      appName,
      stream,
      cred ??
        `${remoteOf(c)?.hostname ?? ""} ${c.req.header("user-agent") ?? ""}`,
    );
    traffic.bytesOut += body.length; // playlists are ASCII (RFC 8216 §4.1: UTF-8 URIs aside)
    return body;
  };
  const requests = metrics.counter(
    "meridian_origin_http_requests_total",
    "HTTP requests by kind and status",
  );
  const startedAt = Date.now();
  const app = new Hono();

  app.get("/healthz", (c) =>
    c.json({
      status: "ok",
      role: "origin",
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      streams: registry.size,
      viewers: registry.viewerCount,
    }));

  app.get(
    "/metrics",
    (c) =>
      c.body(metrics.render(), 200, {
        "Content-Type": "text/plain; version=0.0.4",
      }),
  );

  app.get("/api/streams", (c) =>
    c.json(
      {
        streams: registry.list().map((s) => ({
          ...s,
          transcode: abr?.describe(s.app, s.name),
          urls: {
            flv: `/${s.app}/${s.name}.flv`,
            hls: hls ? `/${s.app}/${s.name}.m3u8` : undefined,
            rtmp: `/${s.app}/${s.name}`,
          },
        })),
        ...(deps.sources ? { sources: deps.sources.list() } : {}),
      },
      200,
      CORS,
    ));

  if (deps.resume) app.route("/", deps.resume);

  const vod = deps.vod;
  if (vod) {
    app.get("/api/vod", () => vod.listing());
    app.get(
      "/api/vod/*",
      (c) =>
        vod.describe(new URL(c.req.url).pathname.slice("/api/vod/".length)),
    );
    for (const prefix of vod.prefixes) {
      app.get(`${prefix}*`, async (c) => {
        const appName = prefix.split("/")[1]!;
        if (!access?.sessionRequired(appName)) return vod.handle(c.req.raw);
        // A protected library: as HLS sessions of live streams, the first request with a
        // token spends one use and is sent to the same URL with a session credential that
        // covers every URL of the file (playlist, segments, byte ranges), so a player's many
        // range requests and segment loads spend nothing more and touch no store.
        const url = new URL(c.req.url);
        const scope = await vod.scope(url.pathname);
        // 4xx from the handler: names no media file and no ready-made HLS package (a
        // package is a scope of its own).
        if (!scope) return vod.handle(c.req.raw);
        // Marked as a library file's: an edge sends a new `?token=` viewer here (this 302),
        // and checks credentials itself on what it cached.
        const mark = access.accessMark(appName, "hls") === undefined
          ? undefined
          : AccessMark.File;
        const cred = url.searchParams.get("cred");
        if (cred !== null) {
          const ok = await access.checkCredential(cred, scope.sessionPath);
          if (!ok.ok) return refusalResponse(c, ok, mark);
          const res = await vod.handle(c.req.raw);
          const headers = new Headers(res.headers);
          if (mark) headers.set(ACCESS_MARKER_HEADER, mark);
          // A playlist carries this viewer's credential in its segment URIs: not for a shared
          // cache as it is (an edge told by the mark stores it without the credential and
          // re-applies each viewer's own). Media bytes carry none: cacheable with the mark, so
          // edges check each viewer's credential on a hit.
          if (url.pathname.endsWith(".m3u8")) {
            headers.set("Cache-Control", "private, max-age=60");
          }
          return new Response(res.body, { status: res.status, headers });
        }
        const params = c.req.query();
        const opened = await access.openHlsSession({
          app: scope.app,
          stream: scope.stream,
          params,
          ip: remoteOf(c)?.hostname ?? "",
        });
        if (!opened.ok) return refusalResponse(c, opened, mark);
        const query = new URLSearchParams();
        for (const [k, v] of Object.entries(params)) {
          if (k !== "token" && k !== "cred") query.set(k, v);
        }
        query.set("cred", opened.credential);
        return c.body(null, 302, {
          ...CORS,
          ...markHeaders(mark),
          "Location": `${url.pathname}?${query}`,
          "Cache-Control": "no-store",
        });
      });
    }
  }

  const archive = deps.archive;
  const virtualLive = deps.virtualLive;
  if (archive && virtualLive) {
    // One URL, two guides: a virtual-live channel whose app keeps a DVR answers both, merged
    // (the channel's now/next/schedule beside the recorded spans; no field is in both but
    // app, stream and live, which mean the same). Either alone answers as it is.
    app.get("/:app/:stream/programs", async (c) => {
      const [recorded, channel] = await Promise.all([
        archive.routes.fetch(c.req.raw.clone()),
        virtualLive.fetch(c.req.raw.clone()),
      ]);
      if (recorded.status !== 200 || channel.status !== 200) {
        const ok = recorded.status === 200
          ? recorded
          : channel.status === 200
          ? channel
          : recorded;
        await (ok === recorded ? channel : recorded).body?.cancel();
        return ok;
      }
      const body = { ...(await channel.json()), ...(await recorded.json()) };
      return c.json(body, 200, {
        ...CORS,
        "Cache-Control": recorded.headers.get("Cache-Control") ?? "no-store",
      });
    });
  }
  if (archive) app.route("/", archive.routes);
  if (virtualLive) app.route("/", virtualLive);
  if (deps.relay) app.route("/", deps.relay.routes);
  if (deps.admin) app.route("/", deps.admin);
  if (deps.extraRoutes) app.route("/", deps.extraRoutes);

  app.get("/", (c) => c.html(assets.page()));
  app.get("/play/*", async (c, next) => {
    const page = assets.playPage?.();
    const vars = page === undefined
      ? undefined
      : playerPageVars(new URL(c.req.url).pathname, vod?.prefixes ?? []);
    // Not a player page (a stream of an app named `play`): the media routes answer it.
    if (page === undefined || vars === undefined) return await next();
    return c.html(renderPlayerPage(page, vars), 200, PLAYER_HEADERS);
  });
  app.get("/assets/:file{.+}", (c) => {
    const name = c.req.param("file");
    const file = assets.asset?.(name);
    const js = file === undefined ? assets.script(name) : undefined;
    if (file === undefined && js === undefined) {
      return c.text("Not found", 404);
    }
    return c.body(file?.body ?? js!, 200, {
      "Content-Type": file?.contentType ?? "text/javascript; charset=utf-8",
      // Our own files change with a deploy: an hour; the libraries are pinned: a day.
      "Cache-Control": `public, max-age=${js ? 86400 : 3600}`,
      "X-Content-Type-Options": "nosniff",
    });
  });

  app.get("/:app/:file", async (c) => {
    const appName = c.req.param("app");
    const file = c.req.param("file");
    const dot = file.lastIndexOf(".");
    const stream = dot > 0 ? file.slice(0, dot) : file;
    const ext = dot > 0 ? file.slice(dot + 1) : "";
    if (!isSafeName(appName) || !isSafeName(stream)) {
      requests.inc({ kind: "bad", status: 400 });
      return c.text("Bad stream name", 400);
    }
    if (ext === "flv") {
      const relayed = deps.relay?.admit(relayMarkOf(c));
      if (relayed?.kind === "refused") {
        const status = refusalStatus(relayed.error);
        requests.inc({ kind: "flv", status });
        return c.text(relayed.error.message, status, {
          ...CORS,
          "Cache-Control": "no-store",
        });
      }
      // `?start=T`: the archive from that moment at live speed (the same access as live).
      let shift: TimeshiftFlvRequest | undefined;
      try {
        shift = archive?.http.flvTimeshift(
          appName,
          stream,
          new URL(c.req.url).searchParams,
        );
      } catch (err) {
        const res = archiveErrorResponse(err, deps.log);
        requests.inc({ kind: "flv", status: res.status });
        return res;
      }
      // A rendition of an on-demand ladder starts with its first viewer.
      if (!shift) await abr?.demand(appName, stream, c.req.raw.signal);
      if (!shift && !registry.get(appName, stream)) {
        // Not published here: pulled from upstream when the relay can (bounded wait).
        const got = await registry.acquire(
          appName,
          stream,
          relayed?.kind === "relay" ? { chain: relayed.chain } : {},
          c.req.raw.signal,
        );
        if ("status" in got) {
          requests.inc({ kind: "flv", status: got.status });
          return c.text(got.message, got.status, {
            ...CORS,
            "Cache-Control": "no-store",
          });
        }
      }
      // A downstream relay that presented this node's secret checks its own viewers.
      const trusted = relayed?.kind === "relay" && relayed.trusted;
      const remote = remoteOf(c);
      const peer = remote ? `${remote.hostname}:${remote.port}` : "http";
      const request = {
        app: appName,
        stream,
        params: c.req.query(),
        ip: remote?.hostname ?? "",
        protocol: "flv",
      } as const;
      let end: (() => void) | undefined;
      let signal: AbortSignal | undefined;
      const mark = access?.accessMark(appName, "flv");
      if (access && !trusted) {
        const grant = await access.authorizePlay(request);
        if (!grant.ok) {
          requests.inc({ kind: "flv", status: grant.status });
          return refusalResponse(c, grant, mark);
        }
        const revoked = new AbortController();
        const unwatch = access.watch(grant.subject, () => revoked.abort());
        signal = revoked.signal;
        end = () => {
          unwatch();
          access.ended("play", request);
        };
      }
      if (shift && archive) {
        requests.inc({ kind: "flv", status: 200 });
        return archive.http.flvResponse(shift, {
          headers: {
            ...CORS,
            ...markHeaders(mark),
            "Content-Type": "video/x-flv",
            "Cache-Control": "no-cache, no-store",
          },
          maxQueueBytes: options.maxViewerQueueBytes,
          signal,
          onClose: end,
        });
      }
      // Looked up again: the publisher may have left while access was decided.
      const hub = registry.get(appName, stream);
      if (!hub) {
        end?.();
        requests.inc({ kind: "flv", status: 404 });
        return c.text(`Stream not found: ${appName}/${stream}`, 404, CORS);
      }
      requests.inc({ kind: "flv", status: 200 });
      return createFlvResponse(hub, peer, options.maxViewerQueueBytes, {
        ...CORS,
        ...markHeaders(mark),
        "Content-Type": "video/x-flv",
        "Cache-Control": "no-cache, no-store",
      }, { signal, onClose: end });
    }
    if (ext === "m3u8" && (hls || archive)) {
      // A time-shift range (`start`/`end`/`offset`) comes from the archive; the rest (access,
      // sessions, credentials in URIs) is exactly the live playlist's.
      let shift: TimeshiftAnswer | undefined;
      try {
        shift = archive?.http.timeshift(
          appName,
          stream,
          new URL(c.req.url).searchParams,
        );
      } catch (err) {
        const res = archiveErrorResponse(err, deps.log);
        requests.inc({ kind: "m3u8", status: res.status });
        return res;
      }
      if (shift?.kind === "redirect") {
        // RFC 9110 §15.4.3: `offset` names a moment relative to now; its absolute `start`
        // keeps every reload (and every cache) on one range.
        requests.inc({ kind: "m3u8", status: 302 });
        return c.body(null, 302, {
          ...CORS,
          "Location": `/${appName}/${stream}.m3u8?${shift.query}`,
          "Cache-Control": "no-store",
        });
      }
      if (!shift) {
        // HLS viewers hold no connection: each request keeps a relay pull alive.
        registry.touch(appName, stream);
        if (
          !registry.get(appName, stream)?.live && registry.demandable(appName)
        ) {
          const got = await registry.acquire(
            appName,
            stream,
            {},
            c.req.raw.signal,
          );
          if ("status" in got && got.status !== 404) {
            requests.inc({ kind: "m3u8", status: got.status });
            return c.text(got.message, got.status, {
              ...CORS,
              "Cache-Control": "no-store",
            });
          }
        }
        await abr?.demand(appName, stream, c.req.raw.signal);
      }
      // A transcoded stream's playlist is its master playlist (the same access rules apply).
      let text = shift
        ? shift.text
        : await abr?.master(appName, stream, c.req.raw.signal) ??
          hls?.playlist(appName, stream);
      // A stream that is not live (or not known) is 404 at once; a live one without a first
      // segment yet is held until it has one (below, once access is settled).
      if (text === undefined && !hls?.pending(appName, stream)) {
        requests.inc({ kind: "m3u8", status: 404 });
        return c.text(`Stream not found: ${appName}/${stream}`, 404, CORS);
      }
      const maxAge = shift
        ? shift.maxAgeSeconds
        : options.playlistMaxAgeSeconds;
      const immutable = shift?.immutable ? ", immutable" : "";
      /** The playlist now, or after the hold; a Response when there is none. */
      const awaitText = async (): Promise<string | Response> => {
        if (text !== undefined) return text;
        if (!hls) return c.text("Not found", 404, CORS);
        const w = await hls.waitForPlaylist(appName, stream, c.req.raw.signal);
        if (w.kind === "ready") return text = w.text;
        if (w.kind === "busy") {
          requests.inc({ kind: "m3u8", status: 503 });
          return c.text("Too many playlist requests waiting", 503, {
            ...CORS,
            "Cache-Control": "no-store",
            "Retry-After": "1",
          });
        }
        requests.inc({ kind: "m3u8", status: 404 });
        return c.text(`Stream not found: ${appName}/${stream}`, 404, CORS);
      };
      const headers = {
        ...CORS,
        "Content-Type": "application/vnd.apple.mpegurl",
        "Cache-Control": `public, max-age=${maxAge}${immutable}`,
      };
      if (!access?.sessionRequired(appName)) {
        const body = await awaitText();
        if (body instanceof Response) return body;
        requests.inc({ kind: "m3u8", status: 200 });
        return c.body(playlistServed(c, appName, stream, body), 200, headers);
      }
      const mark = access.accessMark(appName, "hls");
      const cred = c.req.query("cred");
      if (cred !== undefined) {
        // A playlist reload of an open session: no token use, no store round trip.
        const ok = await access.checkCredential(
          cred,
          sessionPath(appName, stream),
        );
        if (!ok.ok) {
          requests.inc({ kind: "m3u8", status: ok.status });
          return refusalResponse(c, ok, mark);
        }
        const body = await awaitText();
        if (body instanceof Response) return body;
        requests.inc({ kind: "m3u8", status: 200 });
        // The body carries this session's credential: no shared cache may keep it as is (the
        // edge, told by the mark, stores it without the credential and re-applies each
        // viewer's own).
        return c.body(
          playlistServed(
            c,
            appName,
            stream,
            withSessionCredential(body, cred),
          ),
          200,
          {
            ...headers,
            ...markHeaders(mark),
            "Cache-Control": `private, max-age=${maxAge}${immutable}`,
          },
        );
      }
      // A new session: spend one token use (and ask on_play), then send the player to the
      // credential URL it reloads from (RFC 9110 §15.4.3: 302 keeps the GET).
      const params = c.req.query();
      const opened = await access.openHlsSession({
        app: appName,
        stream,
        params,
        ip: remoteOf(c)?.hostname ?? "",
      });
      if (!opened.ok) {
        requests.inc({ kind: "m3u8", status: opened.status });
        return refusalResponse(c, opened, mark);
      }
      const query = new URLSearchParams();
      for (const [k, v] of Object.entries(params)) {
        if (k !== "token" && k !== "cred") query.set(k, v);
      }
      query.set("cred", opened.credential);
      requests.inc({ kind: "m3u8", status: 302 });
      return c.body(null, 302, {
        ...CORS,
        ...markHeaders(mark),
        "Location": `/${appName}/${stream}.m3u8?${query}`,
        "Cache-Control": "no-store",
      });
    }
    requests.inc({ kind: "other", status: 404 });
    return c.text("Not found", 404);
  });

  /**
   * A segment of `hlsStream` (a stream's own, or a transcoded variant's), checked against the
   * session credential for `path`; one the live window has left may still be in the archive.
   */
  const serveSegment = async (
    c: Context,
    appName: string,
    hlsStream: string,
    segment: string,
    path: string,
  ): Promise<Response> => {
    if (!hls && !archive) return c.text("Not found", 404);
    const mark = access?.sessionRequired(appName)
      ? access.accessMark(appName, "hls")
      : undefined;
    if (access?.sessionRequired(appName)) {
      // The session credential from the playlist: checked in memory, no token use spent.
      const ok = await access.checkCredential(c.req.query("cred"), path);
      if (!ok.ok) {
        requests.inc({ kind: "ts", status: ok.status });
        return refusalResponse(c, ok, mark);
      }
    }
    // HLS viewers hold no connection: each request keeps a relay pull alive.
    registry.touch(appName, hlsStream);
    const bytes = hls?.segment(appName, hlsStream, segment.slice(0, -3));
    const headers = {
      ...CORS,
      // Cached by edges with the mark: they serve it only with a valid session credential.
      ...markHeaders(mark),
      "Content-Type": "video/mp2t",
      // Segment names are never reused (a per-start prefix), so they may be cached for long.
      "Cache-Control": "public, max-age=86400, immutable",
    };
    if (!bytes) {
      // Out of the live window: the archive may keep it (the same bytes, the same name).
      const kept = archive?.http.segmentFile(appName, hlsStream, segment);
      if (kept !== undefined) {
        let f: Deno.FsFile | undefined;
        try {
          f = await Deno.open(kept, { read: true });
          const { size } = await f.stat();
          requests.inc({ kind: "ts", status: 200 });
          const sized = { ...headers, "Content-Length": String(size) };
          if (c.req.method === "HEAD") {
            f.close();
            return c.body(null, 200, sized);
          }
          return c.body(f.readable, 200, sized);
        } catch {
          f?.close(); // evicted a moment ago: 404 below
        }
      }
      requests.inc({ kind: "ts", status: 404 });
      return c.text(`Segment not found: ${path}`, 404, CORS);
    }
    requests.inc({ kind: "ts", status: 200 });
    if (traffic) traffic.bytesOut += bytes.byteLength;
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, headers);
  };

  /**
   * A variant playlist of a transcoded stream's master (`/{app}/{stream}/{variant}.m3u8`):
   * the variant's own live playlist, whose relative segment URIs then resolve below it.
   */
  const serveVariant = async (
    c: Context,
    appName: string,
    stream: string,
    variant: string,
  ): Promise<Response> => {
    if (!hls || !abr?.variantOf(appName, stream, variant)) {
      requests.inc({ kind: "m3u8", status: 404 });
      return c.text("Not found", 404, CORS);
    }
    const path = `/${appName}/${stream}/${variant}.m3u8`;
    const protectedApp = access?.sessionRequired(appName) ?? false;
    const mark = protectedApp ? access!.accessMark(appName, "hls") : undefined;
    const cred = c.req.query("cred");
    if (protectedApp) {
      // The master's session credential covers `/{app}/{stream}/`, so every variant.
      const ok = await access!.checkCredential(
        cred,
        sessionPath(appName, stream),
      );
      if (!ok.ok) {
        requests.inc({ kind: "m3u8", status: ok.status });
        return refusalResponse(c, ok, mark);
      }
    }
    let text = hls.playlist(appName, variant);
    if (text === undefined) {
      const w = await hls.waitForPlaylist(appName, variant, c.req.raw.signal);
      if (w.kind !== "ready") {
        requests.inc({ kind: "m3u8", status: 404 });
        return c.text(`Playlist not found: ${path}`, 404, CORS);
      }
      text = w.text;
    }
    requests.inc({ kind: "m3u8", status: 200 });
    return c.body(
      playlistServed(
        c,
        appName,
        stream,
        protectedApp ? withSessionCredential(text, cred!) : text,
      ),
      200,
      {
        ...CORS,
        ...markHeaders(mark),
        "Content-Type": "application/vnd.apple.mpegurl",
        "Cache-Control": `${
          protectedApp ? "private" : "public"
        }, max-age=${options.playlistMaxAgeSeconds}`,
      },
    );
  };

  app.get("/:app/:stream/:segment", async (c) => {
    const { app: appName, stream, segment } = c.req.param();
    if (!isSafeName(appName) || !isSafeName(stream) || !isSafeName(segment)) {
      requests.inc({ kind: "other", status: 404 });
      return c.text("Not found", 404);
    }
    if (segment.endsWith(".m3u8")) {
      return await serveVariant(c, appName, stream, segment.slice(0, -5));
    }
    if (!segment.endsWith(".ts")) {
      requests.inc({ kind: "other", status: 404 });
      return c.text("Not found", 404);
    }
    return await serveSegment(
      c,
      appName,
      stream,
      segment,
      `/${appName}/${stream}/${segment}`,
    );
  });

  app.get("/:app/:stream/:variant/:segment", async (c) => {
    const { app: appName, stream, variant, segment } = c.req.param();
    if (
      !isSafeName(appName) || !isSafeName(stream) || !isSafeName(variant) ||
      !segment.endsWith(".ts") || !isSafeName(segment) ||
      !abr?.variantOf(appName, stream, variant)
    ) {
      requests.inc({ kind: "other", status: 404 });
      return c.text("Not found", 404);
    }
    return await serveSegment(
      c,
      appName,
      variant,
      segment,
      `/${appName}/${stream}/${variant}/${segment}`,
    );
  });

  return app;
}
