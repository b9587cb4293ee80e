/**
 * Playlists of protected streams in a shared cache: the origin sends each session its own
 * credential in every segment URI, so the edge keeps one copy without any credential and
 * re-applies each viewer's (`withSessionCredential` from `access/`) after checking it.
 *
 * @module
 */

import { CREDENTIAL_PARAM } from "../../access/mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Removes the session credential from every URI line of a playlist (RFC 8216 §4.1: lines not
 * starting with `#`), keeping the line's other parameters. Nobody's credential is then kept at
 * rest in the cache.
 *
 * @param playlist m3u8 bytes as received from the origin.
 * @returns The playlist without credentials (the same bytes when it had none).
 * @example
 * ```ts
 * import { withoutSessionCredential } from "./playlist.ts";
 * import assert from "node:assert/strict";
 * const text = "#EXTM3U\n#EXTINF:2,\ns/a.ts?cred=A.b\n#EXTINF:2,\ns/b.ts?x=1&cred=A.b&y=2\n";
 * assert.equal(
 *   new TextDecoder().decode(withoutSessionCredential(new TextEncoder().encode(text))),
 *   "#EXTM3U\n#EXTINF:2,\ns/a.ts\n#EXTINF:2,\ns/b.ts?x=1&y=2\n",
 * );
 * ```
 */
export function withoutSessionCredential(playlist: Uint8Array): Uint8Array {
  const text = decoder.decode(playlist);
  if (!text.includes(`${CREDENTIAL_PARAM}=`)) return playlist;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "" || line.startsWith("#")) continue;
    const q = line.indexOf("?");
    if (q < 0) continue;
    const cr = line.endsWith("\r");
    const query = line.slice(q + 1, cr ? -1 : undefined);
    const kept = query.split("&").filter((p) =>
      p !== "" && p.split("=", 1)[0] !== CREDENTIAL_PARAM
    );
    lines[i] = line.slice(0, q) + (kept.length ? `?${kept.join("&")}` : "") +
      (cr ? "\r" : "");
  }
  return encoder.encode(lines.join("\n"));
}
