/**
 * The archive's HTTP face on the origin's port:
 *
 * - time-shift playlists (`/{app}/{stream}.m3u8?start=&end=`, `?offset=`), answered through
 *   the origin's playlist route so that access control is exactly the live playlist's;
 * - kept segments, served by the segment route when the live window no longer has them;
 * - `GET /{app}/{stream}/programs` (the programme list; open, like a player page);
 * - the admin API below `/admin/` (programmes, DVR, recordings, clips) with
 *   `Authorization: Bearer {admin token}` through Meridian's one admin gate (constant-time
 *   comparison, per-client lockout, 403 when no token is configured). INTERFACES.md puts the
 *   admin API on the control port: control will forward these routes to the origin holding
 *   the stream; until then they are called on the origin's port.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { createAdminGate, createLiveBody } from "../../net/mod.ts";
import type { Logger } from "../log.ts";
import type { StreamRegistry } from "../stream/registry.ts";
import type { DvrStore } from "./dvr_store.ts";
import { ArchiveError, ArchiveErrorCode } from "./errors.ts";
import { listProgrammes, programmesBody } from "./programs.ts";
import { parseProgrammeList, type ProgrammeSchedule } from "./schedule.ts";
import {
  availableOf,
  firstEndingAfter,
  parseTimeshiftQuery,
  selectRange,
  timeshiftPlaylist,
} from "./timeshift.ts";
import { runTimeshiftFlv, type TimeshiftFlvRequest } from "./flv_timeshift.ts";
import { parseTime } from "./time.ts";

/** `max-age` of the programme list (s): it changes with every kept segment. */
export const PROGRAMS_MAX_AGE_SECONDS = 2;
/** The archive's admin paths below `/admin` (each behind the admin gate). */
const ARCHIVE_ADMIN_PATHS = [
  "/dvr",
  "/programs/*",
  "/clips",
  "/clips/*",
  "/recordings",
  "/recordings/*",
] as const;

/** Largest admin request body read (bytes). */
export const MAX_ADMIN_BODY_BYTES = 256 * 1024;
/** App and stream names of URLs (the registry's safe names). */
const NAME_RE = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}$/;

/** A stream name that can name a folder (no traversal). */
export function isArchiveName(name: string): boolean {
  return NAME_RE.test(name) && !name.includes("..");
}

const CORS = { "Access-Control-Allow-Origin": "*" } as const;
const NO_STORE = { "Cache-Control": "no-store" } as const;

/** How a time-shift playlist request is answered. */
export type TimeshiftAnswer =
  /** `offset=`: go to the absolute `start` (the query to send the player to). */
  | { readonly kind: "redirect"; readonly query: URLSearchParams }
  | {
    readonly kind: "playlist";
    readonly text: string;
    /** Seconds it may be cached. */
    readonly maxAgeSeconds: number;
    /** It never changes (a closed range): `immutable`. */
    readonly immutable: boolean;
  };

/** Where the archive learns whether a stream may still grow. */
export interface LivePhases {
  /** `grace`: the publisher left a moment ago and may come back. */
  phase(app: string, stream: string): string | undefined;
}

/** What the archive's HTTP face needs. */
export interface ArchiveHttpDeps {
  readonly dvr: DvrStore;
  readonly registry: StreamRegistry;
  readonly schedule: ProgrammeSchedule;
  /** The live packagers (their grace phase keeps a range open). */
  readonly phases?: LivePhases | undefined;
  readonly log: Logger;
  /** Epoch ms. @default Date.now */
  readonly now?: () => number;
}

/** Options of the archive's HTTP face. */
export interface ArchiveHttpOptions {
  /** `max-age` of open (growing) time-shift playlists: the live playlist's. */
  readonly openMaxAgeSeconds: number;
  /** IANA zone of hour boundaries and daily programmes. */
  readonly timeZone: string;
  /** Bearer token of `/admin/*`; "" turns the admin API off (403). */
  readonly adminToken: string;
}

/** The JSON answer of an {@link ArchiveError} (other errors: a 500 without details). */
export function archiveErrorResponse(err: unknown, log: Logger): Response {
  const e = err instanceof ArchiveError ? err : new ArchiveError(
    ArchiveErrorCode.Io,
    "Cannot answer: internal error",
    { cause: err },
  );
  if (e.status >= 500) {
    log.error("archive request failed", {
      code: e.code,
      error: e.message,
      cause: e.cause instanceof Error ? e.cause.message : undefined,
    });
  } else {log.info("archive request refused", {
      code: e.code,
      error: e.message,
    });}
  return new Response(JSON.stringify(e.toJSON()), {
    status: e.status,
    headers: {
      ...CORS,
      ...NO_STORE,
      "Content-Type": "application/json; charset=utf-8",
    },
  });
}

