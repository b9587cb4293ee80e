/**
 * Which live streams an edge serves, as its heartbeat reports them (`EdgeLoad.streams`): a key
 * per stream and its viewers, at most {@link MAX_EDGE_STREAMS} of them. Shared by the edge
 * (which reports) and the scheduler (which steers a stream's viewers to an edge already
 * pulling it), so both derive keys the same way.
 *
 * Keys are FNV-1a 64 of the lower-cased `app/stream`, as 16 hex digits, rather than names:
 * each entry has a fixed size whatever the name's length (a heartbeat stays well under a KV
 * value's 64 KiB), and stream names do not sit in the shared store in the clear for whoever
 * dumps it (not a secret against someone guessing names: the hash is unkeyed, and the
 * scheduler must derive the same key from a URL or DNS name). Lower-cased because DNS names
 * are case-insensitive (RFC 4343) and per-stream DNS names must find the same key as URLs.
 *
 * @module
 */

/** Most streams one heartbeat reports (the busiest first); the rest are left out. */
export const MAX_EDGE_STREAMS = 256;
/** Viewers above this are counted as this (a bad heartbeat cannot overflow sums). */
export const MAX_STREAM_VIEWERS = 1_000_000_000;

/** One stream an edge serves. */
export interface EdgeStreamLoad {
  /** {@link streamKey} of the stream. */
  readonly key: string;
  /** The edge's viewers of it now. */
  readonly viewers: number;
}

const KEY_RE = /^[0-9a-f]{16}$/;

/**
 * The key of a live stream: FNV-1a 64 of `app/stream` lower-cased, 16 hex digits.
 *
 * @example
 * ```ts
 * import { streamKey } from "./stream_key.ts";
 * if (streamKey("live", "Demo") !== streamKey("LIVE", "demo")) throw new Error("case");
 * if (streamKey("live", "demo") !== "c3339c2f366e3c47") throw new Error("FNV-1a 64");
 * ```
 */
export function streamKey(app: string, stream: string): string {
  // 64-bit FNV-1a in two 32-bit halves: offset basis 0xcbf29ce484222325, prime 2^40 + 0x1b3.
  // ASCII names (the usual case, and every DNS label) are hashed from their char codes, with
  // no string or byte array made per call: DNS answers for per-stream names hash per query.
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  const step = (b: number) => {
    lo = (lo ^ b) >>> 0;
    const l = lo * 0x1b3;
    const carry = Math.floor(l / 4294967296);
    hi = ((hi * 0x1b3 + carry + ((lo << 8) >>> 0)) % 4294967296) >>> 0;
    lo = l >>> 0;
  };
  const feed = (text: string): boolean => {
    for (let i = 0; i < text.length; i++) {
      let c = text.charCodeAt(i);
      if (c >= 0x80) return false;
      if (c >= 0x41 && c <= 0x5a) c += 0x20; // A-Z → a-z
      step(c);
    }
    return true;
  };
  if (!feed(app) || (step(0x2f), !feed(stream))) {
    hi = 0xcbf29ce4;
    lo = 0x84222325;
    for (
      const b of new TextEncoder().encode(`${app}/${stream}`.toLowerCase())
    ) {
      step(b);
    }
  }
  return hex8(hi) + hex8(lo);
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}

/**
 * The stream a media path names: `/{app}/{stream}.{ext}` or `/{app}/{stream}/{file}`.
 *
 * @returns Its {@link streamKey}, or `undefined` for a path naming no stream.
 * @example
 * ```ts
 * import { streamKey, streamKeyOfPath } from "./stream_key.ts";
 * const k = streamKey("live", "demo");
 * if (streamKeyOfPath("/live/demo.flv") !== k) throw new Error("flv");
 * if (streamKeyOfPath("/live/demo/index.m3u8?token=x") !== k) throw new Error("hls");
 * ```
 */
export function streamKeyOfPath(path: string): string | undefined {
  const parts = path.split("?")[0]!.split("/").filter((p) => p !== "");
  if (parts.length < 2) return undefined;
  const app = parts[0]!;
  const first = parts[1]!;
  const stream = parts.length === 2 ? first.replace(/\.[^.]*$/, "") : first;
  return stream && app ? streamKey(app, stream) : undefined;
}

/**
 * A heartbeat's stream list made safe to store and to steer by: entries with a bad key or
 * viewer count dropped, one entry per key (viewers added), the busiest
 * {@link MAX_EDGE_STREAMS} kept, busiest first (ties by key, so the order is stable).
 *
 * @example
 * ```ts
 * import { boundEdgeStreams, MAX_EDGE_STREAMS } from "./stream_key.ts";
 * const many = Array.from({ length: 5000 }, (_, i) => ({ key: i.toString(16).padStart(16, "0"), viewers: i }));
 * const kept = boundEdgeStreams([...many, { key: "nope", viewers: 1 }]);
 * if (kept.length !== MAX_EDGE_STREAMS || kept[0]!.viewers !== 4999) throw new Error("bound");
 * ```
 */
export function boundEdgeStreams(list: unknown): EdgeStreamLoad[] {
  if (!Array.isArray(list)) return [];
  const byKey = new Map<string, number>();
  // Read at most a bounded prefix: a heartbeat claiming millions costs no more than this.
  const limit = Math.min(list.length, MAX_EDGE_STREAMS * 64);
  for (let i = 0; i < limit; i++) {
    const e = list[i] as { key?: unknown; viewers?: unknown } | null;
    if (typeof e !== "object" || e === null) continue;
    const { key, viewers } = e;
    if (typeof key !== "string" || !KEY_RE.test(key)) continue;
    if (typeof viewers !== "number" || !Number.isFinite(viewers)) continue;
    const v = Math.min(MAX_STREAM_VIEWERS, Math.max(0, Math.floor(viewers)));
    byKey.set(key, Math.min(MAX_STREAM_VIEWERS, (byKey.get(key) ?? 0) + v));
  }
  return [...byKey].map(([key, viewers]) => ({ key, viewers }))
    .sort((a, b) =>
      b.viewers - a.viewers || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
    )
    .slice(0, MAX_EDGE_STREAMS);
}

/**
 * A record as backends store it: its stream list bounded by {@link boundEdgeStreams} (and
 * left out when empty), so no backend keeps more than {@link MAX_EDGE_STREAMS} per edge.
 */
export function boundedRecord<
  R extends { readonly load: { readonly streams?: unknown } },
>(record: R): R {
  const raw = record.load.streams;
  if (raw === undefined) return record;
  const streams = boundEdgeStreams(raw);
  const { streams: _, ...rest } = record.load;
  return {
    ...record,
    load: streams.length ? { ...rest, streams } : rest,
  };
}
