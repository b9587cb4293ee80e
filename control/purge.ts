/**
 * `POST /admin/purge` on the control port: the body edges take (shared/INTERFACES.md), validated
 * here and published on the store's feed as a `purge` event, which every edge sharing the store
 * applies (edge/registry/store_purge_bus.ts).
 *
 * @module
 */

/** Most entries (urls + prefixes + streams) in one purge; the same bound as the edges'. */
export const MAX_PURGE_ENTRIES = 10_000;
/** Longest URL, prefix or stream name accepted (characters). */
export const MAX_PURGE_ENTRY_LENGTH = 2048;

const STREAM_RE =
  /^[A-Za-z0-9_-][A-Za-z0-9_.-]*\/[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;
const FIELDS = ["urls", "prefixes", "streams", "all"] as const;

/** A validated purge, shaped like the `purge` feed event. */
export interface PurgeBody {
  /** Paths (with their query, if any), each starting with `/`. */
  readonly urls: readonly string[];
  /** Path prefixes, each starting with `/`. */
  readonly prefixes: readonly string[];
  /** `app/stream` names. */
  readonly streams: readonly string[];
  readonly all: boolean;
}

function quote(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function stringList(v: unknown, field: string): string[] | string {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    return `Invalid purge request '${field}': expected a list of strings`;
  }
  for (const x of v as string[]) {
    if (x.length === 0 || x.length > MAX_PURGE_ENTRY_LENGTH) {
      return `Invalid purge request '${field}': expected 1..${MAX_PURGE_ENTRY_LENGTH} characters, got ${x.length}`;
    }
  }
  return v as string[];
}

/**
 * A purge URL as edges key their cache: an absolute `http(s)://` URL is reduced to its path and
 * query (the control role cannot know which host name viewers used); anything else must be a
 * path starting with `/`.
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
 * must be given.
 *
 * @returns The purge, or the message of a 400 answer naming the bad field and value.
 * @example
 * ```ts
 * import { parsePurgeBody } from "./purge.ts";
 * const r = parsePurgeBody({ urls: ["http://cdn.example/live/a.m3u8"], streams: ["live/b"] });
 * if (typeof r === "string" || r.urls[0] !== "/live/a.m3u8") throw new Error(String(r));
 * if (typeof parsePurgeBody({ prefixes: ["vod/"] }) !== "string") throw new Error("accepted");
 * ```
 */
export function parsePurgeBody(body: unknown): PurgeBody | string {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return "Invalid purge request: expected a JSON object";
  }
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).find((k) =>
    !(FIELDS as readonly string[]).includes(k)
  );
  if (unknown !== undefined) {
    return `Invalid purge request: unknown field ${
      quote(unknown)
    }, expected urls, prefixes, streams or all`;
  }
  const urls = stringList(b.urls, "urls");
  if (typeof urls === "string") return urls;
  const prefixes = stringList(b.prefixes, "prefixes");
  if (typeof prefixes === "string") return prefixes;
  const streams = stringList(b.streams, "streams");
  if (typeof streams === "string") return streams;
  if (b.all !== undefined && typeof b.all !== "boolean") {
    return `Invalid purge request 'all': got ${
      quote(b.all)
    }, expected a boolean`;
  }
  const n = urls.length + prefixes.length + streams.length;
  if (n > MAX_PURGE_ENTRIES) {
    return `Invalid purge request: at most ${MAX_PURGE_ENTRIES} entries, got ${n}`;
  }
  const paths: string[] = [];
  for (const u of urls) {
    const p = toPath(u);
    if (p === undefined) {
      return `Invalid purge request 'urls': expected a path starting with '/' or an http(s) URL, got ${
        quote(u)
      }`;
    }
    paths.push(p);
  }
  for (const p of prefixes) {
    if (!p.startsWith("/")) {
      return `Invalid purge request 'prefixes': expected a path starting with '/', got ${
        quote(p)
      }`;
    }
  }
  for (const s of streams) {
    if (!STREAM_RE.test(s) || s.includes("..")) {
      return `Invalid purge request 'streams': expected app/stream, got ${
        quote(s)
      }`;
    }
  }
  const all = b.all === true;
  if (n === 0 && !all) {
    return "Invalid purge request: nothing to purge (give urls, prefixes, streams or all: true)";
  }
  return { urls: paths, prefixes, streams, all };
}
