/**
 * Hop-by-hop fields (RFC 9110 §7.6.1): they describe one connection, so a proxy removes them,
 * and every field a message's `Connection` header names, before it stores or forwards the
 * message.
 *
 * @module
 */

/** Hop-by-hop fields by definition (RFC 9110 §7.6.1, §7.8; RFC 9112 §6.1), lower case. */
export const HOP_BY_HOP_FIELDS: readonly string[] = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
];

/**
 * The field names a message's `Connection` header lists (connection-options, RFC 9110 §7.6.1),
 * lower case; `close` and `keep-alive` are among them like any other.
 *
 * @example
 * ```ts
 * import { connectionOptions } from "./hop_by_hop.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(connectionOptions(new Headers({ connection: "A, b ,close" })), ["a", "b", "close"]);
 * ```
 */
export function connectionOptions(headers: Headers): string[] {
  const v = headers.get("connection");
  if (v === null) return [];
  return v.split(",").map((o) => o.trim().toLowerCase()).filter(Boolean);
}

/**
 * Removes the hop-by-hop fields and those `Connection` names, in place.
 *
 * @example
 * ```ts
 * import { deleteHopByHop } from "./hop_by_hop.ts";
 * import assert from "node:assert/strict";
 * const h = new Headers({ connection: "x-a", "x-a": "1", "keep-alive": "5", etag: '"1"' });
 * deleteHopByHop(h);
 * assert.deepEqual([...h], [["etag", '"1"']]);
 * ```
 */
export function deleteHopByHop(headers: Headers): void {
  // Read Connection before deleting it: its options are removed with it.
  for (const o of connectionOptions(headers)) headers.delete(o);
  for (const f of HOP_BY_HOP_FIELDS) headers.delete(f);
}
