/**
 * The LL-HLS routes of the origin: `/{app}/{stream}/ll.m3u8` (with the delivery directives
 * of RFC 8216bis §6.2.5.1) and the files it names below `/{app}/{stream}/` (`ll_…`).
 *
 * Caching, so that an edge can carry LL-HLS (RFC 8216bis §6.2.5.2 and Appendix on CDNs):
 * - a playlist without directives changes with every part: `max-age=0` (an edge still
 *   coalesces concurrent requests for it into one fetch);
 * - a blocking reload (`_HLS_msn`/`_HLS_part`) is answered once that part exists, and any
 *   later answer for the same directives is the same or newer: it may be kept for one target
 *   duration, so the viewers of an edge that ask for the next part share one origin fetch;
 * - parts, segments and init segments never change (names are unique per publish): a day,
 *   immutable. A part asked for before it exists (the preload hint) is held until it does.
 * - Errors are `no-store`: a 404 for a part that comes a moment later must not stick.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import {
  type LlDirectives,
  parseLlDirectives,
  PlaylistFormatError,
} from "../../codec/hls/mod.ts";
import type { Logger } from "../log.ts";
import type { LlHlsPackagers, LlWait } from "./packagers.ts";
import { parseFileName } from "./stream.ts";

const NAME_RE = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;
const safe = (name: string) => NAME_RE.test(name) && !name.includes("..");

const CORS = { "Access-Control-Allow-Origin": "*" } as const;
const NO_STORE = { ...CORS, "Cache-Control": "no-store" } as const;

/** What the routes need besides the packagers. */
export interface LlHlsRoutesDeps {
  readonly log: Logger;
  /**
   * Apps whose playback needs a session (tokens): LL-HLS is refused there (403), since its
   * parts carry no session credential yet. @default none
   */
  readonly protectedApp?: (app: string) => boolean;
}

/**
 * Creates the LL-HLS routes. Requests for apps without LL-HLS fall through to the next
 * handler (a transcoded variant or segment of the same shape).
 *
 * @example
 * ```ts
 * import { createLlHlsRoutes } from "./routes.ts";
 * import { LlHlsPackagers } from "./packagers.ts";
 * import { StreamRegistry } from "../stream/registry.ts";
 * import { MetricsRegistry } from "../../metrics/mod.ts";
 * import { silentLogger } from "../log.ts";
 * import assert from "node:assert/strict";
 * const enc = { tag: (t: { data: Uint8Array }) => t.data };
 * const registry = new StreamRegistry({ gopCache: true, maxGopCacheBytes: 1 << 20, flushIntervalMs: 0, encoders: { flv: enc, rtmp: enc }, log: silentLogger });
 * const ll = new LlHlsPackagers({ apps: ["live"], targetDurationMs: 2000, keyframeTolerance: 0.1,
 *   partTargetMs: 333, windowSegments: 6, maxHeldRequests: 10, endGraceMs: 100, endedRetentionMs: 100,
 * }, { registry, metrics: new MetricsRegistry(), log: silentLogger });
 * const app = createLlHlsRoutes(ll, { log: silentLogger });
 * const res = await app.request("/live/cam/ll.m3u8?_HLS_part=2");
 * assert.equal(res.status, 400);
 * await res.body?.cancel();
 * ll.close();
 * ```
 */
