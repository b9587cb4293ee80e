/**
 * The virtual-live routes of the origin's HTTP port:
 *
 * - `GET /{app}/{stream}/programs`: the programme guide (open, like a player page; it names
 *   files by their base name only, never the server's folders).
 * - `GET /admin/channels/{app}/{stream}`: a channel's playlist, schedule and state.
 * - `PUT /admin/channels/{app}/{stream}` `{"playlist": [...], "loop"?: bool}`: replaces the
 *   playlist from the next item boundary (control's console calls this).
 *
 * The admin routes take `Authorization: Bearer {admin token}` through the one admin gate of
 * Meridian (control's `createAdminGate`: constant-time comparison, per-client lockout, 403 when
 * no token is configured), so the origin's admin API answers as the edge's and the control's do.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { createAdminGate } from "../../net/mod.ts";
import { MAX_MEDIA_PATH_LENGTH, MAX_PLAYLIST_ITEMS } from "../../config/mod.ts";
import type { Logger } from "../log.ts";
import { extensionOf, MEDIA_EXTENSIONS } from "../vod/mod.ts";
import type { VirtualChannel } from "./channel.ts";
import { VirtualLiveError, VirtualLiveErrorCode } from "./errors.ts";
import { programsOf } from "./programs.ts";

/** Largest admin request body read (bytes): a playlist of thousands of paths fits. */
export const MAX_CHANNEL_BODY_BYTES = 1024 * 1024;

/** Where the routes find channels. */
export interface ChannelDirectory {
  get(app: string, stream: string): VirtualChannel | undefined;
  /** The channels' clock (epoch ms). */
  now(): number;
}

/** Options of {@link createVirtualLiveRoutes}. */
export interface VirtualLiveRoutesOptions {
  /** Bearer token of `/admin/channels/*`; "" turns those routes off (403). */
  readonly adminToken: string;
  readonly log: Logger;
}

/** A rejected admin body: which field, and why. */
export class ChannelRequestError extends VirtualLiveError {
  override name = "ChannelRequestError";
  constructor(
    readonly field: string,
    message: string,
    readonly status: 400 | 413 = 400,
  ) {
    super(VirtualLiveErrorCode.BadRequest, message);
  }
}

/** A replacement playlist, as validated. */
export interface PlaylistChange {
  readonly playlist: readonly string[];
  readonly loop: boolean | undefined;
}

function bad(field: string, value: unknown, expected: string): never {
  const shown = JSON.stringify(value) ?? String(value);
  throw new ChannelRequestError(
    field,
    `Invalid channel '${field}': got ${
      shown.length > 200 ? `${shown.slice(0, 200)}…` : shown
    }, expected ${expected}`,
  );
}

/**
 * Validates a `PUT /admin/channels/…` body: `playlist` (1..{@link MAX_PLAYLIST_ITEMS} paths of
 * MP4 or FLV files), optional `loop`, nothing else. A path that does not exist is accepted: it
 * is skipped with a log line when its turn comes, as a missing file in the config is.
 *
 * @throws {ChannelRequestError} Naming the first bad field.
 * @example
 * ```ts
 * import { parsePlaylistChange } from "./http.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parsePlaylistChange({ playlist: ["a.mp4"], loop: false }), { playlist: ["a.mp4"], loop: false });
 * assert.throws(() => parsePlaylistChange({ playlist: ["notes.txt"] }), /'playlist\[0\]'/);
 * ```
 */
export function parsePlaylistChange(body: unknown): PlaylistChange {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    bad("", body, 'an object like {"playlist": ["a.mp4"]}');
  }
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) {
    if (k !== "playlist" && k !== "loop") {
      bad(k, b[k], "one of the known keys: playlist, loop");
    }
  }
  const list = b.playlist;
  if (!Array.isArray(list)) {
    bad("playlist", list, "a list of MP4 or FLV file paths");
  }
  if (list.length === 0 || list.length > MAX_PLAYLIST_ITEMS) {
    bad("playlist", list, `1..${MAX_PLAYLIST_ITEMS} file paths`);
  }
  list.forEach((p, i) => {
    if (
      typeof p !== "string" || p.length === 0 ||
      p.length > MAX_MEDIA_PATH_LENGTH || p.includes("\0") ||
      MEDIA_EXTENSIONS[extensionOf(p)] === undefined
    ) {
      bad(
        `playlist[${i}]`,
        p,
        `a path of an MP4 or FLV file (.${
          Object.keys(MEDIA_EXTENSIONS).join(", .")
        }), 1..${MAX_MEDIA_PATH_LENGTH} characters`,
      );
    }
  });
  if (b.loop !== undefined && typeof b.loop !== "boolean") {
    bad("loop", b.loop, "a boolean");
  }
  return {
    playlist: list as string[],
    loop: b.loop as boolean | undefined,
  };
}

