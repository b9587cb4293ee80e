/**
 * Which certificate answers which server name (SNI, RFC 6066 §3): a table built once per
 * certificate set from each certificate's DNS names, looked up per handshake. Pure: no I/O.
 *
 * Matching follows RFC 6125 §6.4: names compare case-insensitively, without a trailing dot; an
 * exact name wins over a wildcard; a wildcard (`*.example.com`) covers exactly one leftmost
 * label (`a.example.com`, not `example.com` nor `b.a.example.com`). A name nothing covers,
 * and a client that sends none (connections to an IP address), get the default certificate.
 *
 * @module
 */

/** A lookup table from names to the index of the certificate serving them. */
export interface SniTable {
  readonly exact: ReadonlyMap<string, number>;
  /** By the parent domain of the wildcard (`example.com` for `*.example.com`). */
  readonly wildcard: ReadonlyMap<string, number>;
}

/** Longest DNS name (RFC 1035 §2.3.4: 253 characters in text form). */
export const MAX_SERVER_NAME_LENGTH = 253;

/** A DNS name as compared: lower case, no trailing dot. */
export function normalizeServerName(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith(".") ? n.slice(0, -1) : n;
}

/**
 * Builds the table from each certificate's names, in order: when two certificates name the
 * same host, the first one listed serves it.
 *
 * @example
 * ```ts
 * import { buildSniTable, selectCertificate } from "./sni.ts";
 * import assert from "node:assert/strict";
 * const t = buildSniTable([["a.example"], ["*.b.example", "b.example"]]);
 * assert.equal(selectCertificate(t, "A.Example."), 0);
 * assert.equal(selectCertificate(t, "x.b.example"), 1);
 * assert.equal(selectCertificate(t, "y.x.b.example"), undefined);
 * ```
 */
export function buildSniTable(
  namesByCertificate: readonly (readonly string[])[],
): SniTable {
  const exact = new Map<string, number>();
  const wildcard = new Map<string, number>();
  namesByCertificate.forEach((names, i) => {
    for (const raw of names) {
      const name = normalizeServerName(raw);
      if (name.startsWith("*.")) {
        const parent = name.slice(2);
        if (parent.length > 0 && !wildcard.has(parent)) {
          wildcard.set(parent, i);
        }
      } else if (name.length > 0 && !exact.has(name)) exact.set(name, i);
    }
  });
  return { exact, wildcard };
}

/**
 * The certificate for `serverName`, or `undefined` when none names it (the caller serves its
 * default). An empty name (no SNI) and names longer than a DNS name are never looked up.
 */
export function selectCertificate(
  table: SniTable,
  serverName: string,
): number | undefined {
  if (serverName === "" || serverName.length > MAX_SERVER_NAME_LENGTH + 1) {
    return undefined;
  }
  const name = normalizeServerName(serverName);
  const exact = table.exact.get(name);
  if (exact !== undefined) return exact;
  const dot = name.indexOf(".");
  // "*.example.com" never covers "example.com" itself, nor a name whose first label is empty.
  if (dot <= 0) return undefined;
  return table.wildcard.get(name.slice(dot + 1));
}
