/**
 * `/api/resume`: where a viewer stopped in a VOD file (收看进度记忆), kept in the shared store
 * (`store.resume`) so the position follows the viewer from phone to TV. Mounted by the origin
 * and the edge alike (player pages live on both).
 *
 * - `GET /api/resume?viewer={id}&video={key}` → 200 `{positionSeconds, durationSeconds,
 *   updatedAt}`, or 404 when none is stored
 * - `PUT /api/resume?viewer={id}&video={key}` `{"positionSeconds":N,"durationSeconds":N}` → 204
 * - `DELETE /api/resume?viewer={id}&video={key}` → 204 (the viewer finished the video)
 *
 * The viewer id comes from the embedding site (`/play/vod/{path}?viewer=…`): it may name a
 * person, so it is never stored or logged as given: the store holds an HMAC of it under a key
 * every node sharing the store agrees on ({@link RESUME_KEY_SECRET}). Writes are limited per
 * client address (a token bucket), since each write is a store round trip.
 *
 * @module
 */

import { Hono } from "hono";
import { describeError, type Logger } from "../../log/mod.ts";
import {
  MAX_RESUME_VIDEO_CHARS,
  MAX_RESUME_VIEWER_CHARS,
  type SharedStore,
} from "../../store/mod.ts";
import { generateToken } from "../../access/mod.ts";
import { clientAddress, NO_STORE, readJsonBody } from "./respond.ts";

/** Name of the store secret the viewer ids are keyed with. */
export const RESUME_KEY_SECRET = "resume-viewer-key";
/** Longest viewer id accepted from a client (characters). */
export const MAX_VIEWER_ID_CHARS = MAX_RESUME_VIEWER_CHARS;
/** Longest video key accepted from a client (characters). */
export const MAX_VIDEO_KEY_CHARS = MAX_RESUME_VIDEO_CHARS;
/** Largest `PUT` body (bytes): two numbers. */
export const MAX_RESUME_BODY_BYTES = 256;
/** Longest position accepted (seconds): a week, as for VOD `?start=`. */
export const MAX_RESUME_SECONDS = 7 * 24 * 3600;
/** Writes one client address may burst. */
export const RESUME_WRITE_BURST = 20;
/** Writes per second one client address may sustain (a player writes every few seconds). */
export const RESUME_WRITES_PER_SECOND = 2;
/** Client addresses whose buckets are kept; beyond, the oldest is forgotten. */
export const MAX_RESUME_CLIENTS = 10_000;

/** What the routes need. */
export interface ResumeApiDeps {
  readonly store: SharedStore;
  readonly log: Logger;
  /** Unix ms. @default Date.now */
  readonly clock?: () => number;
}

// Printable, no spaces or controls: the ids embedding sites use (numbers, UUIDs, hashes).
const VIEWER_RE = /^[\x21-\x7e]+$/;
// deno-lint-ignore no-control-regex
const CONTROL_RE = /[\x00-\x1f\x7f]/;

/** Checks `viewer` and `video`; the problem as text, or undefined when both are fine. */
export function checkResumeQuery(
  viewer: string | undefined,
  video: string | undefined,
): string | undefined {
  if (viewer === undefined || viewer === "") {
    return "Invalid resume request: 'viewer' is required";
  }
  if (viewer.length > MAX_VIEWER_ID_CHARS || !VIEWER_RE.test(viewer)) {
    return `Invalid resume request: 'viewer' must be 1..${MAX_VIEWER_ID_CHARS} printable characters without spaces, got ${viewer.length} characters`;
  }
  if (video === undefined || video === "") {
    return "Invalid resume request: 'video' is required";
  }
  if (video.length > MAX_VIDEO_KEY_CHARS || CONTROL_RE.test(video)) {
    return `Invalid resume request: 'video' must be 1..${MAX_VIDEO_KEY_CHARS} characters without controls, got ${video.length} characters`;
  }
  return undefined;
}

/** Parses a `PUT` body; the problem as text when it is not two numbers of seconds. */
export function parseResumeBody(
  body: unknown,
): { positionSeconds: number; durationSeconds: number } | string {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return "Invalid resume position: expected a JSON object";
  }
  const b = body as Record<string, unknown>;
  const extra = Object.keys(b).find((k) =>
    k !== "positionSeconds" && k !== "durationSeconds"
  );
  if (extra !== undefined) {
    return `Invalid resume position: unknown field ${
      JSON.stringify(extra.slice(0, 32))
    }, expected positionSeconds and durationSeconds`;
  }
  const num = (k: string, v: unknown): number | string =>
    typeof v === "number" && Number.isFinite(v) && v >= 0 &&
      v <= MAX_RESUME_SECONDS
      ? v
      : `Invalid resume position: '${k}' must be seconds 0..${MAX_RESUME_SECONDS}, got ${
        JSON.stringify(v)?.slice(0, 32)
      }`;
  const position = num("positionSeconds", b.positionSeconds);
  if (typeof position === "string") return position;
  const duration = b.durationSeconds === undefined
    ? 0
    : num("durationSeconds", b.durationSeconds);
  if (typeof duration === "string") return duration;
  return { positionSeconds: position, durationSeconds: duration };
}

