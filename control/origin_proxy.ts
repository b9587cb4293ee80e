/**
 * The admin routes of control that act on origins (relative to `/admin`), each forwarded to
 * the origin concerned with the node's admin token, so the console talks to control alone:
 *
 * - `GET /origins` — the origins control knows (store: stream directory, node directory)
 * - `POST /streams/{app}/{stream}/kick` — the origin's `DELETE /admin/streams/{app}/{stream}`
 * - `GET|POST /recordings` — the origins' recordings (shared/INTERFACES.md); 404 on every
 *   origin: `{"available": false}` with 404, so the console says the feature is not there
 * - `POST /clips`, `GET|DELETE /clips/{id}` — clip export (INTERFACES.md shapes)
 * - `GET /vod` — the library listing (`/api/vod`) of `?origin=` (default: the first origin)
 * - `GET /vod/{path}` — a file's metadata; `?thumb=SECONDS`: its thumbnail (JPEG)
 * - `PUT|POST|DELETE /vod/{path}` — the origin's upload (Content-Range chunks), move, delete
 * - `GET /snapshot/{app}/{stream}` — a live stream's latest snapshot (JPEG), where made
 * - `GET /programs/{app}/{stream}` — a channel's programme list
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { describeError, type Logger } from "../log/mod.ts";
import { clientAddress, NO_STORE, readJsonBody } from "../net/http/respond.ts";
import type { ControlEnv } from "./console_auth.ts";
import { ControlError } from "./errors.ts";
import {
  ORIGIN_UPLOAD_TIMEOUT_MS,
  type OriginDirectory,
  type OriginRef,
} from "./origins.ts";

/** Largest upload chunk forwarded (bytes): what the HTTP server reads of one body. */
export const MAX_FORWARDED_CHUNK_BYTES = 1024 * 1024;

const NAME_RE = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;
const CLIP_ID_RE = /^[A-Za-z0-9_-]{1,128}$/;

/** What the routes need. */
export interface OriginProxyDeps {
  readonly origins: OriginDirectory;
  readonly log: Logger;
}

/** The origin's answer as control's, headers that matter kept. */
async function relay(res: Response, extra: Record<string, string> = {}) {
  const headers = new Headers(NO_STORE);
  for (const h of ["Content-Type", "Content-Range", "Retry-After"]) {
    const v = res.headers.get(h);
    if (v !== null) headers.set(h, v);
  }
  for (const [k, v] of Object.entries(extra)) headers.set(k, v);
  const body = res.status === 204 || res.status === 304
    ? null
    : await res.arrayBuffer();
  return new Response(body, { status: res.status, headers });
}

const json = (body: unknown, status: number) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { ...NO_STORE, "Content-Type": "application/json" },
  });