/** A channel as the admin API shows it. */
export function channelView(ch: VirtualChannel, nowMs: number) {
  const p = ch.programme;
  return {
    app: ch.app,
    stream: ch.stream,
    live: ch.live,
    ended: ch.ended,
    playlist: p.playlist,
    loop: p.loop,
    schedule: p.schedule,
    timeZone: p.timeZone,
    now: programsOf(ch, nowMs, "full").now,
    stats: ch.stats,
  };
}

const NO_STORE = { "Cache-Control": "no-store" };

async function readBody(c: Context): Promise<string> {
  const length = Number(c.req.header("Content-Length") ?? "0");
  if (length > MAX_CHANNEL_BODY_BYTES) {
    throw new ChannelRequestError(
      "",
      `Cannot read request body: ${length} bytes, over ${MAX_CHANNEL_BODY_BYTES}`,
      413,
    );
  }
  const body = c.req.raw.body;
  if (!body) return "";
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > MAX_CHANNEL_BODY_BYTES) {
      throw new ChannelRequestError(
        "",
        `Cannot read request body: over ${MAX_CHANNEL_BODY_BYTES} bytes`,
        413,
      );
    }
    parts.push(chunk);
  }
  const all = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.byteLength;
  }
  return new TextDecoder().decode(all);
}

/**
 * The routes, as a Hono app to mount on the origin's (before its segment route, which would
 * otherwise take `/{app}/{stream}/programs`).
 */
export function createVirtualLiveRoutes(
  channels: ChannelDirectory,
  options: VirtualLiveRoutesOptions,
): Hono {
  const app = new Hono();
  app.get("/:app/:stream/programs", (c) => {
    const ch = channels.get(c.req.param("app"), c.req.param("stream"));
    if (!ch) {
      return c.json(
        { error: "Not a virtual-live channel" },
        404,
        { "Access-Control-Allow-Origin": "*" },
      );
    }
    // A guide changes with every item: a player may cache it a few seconds, no more.
    return c.json(programsOf(ch, channels.now()), 200, {
      "Access-Control-Allow-Origin": "*",
      "Cache-Control": "public, max-age=2",
    });
  });

  app.use(
    "/admin/channels/*",
    createAdminGate(options.adminToken, { log: options.log }),
  );
  const lookup = (c: Context) =>
    channels.get(c.req.param("app") ?? "", c.req.param("stream") ?? "");
  app.get("/admin/channels/:app/:stream", (c) => {
    const ch = lookup(c);
    if (!ch) {
      return c.json({ error: "No such channel" }, 404, NO_STORE);
    }
    return c.json(channelView(ch, channels.now()), 200, NO_STORE);
  });
  app.put("/admin/channels/:app/:stream", async (c) => {
    const ch = lookup(c);
    if (!ch) {
      return c.json({ error: "No such channel" }, 404, NO_STORE);
    }
    let change: PlaylistChange;
    try {
      const text = await readBody(c);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new ChannelRequestError(
          "",
          "Cannot parse request body: not JSON",
        );
      }
      change = parsePlaylistChange(body);
    } catch (err) {
      if (!(err instanceof ChannelRequestError)) throw err;
      return c.json(
        { error: err.message, field: err.field },
        err.status,
        NO_STORE,
      );
    }
    ch.replacePlaylist(change.playlist, change.loop ?? ch.programme.loop);
    return c.json(channelView(ch, channels.now()), 200, NO_STORE);
  });
  return app;
}