/**
 * Reads a JSON request body of at most {@link MAX_ADMIN_BODY_BYTES}.
 *
 * @throws {ArchiveError} `ARCHIVE_BAD_REQUEST` when it is too large or not JSON.
 */
export async function readJsonBody(c: Context): Promise<unknown> {
  const length = Number(c.req.header("Content-Length") ?? "0");
  const tooLarge = () =>
    new ArchiveError(
      ArchiveErrorCode.BadRequest,
      `Cannot read request body: over ${MAX_ADMIN_BODY_BYTES} bytes`,
    );
  if (length > MAX_ADMIN_BODY_BYTES) throw tooLarge();
  const parts: Uint8Array[] = [];
  let total = 0;
  if (c.req.raw.body) {
    for await (const chunk of c.req.raw.body) {
      total += chunk.byteLength;
      if (total > MAX_ADMIN_BODY_BYTES) throw tooLarge();
      parts.push(chunk);
    }
  }
  const all = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.byteLength;
  }
  try {
    return JSON.parse(new TextDecoder().decode(all));
  } catch {
    throw new ArchiveError(
      ArchiveErrorCode.BadRequest,
      "Cannot parse request body: not JSON",
    );
  }
}

/** The archive's answers the origin's own routes call (playlist, segment). */
export class ArchiveHttp {
  /** Time-shift FLV bodies started, and those that joined the live edge. */
  readonly flvStats = { started: 0, joined: 0 };
  readonly #deps: ArchiveHttpDeps;
  readonly #o: ArchiveHttpOptions;
  readonly #now: () => number;

