/**
 * Purge requests and the bus that spreads them to every edge.
 *
 * `POST /admin/purge` on one edge applies the purge locally and publishes it on a
 * {@link PurgeBus}; every edge subscribed to the bus applies it too. {@link InProcessPurgeBus}
 * connects edges within one process; a store-backed bus (Deno KV `watch`, shared by the
 * control role) implements the same interface for cross-host propagation.
 *
 * @module
 */

import { EdgeError, EdgeErrorCode } from "../errors.ts";

/** One purge, as posted to `/admin/purge` (INTERFACES.md). */
export interface PurgeRequest {
  /** Full URLs or paths; the query is normalised like a cache key. */
  readonly urls: readonly string[];
  /** Path prefixes, e.g. `/vod/movies/`. */
  readonly prefixes: readonly string[];
  /** `app/stream` names: their playlists and segments. */
  readonly streams: readonly string[];
  readonly all: boolean;
}

/** A purge message on the bus: the request plus who sent it. */
export interface PurgeMessage {
  readonly request: PurgeRequest;
  /** Id of the edge that received the admin call (it already applied it). */
  readonly sourceId: string;
}

/** Spreads purges between edges. */
export interface PurgeBus {
  /** Sends a purge to every subscriber (including, on other edges, remote ones). */
  publish(message: PurgeMessage): Promise<void>;
  /** Receives purges; returns the unsubscriber. */
  subscribe(
    handler: (message: PurgeMessage) => void | Promise<void>,
  ): () => void;
}

/**
 * A bus within one process: every subscriber gets every message.
 *
 * @example
 * ```ts
 * import { InProcessPurgeBus } from "./purge.ts";
 * const bus = new InProcessPurgeBus();
 * const seen: string[] = [];
 * bus.subscribe((m) => { seen.push(m.sourceId); });
 * await bus.publish({ sourceId: "e1", request: { urls: [], prefixes: [], streams: [], all: true } });
 * if (seen[0] !== "e1") throw new Error("not delivered");
 * ```
 */
export class InProcessPurgeBus implements PurgeBus {
  readonly #handlers = new Set<(m: PurgeMessage) => void | Promise<void>>();

  async publish(message: PurgeMessage): Promise<void> {
    await Promise.all([...this.#handlers].map((h) => h(message)));
  }

  subscribe(
    handler: (message: PurgeMessage) => void | Promise<void>,
  ): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }
}

/** Largest number of entries in one purge request. */
export const MAX_PURGE_ENTRIES = 10_000;

const STREAM_RE =
  /^[A-Za-z0-9_-][A-Za-z0-9_.-]*\/[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

function stringList(v: unknown, field: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    throw new EdgeError(
      EdgeErrorCode.BadAdminRequest,
      `Invalid purge request '${field}': expected a list of strings`,
    );
  }
  return v as string[];
}

/**
 * Validates a purge request body.
 *
 * @throws {EdgeError} `EDGE_BAD_ADMIN_REQUEST` naming the bad field.
 *
 * @example
 * ```ts
 * import { parsePurgeRequest } from "./purge.ts";
 * const r = parsePurgeRequest({ streams: ["live/demo"] });
 * if (r.all || r.streams[0] !== "live/demo") throw new Error("bad parse");
 * ```
 */
export function parsePurgeRequest(body: unknown): PurgeRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new EdgeError(
      EdgeErrorCode.BadAdminRequest,
      "Invalid purge request: expected a JSON object",
    );
  }
  const b = body as Record<string, unknown>;
  const urls = stringList(b.urls, "urls");
  const prefixes = stringList(b.prefixes, "prefixes");
  const streams = stringList(b.streams, "streams");
  if (b.all !== undefined && typeof b.all !== "boolean") {
    throw new EdgeError(
      EdgeErrorCode.BadAdminRequest,
      `Invalid purge request 'all': got ${
        JSON.stringify(b.all)
      }, expected a boolean`,
    );
  }
  const n = urls.length + prefixes.length + streams.length;
  if (n > MAX_PURGE_ENTRIES) {
    throw new EdgeError(
      EdgeErrorCode.BadAdminRequest,
      `Invalid purge request: at most ${MAX_PURGE_ENTRIES} entries, got ${n}`,
    );
  }
  for (const p of prefixes) {
    if (!p.startsWith("/")) {
      throw new EdgeError(
        EdgeErrorCode.BadAdminRequest,
        `Invalid purge request 'prefixes': expected paths starting with '/', got ${
          JSON.stringify(p)
        }`,
      );
    }
  }
  for (const s of streams) {
    if (!STREAM_RE.test(s) || s.includes("..")) {
      throw new EdgeError(
        EdgeErrorCode.BadAdminRequest,
        `Invalid purge request 'streams': expected app/stream, got ${
          JSON.stringify(s)
        }`,
      );
    }
  }
  return { urls, prefixes, streams, all: b.all === true };
}

/** What a purge acts on (the edge cache and the live fan-out). */
export interface Purgeable {
  purgeUrl(url: URL): Promise<number>;
  purgePrefix(prefix: string): Promise<number>;
  purgeAll(): Promise<number>;
}

/**
 * Applies a purge to one edge's cache.
 * @returns How many objects were removed.
 */
export async function applyPurge(
  target: Purgeable,
  request: PurgeRequest,
): Promise<number> {
  if (request.all) return await target.purgeAll();
  let n = 0;
  for (const u of request.urls) {
    let url: URL;
    try {
      url = new URL(u, "http://edge.invalid");
    } catch {
      continue;
    }
    n += await target.purgeUrl(url);
  }
  for (const p of request.prefixes) n += await target.purgePrefix(p);
  for (const s of request.streams) {
    // A stream's objects: /{app}/{stream}.m3u8 (and its query variants) and /{app}/{stream}/…
    n += await target.purgePrefix(`/${s}.`);
    n += await target.purgePrefix(`/${s}/`);
  }
  return n;
}
