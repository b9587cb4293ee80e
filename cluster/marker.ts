/**
 * The access marker: the `X-Meridian-Access` response header the origin puts on media of
 * protected streams, so edges (and shield edges) keep the mark with what they cache and check
 * viewers themselves. Written by the origin, read by the edge: defined once, here.
 *
 * @module
 */

/** Response header naming how a stream's media is protected (lower case, as `Headers` gives). */
export const ACCESS_MARKER_HEADER = "x-meridian-access";

/**
 * How a stream is protected.
 *
 * - `token`: a new playback session spends a token use; HLS requests of a session carry its
 *   credential (`?cred=`).
 * - `session`: HLS requests need a session credential, which only the origin opens (an
 *   `on_play` hook approves each session).
 */
export const AccessMark = {
  Token: "token",
  Session: "session",
  /**
   * A protected library file's bytes (VOD): a `?token=` request opens a session at the origin
   * (302 to a credential URL); a credential covers every URL of the file.
   */
  File: "file",
} as const;

/** One of {@link AccessMark}. */
export type AccessMark = typeof AccessMark[keyof typeof AccessMark];

/**
 * Reads the marker of a response. Fails closed: any value this node does not know (a newer
 * origin's) counts as `token`, the strictest.
 *
 * @param headers Response headers from the origin (or a shield edge).
 * @returns The mark, or `undefined` when the stream is open.
 * @example
 * ```ts
 * import { parseAccessMark } from "./marker.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseAccessMark(new Headers()), undefined);
 * assert.equal(parseAccessMark(new Headers({ "x-meridian-access": "session" })), "session");
 * assert.equal(parseAccessMark(new Headers({ "x-meridian-access": "geo" })), "token");
 * ```
 */
export function parseAccessMark(
  headers: Pick<Headers, "get">,
): AccessMark | undefined {
  const v = headers.get(ACCESS_MARKER_HEADER)?.trim().toLowerCase();
  if (v === undefined || v === "") return undefined;
  return v === AccessMark.Session || v === AccessMark.File
    ? v
    : AccessMark.Token;
}