export function createLlHlsRoutes(
  ll: LlHlsPackagers,
  deps: LlHlsRoutesDeps,
): Hono {
  const app = new Hono();
  const count = (kind: "llhls" | "llpart", status: number) =>
    ll.countRequest(kind === "llhls" ? "playlist" : "part", status);
  const log = deps.log;

  const refused = (c: Context, app: string): Response | undefined => {
    if (!deps.protectedApp?.(app)) return undefined;
    count("llhls", 403);
    return c.text(
      `LL-HLS is not offered for app ${app}: its playback needs a session (use /${app}/{stream}.m3u8)`,
      403,
      NO_STORE,
    );
  };

  const waitFailed = (
    c: Context,
    kind: "llhls" | "llpart",
    w: LlWait,
    what: string,
  ): Response => {
    if (w.kind === "timeout" || w.kind === "busy") {
      count(kind, 503);
      return c.text(
        w.kind === "busy"
          ? "Too many LL-HLS requests waiting"
          : `Not available yet: ${what}`,
        503,
        { ...NO_STORE, "Retry-After": "1" },
      );
    }
    count(kind, 404);
    return c.text(`Not found: ${what}`, 404, NO_STORE);
  };

  app.get("/:app/:stream/ll.m3u8", async (c, next) => {
    const { app: appName, stream } = c.req.param();
    if (!ll.enabled(appName)) return await next();
    if (!safe(appName) || !safe(stream)) {
      count("llhls", 400);
      return c.text("Bad stream name", 400, NO_STORE);
    }
    const denied = refused(c, appName);
    if (denied) return denied;
    let d: LlDirectives;
    try {
      d = parseLlDirectives(new URL(c.req.url).searchParams);
    } catch (err) {
      if (!(err instanceof PlaylistFormatError)) throw err;
      count("llhls", 400);
      log.info("bad LL-HLS directive", {
        stream: `${appName}/${stream}`,
        error: err.message,
      });
      return c.text(err.message, 400, NO_STORE);
    }
    const what = `/${appName}/${stream}/ll.m3u8`;
    let s = ll.stream(appName, stream);
    if (!s) {
      count("llhls", 404);
      return c.text(`Stream not found: ${appName}/${stream}`, 404, NO_STORE);
    }
    if (d.msn !== undefined) {
      // §6.2.5.2: a request too far ahead is a Bad Request, not held.
      if (s.tooFar(d.msn, d.part)) {
        count("llhls", 400);
        const pos = s.position;
        return c.text(
          `Cannot hold LL-HLS request: _HLS_msn=${d.msn}${
            d.part === undefined ? "" : ` _HLS_part=${d.part}`
          } is too far ahead of segment ${pos.msn} part ${pos.parts}`,
          400,
          NO_STORE,
        );
      }
      const w = await ll.wait(
        appName,
        stream,
        d.msn,
        d.part,
        c.req.raw.signal,
      );
      if (w.kind !== "ready") return waitFailed(c, "llhls", w, what);
    } else if (s.playlist() === undefined && !s.finished) {
      // Live without a first part yet: held for it, as the regular playlist is.
      const w = await ll.wait(
        appName,
        stream,
        s.position.msn,
        0,
        c.req.raw.signal,
      );
      if (w.kind !== "ready") return waitFailed(c, "llhls", w, what);
    }
    s = ll.stream(appName, stream);
    if (s && s.playlist() === undefined && !s.finished) {
      // Answered by a republish that has no part yet: its first part is a moment away.
      const w = await ll.wait(
        appName,
        stream,
        s.position.msn,
        0,
        c.req.raw.signal,
      );
      if (w.kind !== "ready") return waitFailed(c, "llhls", w, what);
      s = ll.stream(appName, stream);
    }
    const text = s?.playlist(d.skip);
    if (text === undefined) {
      count("llhls", 404);
      return c.text(`Stream not found: ${appName}/${stream}`, 404, NO_STORE);
    }
    count("llhls", 200);
    const maxAge = d.msn === undefined
      ? 0
      : Math.max(1, Math.round(ll.targetDurationMs / 1000));
    return c.body(text, 200, {
      ...CORS,
      "Content-Type": "application/vnd.apple.mpegurl",
      "Cache-Control": `public, max-age=${maxAge}`,
    });
  });

  app.get("/:app/:stream/:file{ll_[A-Za-z0-9_.]+}", async (c, next) => {
    const { app: appName, stream, file } = c.req.param();
    if (!ll.enabled(appName)) return await next();
    const ref = parseFileName(file);
    if (!safe(appName) || !safe(stream) || !ref) {
      count("llpart", 404);
      return c.text("Not found", 404, NO_STORE);
    }
    const denied = refused(c, appName);
    if (denied) return denied;
    const what = `/${appName}/${stream}/${file}`;
    let s = ll.stream(appName, stream);
    let bytes = s?.file(file);
    if (!bytes && s) {
      // A part asked for before it exists (EXT-X-PRELOAD-HINT): held until it is made.
      const ahead = s.expects(file);
      if (ahead) {
        const w = await ll.wait(
          appName,
          stream,
          ahead.msn,
          ahead.part,
          c.req.raw.signal,
        );
        if (w.kind !== "ready") return waitFailed(c, "llpart", w, what);
        s = ll.stream(appName, stream);
        bytes = s?.file(file);
      }
    }
    if (!bytes) {
      count("llpart", 404);
      return c.text(`Not found: ${what}`, 404, NO_STORE);
    }
    count("llpart", 200);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      ...CORS,
      "Content-Type": "video/mp4",
      "Cache-Control": "public, max-age=86400, immutable",
    });
  });

  return app;
}