  constructor(options: ArchiveHttpOptions, deps: ArchiveHttpDeps) {
    this.#o = options;
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  /** True while more segments of the stream may come (live, or in its grace). */
  isOpen(app: string, stream: string): boolean {
    return this.#deps.registry.get(app, stream) !== undefined ||
      this.#deps.phases?.phase(app, stream) === "grace";
  }

  /** The stream's view, or a 404 naming why there is none. */
  viewOf(app: string, stream: string) {
    const view = this.#deps.dvr.view(app, stream);
    if (view && (view.segments.length > 0 || view.live)) return view;
    throw new ArchiveError(
      ArchiveErrorCode.NotFound,
      this.#deps.dvr.enabled(app, stream)
        ? `Cannot find ${app}/${stream} in the archive: nothing recorded in the window`
        : `Cannot find ${app}/${stream} in the archive: time-shift is off for it`,
      { available: view ? availableOf(view) : undefined },
    );
  }

  /**
   * A playlist request's time-shift answer, or `undefined` when it asks for the live playlist
   * (no `start`, `end` or `offset`).
   *
   * @throws {ArchiveError} 400 (malformed query), 404 (nothing archived), 416 (outside the
   *   window; names what it holds).
   */
  timeshift(
    app: string,
    stream: string,
    query: URLSearchParams,
  ): TimeshiftAnswer | undefined {
    const now = this.#now();
    const q = parseTimeshiftQuery(query, now);
    if (!q) return undefined;
    if (q.kind === "offset") {
      const next = new URLSearchParams();
      for (const [k, v] of query) if (k !== "offset") next.set(k, v);
      next.set("start", (q.startMs / 1000).toFixed(3).replace(/\.?0+$/, ""));
      return { kind: "redirect", query: next };
    }
    const view = this.viewOf(app, stream);
    const p = timeshiftPlaylist(
      view,
      q.startMs,
      q.endMs,
      { nowMs: now, open: this.isOpen(app, stream) },
      `${stream}/`,
    );
    return {
      kind: "playlist",
      text: p.text,
      maxAgeSeconds: p.maxAgeSeconds ?? this.#o.openMaxAgeSeconds,
      immutable: p.closed,
    };
  }

  /**
   * Checks an HTTP-FLV time-shift request (`?start=T`) before access is settled.
   *
   * @returns `undefined` when it asks for the live stream (no `start`).
   * @throws {ArchiveError} 400, 404 or 416, as a playlist's.
   */
  flvTimeshift(
    app: string,
    stream: string,
    query: URLSearchParams,
  ): TimeshiftFlvRequest | undefined {
    const raw = query.get("start");
    if (raw === null) return undefined;
    const startMs = parseTime(raw, "start");
    const view = this.viewOf(app, stream);
    const open = this.isOpen(app, stream);
    selectRange(view, startMs, undefined, { nowMs: this.#now(), open });
    const i = Math.min(
      firstEndingAfter(view.segments, startMs),
      view.segments.length - 1,
    );
    return { app, stream, startMs, first: view.segments[i]! };
  }

  /** The body of a checked HTTP-FLV time-shift request, fed at live speed. */
  flvResponse(
    req: TimeshiftFlvRequest,
    init: {
      readonly headers: HeadersInit;
      readonly maxQueueBytes: number;
      readonly signal?: AbortSignal | undefined;
      readonly onClose?: (() => void) | undefined;
    },
  ): Response {
    const stop = new AbortController();
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      stop.abort();
      init.onClose?.();
    };
    const { response, out } = createLiveBody({
      maxQueueBytes: init.maxQueueBytes,
      framing: "chunked",
      headers: init.headers,
      gone: close,
    });
    init.signal?.addEventListener("abort", () => {
      close();
      out.end(false, "token revoked");
    }, { once: true });
    this.flvStats.started++;
    runTimeshiftFlv(req, out, stop.signal, {
      dvr: this.#deps.dvr,
      registry: this.#deps.registry,
      isOpen: (a, s) => this.isOpen(a, s),
      log: this.#deps.log,
      onJoin: () => this.flvStats.joined++,
      now: this.#now,
    }).finally(close);
    return response;
  }

  /** The file of a kept segment (the live window no longer has it), or `undefined`. */
  segmentFile(app: string, stream: string, name: string): string | undefined {
    return this.#deps.dvr.segmentFile(app, stream, name);
  }

  /** `GET /{app}/{stream}/programs`. */
  programmes(app: string, stream: string): Record<string, unknown> {
    const view = this.viewOf(app, stream);
    const entries = listProgrammes(
      view,
      this.#deps.schedule.forStream(app, stream),
      { nowMs: this.#now(), timeZone: this.#o.timeZone },
    );
    return programmesBody(view, entries, availableOf(view));
  }

  /**
   * The archive's routes: the programme list and the admin API (`extra` adds the recording
   * and clip routes, mounted behind the same gate).
   */
  routes(extra: ((admin: Hono) => void)[] = []): Hono {
    const app = new Hono();
    const log = this.#deps.log;
    const names = (c: Context): [string, string] => {
      const a = c.req.param("app") ?? "";
      const s = c.req.param("stream") ?? "";
      if (!isArchiveName(a) || !isArchiveName(s)) {
        throw new ArchiveError(
          ArchiveErrorCode.BadRequest,
          "Invalid stream name: letters, digits, '_', '-' and '.' only",
        );
      }
      return [a, s];
    };
    app.get("/:app/:stream/programs", (c) => {
      try {
        const [a, s] = names(c);
        return c.json(this.programmes(a, s), 200, {
          ...CORS,
          // A guide changes with every segment: a few seconds in caches, no more.
          "Cache-Control": `public, max-age=${PROGRAMS_MAX_AGE_SECONDS}`,
        });
      } catch (err) {
        return archiveErrorResponse(err, log);
      }
    });

    const admin = new Hono();
    // The gate covers the archive's own paths only: other admin routes on this port
    // (channels, streams, uploads) keep theirs.
    const gate = createAdminGate(this.#o.adminToken, { log });
    for (const path of ARCHIVE_ADMIN_PATHS) admin.use(path, gate);
    admin.get("/dvr", (c) =>
      c.json(
        {
          totalBytes: this.#deps.dvr.totalBytes,
          diskFull: this.#deps.dvr.diskFull,
          streams: this.#deps.dvr.list().map((v) => ({
            app: v.app,
            stream: v.stream,
            live: v.live,
            windowSeconds: v.windowMs / 1000,
            segments: v.segments.length,
            bytes: v.bytes,
            available: availableOf(v) ?? null,
            sessions: v.sessions.map((x) => ({
              id: x.id,
              start: new Date(x.startedAtMs).toISOString(),
              end: x.endedAtMs === undefined
                ? null
                : new Date(x.endedAtMs).toISOString(),
              live: x.live,
            })),
          })),
        },
        200,
        NO_STORE,
      ));
    admin.get("/programs/:app/:stream", (c) => {
      try {
        const [a, s] = names(c);
        return c.json(
          {
            app: a,
            stream: s,
            programs: this.#deps.schedule.setFor(a, s),
            configured: this.#deps.schedule.forStream(a, s).slice(
              0,
              this.#deps.schedule.forStream(a, s).length -
                this.#deps.schedule.setFor(a, s).length,
            ),
          },
          200,
          NO_STORE,
        );
      } catch (err) {
        return archiveErrorResponse(err, log);
      }
    });
    admin.put("/programs/:app/:stream", async (c) => {
      try {
        const [a, s] = names(c);
        const items = parseProgrammeList(await readJsonBody(c));
        await this.#deps.schedule.replace(a, s, items);
        return c.json({ app: a, stream: s, programs: items }, 200, NO_STORE);
      } catch (err) {
        return archiveErrorResponse(err, log);
      }
    });
    for (const add of extra) add(admin);
    app.route("/admin", admin);
    return app;
  }
}
