/**
 * Defaults for streaming objects whose origin says nothing about caching (RFC 8216 §6.2.2 asks
 * a client to reload a live playlist every target duration; a cache serving it older than that
 * makes players stall).
 *
 * @module
 */

/** What kind of object a path names. */
export type ObjectKind = "playlist" | "segment" | "vod" | "other";

const SEGMENT_EXT = /\.(ts|m4s|mp4|aac|m4a|m4v|vtt|cmfv|cmfa)$/;

/**
 * Classifies a request path by the URL scheme of INTERFACES.md.
 *
 * @example
 * ```ts
 * import { classifyPath } from "./hls_policy.ts";
 * if (classifyPath("/live/a/seg-1.ts") !== "segment") throw new Error("segment");
 * if (classifyPath("/live/seg00003.ts") !== "segment") throw new Error("segment beside its playlist");
 * if (classifyPath("/vod/movie.mp4") !== "vod") throw new Error("vod");
 * ```
 */
export function classifyPath(path: string): ObjectKind {
  if (path.startsWith("/vod/")) return "vod";
  if (path.endsWith(".m3u8")) return "playlist";
  // Media segments: below `/{app}/{stream}/` for our origins, anywhere for other origins
  // (e.g. `/live/seg00003.ts` next to its playlist). Their names are not reused, so a silent
  // origin's segment may live long; explicit Cache-Control still wins.
  if (SEGMENT_EXT.test(path)) return "segment";
  return "other";
}

/** What a playlist body says about its own caching. */
export interface PlaylistInfo {
  /** `#EXT-X-TARGETDURATION` in seconds, if present. */
  readonly targetDurationSeconds: number | undefined;
  /** `#EXT-X-ENDLIST` present: the playlist will not change (VOD or ended event). */
  readonly ended: boolean;
}

/**
 * Reads `#EXT-X-TARGETDURATION` and `#EXT-X-ENDLIST` (RFC 8216 §4.3.3.1, §4.3.3.4).
 *
 * @example
 * ```ts
 * import { parsePlaylistInfo } from "./hls_policy.ts";
 * const info = parsePlaylistInfo(new TextEncoder().encode("#EXTM3U\n#EXT-X-TARGETDURATION:4\n"));
 * if (info.targetDurationSeconds !== 4 || info.ended) throw new Error("bad");
 * ```
 */
export function parsePlaylistInfo(body: Uint8Array): PlaylistInfo {
  const text = new TextDecoder().decode(body);
  const m = /#EXT-X-TARGETDURATION:\s*(\d+(?:\.\d+)?)/.exec(text);
  const target = m ? Number(m[1]) : undefined;
  return {
    targetDurationSeconds: target !== undefined && target > 0
      ? target
      : undefined,
    ended: /#EXT-X-ENDLIST\b/.test(text),
  };
}
