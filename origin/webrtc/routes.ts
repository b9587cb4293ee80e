/**
 * The HTTP face of WHEP and WHIP (RFC 9725 §4; the WHEP draft mirrors it for playback):
 *
 * - `POST /{app}/{stream}/whep` (play) and `POST /{app}/{stream}/whip` (publish), body an SDP
 *   offer (`Content-Type: application/sdp`): `201 Created`, `Location` the session's URL, the
 *   answer with every ICE candidate (no trickle). WHIP takes the publish key as
 *   `Authorization: Bearer {key}` (or `?key=`), as RTMP publish does.
 * - `DELETE` of the session URL ends it (`200`); `PATCH` (trickle ICE, ICE restart) is `405`.
 * - Errors: `415` not `application/sdp`, `413` an offer over 64 KiB, `400` malformed SDP,
 *   `406` no H.264, `404` unknown stream, `401`/`403` access, `409` a stream already
 *   published, `503` at `maxSessions`; a plain-text body says why.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { MAX_SDP_BYTES } from "../../codec/sdp/mod.ts";
import type { OfferResult, WebrtcService } from "./service.ts";

/** The header that tells a client what it will not get (audio not sent). */
export const NOTE_HEADER = "X-Meridian-Note";

const CORS = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Expose-Headers": `Location, ${NOTE_HEADER}`,
};

function remoteOf(c: Context): string {
  const a = (c.env as
    | { remoteAddr?: { hostname: string; port: number } }
    | undefined)?.remoteAddr;
  return a ? `${a.hostname}:${a.port}` : "unknown:0";
}

function text(
  status: number,
  body: string,
  headers: Record<string, string> = {},
) {
  return new Response(`${body}\n`, {
    status,
    headers: {
      "Content-Type": "text/plain; charset=utf-8",
      ...CORS,
      ...headers,
    },
  });
}

/** Reads the body as text, at most `limit` bytes; undefined when it is longer. */
async function readLimited(
  req: Request,
  limit: number,
): Promise<string | undefined> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > limit) return undefined;
  if (!req.body) return "";
  const reader = req.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    parts.push(value);
  }
  const all = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.byteLength;
  }
  return new TextDecoder().decode(all);
}

/**
 * The routes; mount them before the live routes.
 *
 * @example
 * ```ts ignore
 * app.route("/", createWebrtcRoutes(service));
 * ```
 */
export function createWebrtcRoutes(service: WebrtcService): Hono {
  const app = new Hono();
  for (const kind of ["whep", "whip"] as const) {
    app.options(`/:app/:stream/${kind}`, () =>
      new Response(null, {
        status: 204,
        headers: {
          ...CORS,
          "Access-Control-Allow-Methods": "POST, DELETE, OPTIONS",
          "Access-Control-Allow-Headers": "Content-Type, Authorization",
          "Accept-Post": "application/sdp",
        },
      }));
    app.post(`/:app/:stream/${kind}`, async (c) => {
      const who = {
        app: c.req.param("app"),
        stream: c.req.param("stream"),
        peer: remoteOf(c),
      };
      const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim()
        .toLowerCase();
      if (type !== "application/sdp") {
        const message =
          `The offer must be Content-Type: application/sdp, got '${
            type.slice(0, 60) || "none"
          }'`;
        service.rejected(kind, who, 415, "content_type", message);
        return text(415, message, { "Accept-Post": "application/sdp" });
      }
      const offer = await readLimited(c.req.raw, MAX_SDP_BYTES);
      if (offer === undefined) {
        const message = `The offer must be at most ${MAX_SDP_BYTES} bytes`;
        service.rejected(kind, who, 413, "too_large", message);
        return text(413, message);
      }
      const params: Record<string, string> = { ...c.req.query() };
      const auth = c.req.header("authorization") ?? "";
      const bearer = /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim();
      if (bearer) {
        params.key ??= bearer;
        params.token ??= bearer;
      }
      const request = { ...who, offer, params };
      const r: OfferResult = kind === "whep"
        ? await service.whep(request)
        : await service.whip(request);
      if (!r.ok) {
        const headers: Record<string, string> = r.status === 401
          ? { "WWW-Authenticate": 'Bearer realm="Meridian"' }
          : {};
        return text(r.status, r.message, headers);
      }
      const location = `/${encodeURIComponent(request.app)}/${
        encodeURIComponent(request.stream)
      }/${kind}/${r.id}`;
      const headers: Record<string, string> = {
        ...CORS,
        "Content-Type": "application/sdp",
        Location: location,
        "Cache-Control": "no-store",
      };
      if (r.notes.length > 0) headers[NOTE_HEADER] = r.notes.join("; ");
      return new Response(r.answer, { status: 201, headers });
    });
    app.on(["PATCH"], `/:app/:stream/${kind}/:id`, () =>
      text(
        405,
        "Trickle ICE and ICE restarts are not supported: the answer carries every candidate",
        { Allow: "DELETE" },
      ));
    app.options(`/:app/:stream/${kind}/:id`, () =>
      new Response(null, {
        status: 204,
        headers: { ...CORS, "Access-Control-Allow-Methods": "DELETE, OPTIONS" },
      }));
    app.delete(`/:app/:stream/${kind}/:id`, (c) => {
      const ok = service.end(
        kind,
        c.req.param("app"),
        c.req.param("stream"),
        c.req.param("id"),
      );
      return ok
        ? new Response(null, { status: 200, headers: CORS })
        : text(404, "No such session (it ended or never existed)");
    });
  }
  return app;
}
