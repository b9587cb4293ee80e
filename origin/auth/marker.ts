/**
 * The access marker: a response header by which the origin tells edges (and shield edges tell
 * the edges below them) that a stream's media is protected, so policy stays in one place (the
 * origin's config) while every cache enforces it.
 *
 * The edge keeps the marker with each cached object and with each shared live HTTP-FLV
 * upstream, and serves such objects only to requests that carry a valid session credential
 * (segments, playlist reloads) or spend a token use (a new viewer of a shared upstream). The
 * edge has its own copy of these names (`edge/access/marker.ts`): roles do not import each
 * other's internals; a test checks that the two agree.
 *
 * @module
 */

/** Response header naming how a stream's media is protected. Absent: open to anyone. */
export const ACCESS_MARKER_HEADER = "X-Meridian-Access";

/**
 * Values of {@link ACCESS_MARKER_HEADER}.
 *
 * - `token`: playing needs a token (`?token=`, one use per playback session); HLS requests of a
 *   session carry its credential (`?cred=`).
 * - `session`: HLS needs a session credential, opened by the origin alone (an `on_play` hook
 *   approves each session); the token itself is not required.
 */
export const AccessMark = {
  Token: "token",
  Session: "session",
} as const;

/** One of {@link AccessMark}. */
export type AccessMark = typeof AccessMark[keyof typeof AccessMark];
