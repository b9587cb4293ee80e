/**
 * Carrying a session credential through an HLS playlist: players resolve segment URIs against
 * the playlist URL but do not carry its query over (RFC 3986 §5.2.2), so each URI line gets the
 * credential appended. Origin and edge both use it (an edge can cache the playlist without the
 * credential and re-apply the viewer's own).
 *
 * @module
 */

/** The query parameter that carries a session credential. */
export const CREDENTIAL_PARAM = "cred";

const CRED_RE = /([?&])cred=[^&#]*(&?)/;

/**
 * Sets `cred` on every URI line of a playlist (RFC 8216 §4.1: lines not starting with `#`),
 * replacing a credential already there. Tag attributes (`URI="…"` in EXT-X-MAP or EXT-X-KEY)
 * are left alone: the live packager writes none.
 *
 * @param playlist m3u8 text.
 * @param credential A session credential (base64url and `.`: needs no escaping).
 * @example
 * ```ts
 * import { withSessionCredential } from "./playlist.ts";
 * import assert from "node:assert/strict";
 * const text = "#EXTM3U\n#EXTINF:2,\ns/a.ts\n#EXTINF:2,\ns/b.ts?cred=old&x=1\n";
 * assert.equal(
 *   withSessionCredential(text, "new"),
 *   "#EXTM3U\n#EXTINF:2,\ns/a.ts?cred=new\n#EXTINF:2,\ns/b.ts?x=1&cred=new\n",
 * );
 * ```
 */
export function withSessionCredential(
  playlist: string,
  credential: string,
): string {
  const lines = playlist.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (line === "" || line.startsWith("#")) continue;
    const cr = line.endsWith("\r");
    if (cr) line = line.slice(0, -1);
    line = line.replace(
      CRED_RE,
      (_m, sep: string, amp: string) => amp ? sep : "",
    );
    const sep = line.includes("?") ? "&" : "?";
    lines[i] = `${line}${sep}${CREDENTIAL_PARAM}=${credential}${
      cr ? "\r" : ""
    }`;
  }
  return lines.join("\n");
}
