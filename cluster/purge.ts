/**
 * The purge request: the body of `POST /admin/purge` on the control port and on every edge
 * (../shared/INTERFACES.md), and the `purge` event of the store's feed. One parser, one set of
 * rules, wherever it arrives.
 *
 * @module
 */

import { CodedError } from "../errors/mod.ts";

/** Most entries (urls + prefixes + streams) in one purge. */
export const MAX_PURGE_ENTRIES = 10_000;
/** Longest URL, prefix or stream name accepted (characters). */
export const MAX_PURGE_ENTRY_LENGTH = 2048;

const STREAM_RE =
  /^[A-Za-z0-9_-][A-Za-z0-9_.-]*\/[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;
const FIELDS = ["urls", "prefixes", "streams", "all"] as const;

/** A validated purge. */
export interface PurgeRequest {
  /** Paths (with their query, if any), each starting with `/`. */
  readonly urls: readonly string[];
  /** Path prefixes, each starting with `/`. */
  readonly prefixes: readonly string[];
  /** `app/stream` names: their playlists and segments. */
  readonly streams: readonly string[];
  readonly all: boolean;
}

/** A purge body that breaks a rule; `field` names the part at fault (400 to the caller). */
export class PurgeRequestError extends CodedError<"BAD_PURGE_REQUEST"> {
  override name = "PurgeRequestError";
  constructor(readonly field: string | undefined, message: string) {
    super("BAD_PURGE_REQUEST", message);
  }
}

function quote(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function stringList(v: unknown, field: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    throw new PurgeRequestError(
      field,
      `Invalid purge request '${field}': expected a list of strings`,
    );
  }
  for (const x of v as string[]) {
    if (x.length === 0 || x.length > MAX_PURGE_ENTRY_LENGTH) {
      throw new PurgeRequestError(
        field,
        `Invalid purge request '${field}': expected 1..${MAX_PURGE_ENTRY_LENGTH} characters, got ${x.length}`,
      );
    }
  }
  return v as string[];
}

/**
 * A purge URL as edges key their cache: an absolute `http(s)://` URL is reduced to its path and
 * query (the sender cannot know which host name viewers used); anything else must be a path
 * starting with `/`.
 */
function toPath(url: string): string | undefined {
  if (url.startsWith("/")) return url.startsWith("//") ? undefined : url;
  if (!/^https?:\/\//i.test(url)) return undefined;
  try {
    const u = new URL(url);
    return u.pathname + u.search;
  } catch {
    return undefined;
  }
}

/**
 * Validates a purge request body. At least one of `urls`, `prefixes`, `streams` or `all: true`
 * must be given; unknown fields are refused (a typo must not purge nothing silently).
 *
 * @throws {PurgeRequestError} Naming the bad field and value.
 * @example
 * ```ts
 * import { parsePurgeRequest } from "./purge.ts";
 * import assert from "node:assert/strict";
 * const r = parsePurgeRequest({ urls: ["http://cdn.example/live/a.m3u8"], streams: ["live/b"] });
 * assert.deepEqual(r.urls, ["/live/a.m3u8"]);
 * assert.throws(() => parsePurgeRequest({ prefixes: ["vod/"] }), /prefixes/);
 * ```
 */
export function parsePurgeRequest(body: unknown): PurgeRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new PurgeRequestError(
      undefined,
      "Invalid purge request: expected a JSON object",
    );
  }
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).find((k) =>
    !(FIELDS as readonly string[]).includes(k)
  );
  if (unknown !== undefined) {
    throw new PurgeRequestError(
      unknown,
      `Invalid purge request: unknown field ${
        quote(unknown)
      }, expected urls, prefixes, streams or all`,
    );
  }
  const urls = stringList(b.urls, "urls");
  const prefixes = stringList(b.prefixes, "prefixes");
  const streams = stringList(b.streams, "streams");
  if (b.all !== undefined && typeof b.all !== "boolean") {
    throw new PurgeRequestError(
      "all",
      `Invalid purge request 'all': got ${quote(b.all)}, expected a boolean`,
    );
  }
  const n = urls.length + prefixes.length + streams.length;
  if (n > MAX_PURGE_ENTRIES) {
    throw new PurgeRequestError(
      undefined,
      `Invalid purge request: at most ${MAX_PURGE_ENTRIES} entries, got ${n}`,
    );
  }
  const paths = urls.map((u) => {
    const p = toPath(u);
    if (p === undefined) {
      throw new PurgeRequestError(
        "urls",
        `Invalid purge request 'urls': expected a path starting with '/' or an http(s) URL, got ${
          quote(u)
        }`,
      );
    }
    return p;
  });
  for (const p of prefixes) {
    if (!p.startsWith("/")) {
      throw new PurgeRequestError(
        "prefixes",
        `Invalid purge request 'prefixes': expected a path starting with '/', got ${
          quote(p)
        }`,
      );
    }
  }
  for (const s of streams) {
    if (!STREAM_RE.test(s) || s.includes("..")) {
      throw new PurgeRequestError(
        "streams",
        `Invalid purge request 'streams': expected app/stream, got ${quote(s)}`,
      );
    }
  }
  const all = b.all === true;
  if (n === 0 && !all) {
    throw new PurgeRequestError(
      undefined,
      "Invalid purge request: nothing to purge (give urls, prefixes, streams or all: true)",
    );
  }
  return { urls: paths, prefixes, streams, all };
}
