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
import type { Logger } from "../log.ts";
import type { StreamRegistry } from "../stream/registry.ts";
import type { VodService } from "../vod/mod.ts";
import { createFlvResponse } from "./flv_viewer.ts";
import type { WebAssets } from "./assets.ts";

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
   * Virtual-live routes (`/{app}/{stream}/programs`, `/admin/channels/…`), mounted before the
   * segment route that would otherwise take `/{app}/{stream}/programs`.
   */
  readonly virtualLive?: Hono | undefined;
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
      },
      200,
      CORS,
    ));

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
        // 4xx from the handler: names no media file (ready-made HLS files of a protected
        // library are not served: a credential's scope is one media file's).
        if (!scope) return vod.handle(c.req.raw, { files: false });
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

  if (deps.virtualLive) app.route("/", deps.virtualLive);
  if (deps.extraRoutes) app.route("/", deps.extraRoutes);

  app.get("/", (c) => c.html(assets.page()));
  app.get("/assets/:file", (c) => {
    const js = assets.script(c.req.param("file"));
    if (js === undefined) return c.text("Not found", 404);
    return c.body(js, 200, {
      "Content-Type": "text/javascript; charset=utf-8",
      "Cache-Control": "public, max-age=86400",
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
      // A rendition of an on-demand ladder starts with its first viewer.
      await abr?.demand(appName, stream, c.req.raw.signal);
      if (!registry.get(appName, stream)) {
        requests.inc({ kind: "flv", status: 404 });
        return c.text(`Stream not found: ${appName}/${stream}`, 404, CORS);
      }
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
      if (access) {
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
    if (ext === "m3u8" && hls) {
      await abr?.demand(appName, stream, c.req.raw.signal);
      // A transcoded stream's playlist is its master playlist (the same access rules apply).
      let text = await abr?.master(appName, stream, c.req.raw.signal) ??
        hls.playlist(appName, stream);
      // A stream that is not live (or not known) is 404 at once; a live one without a first
      // segment yet is held until it has one (below, once access is settled).
      if (text === undefined && !hls.pending(appName, stream)) {
        requests.inc({ kind: "m3u8", status: 404 });
        return c.text(`Stream not found: ${appName}/${stream}`, 404, CORS);
      }
      /** The playlist now, or after the hold; a Response when there is none. */
      const awaitText = async (): Promise<string | Response> => {
        if (text !== undefined) return text;
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
        "Cache-Control": `public, max-age=${options.playlistMaxAgeSeconds}`,
      };
      if (!access?.sessionRequired(appName)) {
        const body = await awaitText();
        if (body instanceof Response) return body;
        requests.inc({ kind: "m3u8", status: 200 });
        return c.body(body, 200, headers);
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
        return c.body(withSessionCredential(body, cred), 200, {
          ...headers,
          ...markHeaders(mark),
          "Cache-Control": `private, max-age=${options.playlistMaxAgeSeconds}`,
        });
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

  /** A segment of `hlsStream`, checked against the session credential for `path`. */
  const serveSegment = async (
    c: Context,
    appName: string,
    hlsStream: string,
    segment: string,
    path: string,
  ): Promise<Response> => {
    if (!hls) return c.text("Not found", 404);
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
    const bytes = hls.segment(appName, hlsStream, segment.slice(0, -3));
    if (!bytes) {
      requests.inc({ kind: "ts", status: 404 });
      return c.text(`Segment not found: ${path}`, 404, CORS);
    }
    requests.inc({ kind: "ts", status: 200 });
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      ...CORS,
      // Cached by edges with the mark: they serve it only with a valid session credential.
      ...markHeaders(mark),
      "Content-Type": "video/mp2t",
      // Segment names are never reused (a per-start prefix), so they may be cached for long.
      "Cache-Control": "public, max-age=86400, immutable",
    });
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
      protectedApp ? withSessionCredential(text, cred!) : text,
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
