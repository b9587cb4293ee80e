/**
 * The stream an RTSP request URI names: `rtsp://host[:port]/{app}/{stream}[/{control}][?query]`.
 * ffmpeg appends a track's control to the whole URL, query included
 * (`rtsp://h/live/cam?key=k/streamid=0`), so a `/` inside the query starts the control. Pure.
 *
 * @module
 */

/** What a request URI names. */
export interface RtspTarget {
  readonly app: string;
  readonly stream: string;
  /** The track control after the stream (`streamid=0`, `trackID=1`), "" for the stream. */
  readonly control: string;
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Reads a request URI; `undefined` when it names no `app/stream`.
 *
 * @example
 * ```ts
 * import { parseRtspTarget } from "./url.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseRtspTarget("rtsp://127.0.0.1:8554/live/cam?key=k/streamid=0"), {
 *   app: "live", stream: "cam", control: "streamid=0", params: { key: "k" },
 * });
 * assert.equal(parseRtspTarget("rtsp://h/live")?.stream, undefined);
 * ```
 */
export function parseRtspTarget(uri: string): RtspTarget | undefined {
  let rest: string;
  const m = /^rtsps?:\/\/[^/?]*(.*)$/i.exec(uri);
  if (m) rest = m[1]!;
  else if (uri.startsWith("/")) rest = uri;
  else return undefined;
  let path = rest;
  let query = "";
  const q = rest.indexOf("?");
  if (q >= 0) {
    path = rest.slice(0, q);
    query = rest.slice(q + 1);
    const slash = query.indexOf("/");
    if (slash >= 0) {
      path += query.slice(slash);
      query = query.slice(0, slash);
    }
  }
  let segments: string[];
  try {
    segments = path.split("/").filter((s) => s !== "").map(decodeURIComponent);
  } catch {
    return undefined;
  }
  if (segments.length < 2) return undefined;
  const params: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(query)) params[k] = v;
  return {
    app: segments[0]!,
    stream: segments[1]!,
    control: segments.slice(2).join("/"),
    params,
  };
}
