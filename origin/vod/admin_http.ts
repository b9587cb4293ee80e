/**
 * The origin's library admin routes (behind the node's admin token, as every admin API):
 *
 * - `PUT /admin{prefix}{path}` — upload, resumable: `Content-Range: bytes START-END/TOTAL` per
 *   chunk, `bytes *\/TOTAL` with no body for the state; without a range the body is the whole
 *   file. Answers `{path, received, total, complete}`: 201 once the file is in place, 200
 *   before. `?overwrite=1` replaces an existing file.
 * - `POST /admin{prefix}{path}` `{"action":"move","to":"folder/name.mp4","overwrite"?:bool}`
 *   — move or rename within the library.
 * - `DELETE /admin{prefix}{path}` — delete the file.
 *
 * With the default library (`/vod/`) these are `/admin/vod/{path}` (shared/INTERFACES.md's
 * `/vod/{path}` behind `/admin`).
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { createAdminGate, readJsonBody } from "../../net/mod.ts";
import type { Logger } from "../log.ts";
import { VodError, VodErrorCode } from "./errors.ts";
import type { Library } from "./library.ts";
import { type LibraryWriter, parseUploadRange } from "./upload.ts";

/** What the routes need. */
export interface VodAdminDeps {
  readonly libraries: readonly Library[];
  readonly writer: LibraryWriter;
  /** Bearer token of the routes; "" turns them off (403). */
  readonly adminToken: string;
  readonly log: Logger;
}

const JSON_HEADERS = {
  "Content-Type": "application/json; charset=utf-8",
  "Cache-Control": "no-store",
};

/** Creates the routes (absolute paths: mount with `app.route("/", …)`). */
export function createVodAdminRoutes(deps: VodAdminDeps): Hono {
  const { writer, log } = deps;
  const gate = createAdminGate(deps.adminToken, { log });
  const app = new Hono();

  /** The library and the encoded path after its prefix, or a 404 answer. */
  const target = (c: Context): { lib: Library; rest: string } | undefined => {
    const path = new URL(c.req.url).pathname.slice("/admin".length);
    const lib = deps.libraries.find((l) => path.startsWith(l.prefix));
    return lib ? { lib, rest: path.slice(lib.prefix.length) } : undefined;
  };
  const answer = (body: unknown, status: number) =>
    new Response(JSON.stringify(body), { status, headers: JSON_HEADERS });
  const failed = (e: unknown, what: string) => {
    const err = e instanceof VodError
      ? e
      : new VodError(VodErrorCode.Io, `Cannot ${what}`, { cause: e });
    if (err.status >= 500) {
      log.error("library write failed", {
        error: err.message,
        cause: err.cause instanceof Error ? err.cause.message : undefined,
      });
    }
    return answer({ error: err.message, code: err.code }, err.status);
  };
  /**
   * Runs `handle` for a library path behind the gate; any other `/admin/…` path goes on to
   * the origin's other admin routes untouched (and ungated here).
   */
  const route = (
    handle: (
      c: Context,
      t: { lib: Library; rest: string },
    ) => Promise<Response>,
  ) =>
  async (c: Context, next: () => Promise<void>) => {
    const t = target(c);
    if (!t) return await next();
    let out: Response | undefined;
    const refused = await gate(c, async () => {
      out = await handle(c, t);
    });
    return out ?? refused ?? c.body(null, 500);
  };

  app.put(
    "/admin/*",
    route(async (c, t) => {
      try {
        const header = c.req.header("Content-Range");
        const lengthHeader = c.req.header("Content-Length");
        const state = await writer.upload(
          t.lib,
          t.rest,
          header === undefined ? undefined : parseUploadRange(header),
          c.req.raw.body,
          lengthHeader === undefined ? undefined : Number(lengthHeader),
          c.req.query("overwrite") === "1",
        );
        if (state.complete) {
          log.info("library file uploaded", {
            library: t.lib.prefix,
            bytes: state.total,
          });
        }
        return answer(state, state.complete ? 201 : 200);
      } catch (e) {
        return failed(e, "upload");
      }
    }),
  );

  app.post(
    "/admin/*",
    route(async (c, t) => {
      const body = await readJsonBody(c, 16 * 1024);
      if (!body.ok) return body.response;
      const b = body.value as Record<string, unknown> | null;
      if (
        typeof b !== "object" || b === null || b.action !== "move" ||
        typeof b.to !== "string" ||
        (b.overwrite !== undefined && typeof b.overwrite !== "boolean")
      ) {
        return answer({
          error:
            'Invalid library request: expected {"action":"move","to":"path","overwrite"?:bool}',
          code: VodErrorCode.BadRequest,
        }, 400);
      }
      try {
        const moved = await writer.move(
          t.lib,
          t.rest,
          b.to,
          b.overwrite === true,
        );
        log.info("library file moved", { library: t.lib.prefix });
        return answer(moved, 200);
      } catch (e) {
        return failed(e, "move the file");
      }
    }),
  );

  app.delete(
    "/admin/*",
    route(async (c, t) => {
      try {
        await writer.remove(t.lib, t.rest);
        log.info("library file deleted", { library: t.lib.prefix });
        return c.body(null, 204, { "Cache-Control": "no-store" });
      } catch (e) {
        return failed(e, "delete the file");
      }
    }),
  );

  return app;
}