/** A token bucket per client address, bounded in the number of addresses. */
class WriteLimiter {
  readonly #buckets = new Map<string, { tokens: number; atMs: number }>();
  readonly #clock: () => number;

  constructor(clock: () => number) {
    this.#clock = clock;
  }

  /** True when the client may write now (and spends one write). */
  take(client: string): boolean {
    const now = this.#clock();
    let b = this.#buckets.get(client);
    if (b) this.#buckets.delete(client); // re-inserted: most recent last
    else {
      b = { tokens: RESUME_WRITE_BURST, atMs: now };
      if (this.#buckets.size >= MAX_RESUME_CLIENTS) {
        this.#buckets.delete(this.#buckets.keys().next().value!);
      }
    }
    b.tokens = Math.min(
      RESUME_WRITE_BURST,
      b.tokens + (now - b.atMs) / 1000 * RESUME_WRITES_PER_SECOND,
    );
    b.atMs = now;
    this.#buckets.set(client, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

const encoder = new TextEncoder();

/**
 * Creates the `/api/resume` routes (absolute paths: mount with `app.route("/", …)`).
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { createResumeApi } from "./resume_api.ts";
 * import { KvStore } from "../../store/mod.ts";
 * import { silentLogger } from "../../log/mod.ts";
 * const dir = await Deno.makeTempDir();
 * const store = await KvStore.open(`${dir}/m.kv`);
 * const app = new Hono().route("/", createResumeApi({ store, log: silentLogger }));
 * const url = "http://localhost/api/resume?viewer=v1&video=vod/a.mp4";
 * const put = await app.request(url, { method: "PUT", body: '{"positionSeconds":42}' });
 * const got = await (await app.request(url)).json();
 * await store.close();
 * await Deno.remove(dir, { recursive: true });
 * if (put.status !== 204 || got.positionSeconds !== 42) throw new Error(JSON.stringify(got));
 * ```
 */
export function createResumeApi(deps: ResumeApiDeps): Hono {
  const { store, log } = deps;
  const clock = deps.clock ?? Date.now;
  const limiter = new WriteLimiter(clock);
  let key: Promise<CryptoKey> | undefined;
  const hmacKey = () =>
    key ??= store.ensureSecret(RESUME_KEY_SECRET, () => generateToken(43))
      .then((secret) =>
        crypto.subtle.importKey(
          "raw",
          encoder.encode(secret),
          { name: "HMAC", hash: "SHA-256" },
          false,
          ["sign"],
        )
      ).catch((e) => {
        key = undefined; // a store outage: try again on the next request
        throw e;
      });
  /** The stored name of a viewer: HMAC-SHA-256 of the id, hex (64 characters). */
  const viewerKey = async (viewer: string) => {
    const mac = await crypto.subtle.sign(
      "HMAC",
      await hmacKey(),
      encoder.encode(viewer),
    );
    return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0"))
      .join("");
  };
  const error = (status: 400 | 404 | 429, message: string) =>
    new Response(JSON.stringify({ error: message }), {
      status,
      headers: { ...NO_STORE, "Content-Type": "application/json" },
    });

  const app = new Hono();
  app.onError((e, c) => {
    log.warn("resume request failed", { error: describeError(e) });
    return c.json(
      { error: "Resume positions unavailable: the shared store failed" },
      503,
      NO_STORE,
    );
  });
  app.on(["GET", "PUT", "DELETE"], "/api/resume", async (c) => {
    const viewer = c.req.query("viewer");
    const video = c.req.query("video");
    const problem = checkResumeQuery(viewer, video);
    if (problem) return error(400, problem);
    if (c.req.method !== "GET" && !limiter.take(clientAddress(c))) {
      return error(429, "Too many resume writes: retry in a few seconds");
    }
    const id = await viewerKey(viewer!);
    if (c.req.method === "GET") {
      const p = await store.resume.get(id, video!);
      if (!p) return error(404, "No resume position stored");
      return c.json(
        {
          positionSeconds: p.positionSeconds,
          durationSeconds: p.durationSeconds,
          updatedAt: new Date(p.updatedAtMs).toISOString(),
        },
        200,
        NO_STORE,
      );
    }
    if (c.req.method === "DELETE") {
      await store.resume.delete(id, video!);
      return c.body(null, 204, NO_STORE);
    }
    const body = await readJsonBody(c, MAX_RESUME_BODY_BYTES);
    if (!body.ok) return body.response;
    const p = parseResumeBody(body.value);
    if (typeof p === "string") return error(400, p);
    await store.resume.set(id, video!, { ...p, updatedAtMs: clock() });
    // No viewer id, no video key in the log: the count is what an operator needs.
    log.debug("resume position written");
    return c.body(null, 204, NO_STORE);
  });
  return app;
}