/** The route group. */
export function createOriginProxyRoutes(
  deps: OriginProxyDeps,
): Hono<ControlEnv> {
  const { origins, log } = deps;
  const app = new Hono<ControlEnv>();
  app.onError((e, c) => {
    if (e instanceof ControlError) return json({ error: e.message }, 502);
    log.error("origin call failed", {
      path: c.req.path,
      error: describeError(e),
    });
    return json({ error: "Internal error" }, 500);
  });

  const noOrigin = () =>
    json(
      { error: "No origin is known (none announces itself in the store)" },
      404,
    );
  /** The origin `?origin=` names, or the first. */
  const picked = async (c: Context) =>
    await origins.pick(c.req.query("origin") || undefined);
  const libPath = (c: Context) =>
    new URL(c.req.url).pathname.replace(/^\/admin\/vod\//, "");

  app.get("/origins", async () => json({ origins: await origins.list() }, 200));

  app.post("/streams/:app/:stream/kick", async (c) => {
    const { app: a, stream } = c.req.param();
    if (!NAME_RE.test(a) || !NAME_RE.test(stream)) {
      return json({ error: "Invalid stream name" }, 400);
    }
    const carrying = await origins.forStream(a, stream);
    if (carrying.length === 0) {
      return json({ error: `Stream not live: ${a}/${stream}` }, 404);
    }
    let last: Response | undefined;
    for (const o of carrying) {
      last = await origins.call(
        o,
        `/admin/streams/${encodeURIComponent(a)}/${encodeURIComponent(stream)}`,
        { method: "DELETE" },
      );
      if (last.status !== 204) break;
    }
    log.info("publisher kick", {
      stream: `${a}/${stream}`,
      status: last!.status,
      operator: c.get("principal")?.name,
      client: clientAddress(c),
    });
    return await relay(last!);
  });

  // --- recordings and clips: forwarded; absent on every origin = not available ----------
  const firstAnswer = async (
    list: readonly OriginRef[],
    path: string,
    init: RequestInit = {},
  ): Promise<Response> => {
    let last: Response | undefined;
    for (const o of list) {
      const res = await origins.call(o, path, init);
      if (res.status !== 404) {
        return await relay(res, { "X-Meridian-Origin": o.id });
      }
      await res.body?.cancel();
      last = res;
    }
    return last === undefined ? noOrigin() : json(
      { error: "Not available on any origin", available: false },
      404,
    );
  };

  app.get("/recordings", async () => {
    const all = await origins.list();
    if (all.length === 0) return noOrigin();
    const merged: unknown[] = [];
    let available = false;
    for (const o of all) {
      const res = await origins.call(o, "/admin/recordings");
      if (res.status === 404) {
        await res.body?.cancel();
        continue;
      }
      available = true;
      if (!res.ok) return await relay(res);
      const body = await res.json().catch(() => ({}));
      const list = Array.isArray(body?.recordings) ? body.recordings : [];
      for (const r of list) merged.push({ ...r, originId: o.id });
    }
    if (!available) {
      return json(
        { error: "Recordings are not available", available: false },
        404,
      );
    }
    return json({ recordings: merged, available: true }, 200);
  });

  const streamOrigins = async (body: Record<string, unknown>, c: Context) => {
    if (typeof body.app === "string" && typeof body.stream === "string") {
      const carrying = await origins.forStream(body.app, body.stream);
      if (carrying.length) return carrying;
    }
    const o = await picked(c);
    return o ? [o] : [];
  };

  app.post("/recordings", async (c) => {
    const body = await readJsonBody(c, 16 * 1024);
    if (!body.ok) return body.response;
    const b = (body.value ?? {}) as Record<string, unknown>;
    return await firstAnswer(await streamOrigins(b, c), "/admin/recordings", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(b),
    });
  });

  app.post("/clips", async (c) => {
    const body = await readJsonBody(c, 16 * 1024);
    if (!body.ok) return body.response;
    const b = (body.value ?? {}) as Record<string, unknown>;
    return await firstAnswer(await streamOrigins(b, c), "/admin/clips", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(b),
    });
  });

  for (const method of ["GET", "DELETE"] as const) {
    app.on(method, "/clips/:id", async (c) => {
      const id = c.req.param("id");
      if (!CLIP_ID_RE.test(id)) return json({ error: "Invalid clip id" }, 400);
      return await firstAnswer(
        await origins.list(),
        `/admin/clips/${encodeURIComponent(id)}`,
        { method },
      );
    });
  }

  // --- the library --------------------------------------------------------------------------
  app.get("/vod", async (c) => {
    const o = await picked(c);
    if (!o) return noOrigin();
    const res = await origins.call(o, "/api/vod");
    if (!res.ok) return await relay(res);
    const body = await res.json();
    return json({ origin: o, files: body.files ?? [] }, 200);
  });

  app.get("/vod/*", async (c) => {
    const o = await picked(c);
    if (!o) return noOrigin();
    const path = libPath(c);
    const thumb = c.req.query("thumb");
    if (thumb !== undefined) {
      if (!/^\d{1,7}(\.\d{1,3})?$/.test(thumb)) {
        return json({ error: "Invalid thumb: expected seconds" }, 400);
      }
      const res = await origins.call(o, `/vod/${path}.jpg?t=${thumb}`);
      return await relay(res, { "Cache-Control": "private, max-age=300" });
    }
    return await relay(await origins.call(o, `/api/vod/${path}`));
  });

  app.put("/vod/*", async (c) => {
    const o = await picked(c);
    if (!o) return noOrigin();
    const declared = Number(c.req.header("Content-Length") ?? "0");
    if (declared > MAX_FORWARDED_CHUNK_BYTES) {
      return json({
        error:
          `Upload chunk too large: ${declared} bytes, send at most ${MAX_FORWARDED_CHUNK_BYTES} per request`,
      }, 413);
    }
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    const headers: Record<string, string> = {};
    const range = c.req.header("Content-Range");
    if (range !== undefined) headers["Content-Range"] = range;
    const q = c.req.query("overwrite") === "1" ? "?overwrite=1" : "";
    const res = await origins.call(o, `/admin/vod/${libPath(c)}${q}`, {
      method: "PUT",
      headers,
      body: bytes,
      timeoutMs: ORIGIN_UPLOAD_TIMEOUT_MS,
    });
    if (res.status === 201) {
      log.info("library upload finished", {
        origin: o.id,
        operator: c.get("principal")?.name,
      });
    }
    return await relay(res);
  });

  for (const method of ["POST", "DELETE"] as const) {
    app.on(method, "/vod/*", async (c) => {
      const o = await picked(c);
      if (!o) return noOrigin();
      const init: RequestInit = { method };
      if (method === "POST") {
        const body = await readJsonBody(c, 16 * 1024);
        if (!body.ok) return body.response;
        init.headers = { "Content-Type": "application/json" };
        init.body = JSON.stringify(body.value);
      }
      const res = await origins.call(o, `/admin/vod/${libPath(c)}`, init);
      log.info(method === "POST" ? "library move" : "library delete", {
        origin: o.id,
        status: res.status,
        operator: c.get("principal")?.name,
      });
      return await relay(res);
    });
  }

  // The latest snapshot of a live stream (`/{app}/{stream}.jpg`, where the origin makes them).
  app.get("/snapshot/:app/:stream", async (c) => {
    const { app: a, stream } = c.req.param();
    if (!NAME_RE.test(a) || !NAME_RE.test(stream)) {
      return json({ error: "Invalid stream name" }, 400);
    }
    const carrying = await origins.forStream(a, stream);
    if (carrying.length === 0) return json({ error: "Stream not live" }, 404);
    const res = await origins.call(
      carrying[0]!,
      `/${encodeURIComponent(a)}/${encodeURIComponent(stream)}.jpg`,
    );
    if (!(res.headers.get("Content-Type") ?? "").startsWith("image/")) {
      await res.body?.cancel();
      return json({ error: "No snapshot", available: false }, 404);
    }
    return await relay(res, { "Cache-Control": "private, max-age=5" });
  });

  app.get("/programs/:app/:stream", async (c) => {
    const { app: a, stream } = c.req.param();
    if (!NAME_RE.test(a) || !NAME_RE.test(stream)) {
      return json({ error: "Invalid stream name" }, 400);
    }
    const carrying = await origins.forStream(a, stream);
    const list = carrying.length ? carrying : await origins.list();
    return await firstAnswer(
      list,
      `/${encodeURIComponent(a)}/${encodeURIComponent(stream)}/programs`,
    );
  });

  return app;
}
