/**
 * TLS in the config: the shape every TLS listener shares (`edge.tls`, `control.tls`,
 * `origin.tls`, `origin.rtmps`, `scheduler.tls`), the process-wide `tls` section (handshake
 * deadline, how often certificate files are checked, extra CAs for upstreams), and their
 * defaults and constraints. The role schemas build their listener's section from
 * {@link tlsListenerDefaults} and {@link tlsListenerConstraints}; `schema.ts` adds
 * {@link tlsListenerItems} to its list schemas.
 *
 * A listener is off until it has a certificate: `certFile` and `keyFile` (the default one,
 * served to clients that send no SNI name or one no other certificate covers), or at least one
 * item of `certificates` (the first is then the default). Which certificate answers which name
 * comes from the certificates themselves (their subjectAltName DNS entries), so there is no
 * name list to keep in step with the files.
 *
 * @module
 */

import { type Constraint, intIn, numIn } from "./constraints.ts";

/** One certificate chain and its private key, PEM files. */
export interface TlsCertificateConfig {
  /** The certificate chain, leaf first (PEM). */
  readonly certFile: string;
  /** The leaf's private key (PEM: PKCS#8, RSA or EC). */
  readonly keyFile: string;
}

/** One TLS listener: its port and certificates. */
export interface TlsListenerConfig extends TlsCertificateConfig {
  /** Port of the TLS listener (0 picks a free one: tests); it binds the role's `hostname`. */
  readonly port: number;
  /**
   * More certificates, chosen by the name the client asks for (SNI, RFC 6066 §3) among each
   * one's subjectAltName DNS names (`*.example.com` covers one label). @default []
   */
  readonly certificates: readonly TlsCertificateConfig[];
}

/** The process-wide `tls` section. */
export interface TlsConfig {
  /**
   * A client must finish the TLS handshake within this many ms of its TCP connection, or it is
   * closed (the request or RTMP handshake deadline then runs on within the same budget).
   */
  readonly handshakeTimeoutMs: number;
  /**
   * How often (seconds) every listener's certificate and key files are read again; changed
   * files are loaded without a restart (a bad one keeps the certificate in use). 0: never.
   */
  readonly reloadCheckSeconds: number;
  /**
   * CA certificates (PEM) trusted for `https://` and `rtmps://` upstreams besides the built-in
   * roots (a private CA of your origins). "" = the built-in roots only.
   */
  readonly caFile: string;
}

/** The `tls` section's defaults. */
export const TLS_DEFAULTS: TlsConfig = {
  // A TLS 1.3 handshake is one round trip, 1.2 two: 10 s covers a lossy mobile link with
  // retransmissions, as the HTTP head deadline (also 10 s) does for a request head.
  handshakeTimeoutMs: 10_000,
  // Two small files per certificate, read every 10 s: nothing, and a renewed certificate is
  // served within seconds of certbot (or any tool) writing it.
  reloadCheckSeconds: 10,
  caFile: "",
};

/**
 * A listener section with TLS off (no certificate) on `port`.
 *
 * @example
 * ```ts
 * import { tlsListenerDefaults } from "./tls_schema.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(tlsListenerDefaults(8443), {
 *   port: 8443, certFile: "", keyFile: "", certificates: [],
 * });
 * ```
 */
export function tlsListenerDefaults(port: number): TlsListenerConfig {
  return { port, certFile: "", keyFile: "", certificates: [] };
}

/** True when the listener has a certificate (and so runs). */
export function tlsListenerEnabled(config: TlsListenerConfig): boolean {
  return config.certFile !== "" || config.certificates.length > 0;
}

/** Longest certificate or key path (bytes: PATH_MAX on Linux). */
const MAX_PATH_LENGTH = 4096;
/** Most certificates one listener serves by SNI. */
export const MAX_TLS_CERTIFICATES = 256;

const path: Constraint = (v) =>
  typeof v === "string" && v.length > 0 && v.length <= MAX_PATH_LENGTH &&
    !v.includes("\0")
    ? undefined
    : `a file path of 1..${MAX_PATH_LENGTH} characters`;
const optionalPath: Constraint = (v) => v === "" ? undefined : path(v);

/** `certFile` and `keyFile` come together: a certificate is of no use without its key. */
const pairTogether: Constraint = (v) => {
  const c = v as TlsListenerConfig;
  return (c.certFile === "") === (c.keyFile === "")
    ? undefined
    : "both 'certFile' and 'keyFile', or neither";
};

/**
 * Constraints of one listener section at `key` (e.g. `edge.tls`).
 *
 * @example
 * ```ts
 * import { tlsListenerConstraints, tlsListenerDefaults } from "./tls_schema.ts";
 * import assert from "node:assert/strict";
 * const c = tlsListenerConstraints("edge.tls");
 * assert.equal(c["edge.tls"]!({ ...tlsListenerDefaults(1), certFile: "a.pem" }),
 *   "both 'certFile' and 'keyFile', or neither");
 * ```
 */
export function tlsListenerConstraints(
  key: string,
): Record<string, Constraint> {
  return {
    [key]: pairTogether,
    [`${key}.port`]: intIn(0, 65535),
    [`${key}.certFile`]: optionalPath,
    [`${key}.keyFile`]: optionalPath,
    [`${key}.certificates`]: (v) =>
      Array.isArray(v) && v.length <= MAX_TLS_CERTIFICATES
        ? undefined
        : `at most ${MAX_TLS_CERTIFICATES} certificates`,
    [`${key}.certificates[].certFile`]: path,
    [`${key}.certificates[].keyFile`]: path,
  };
}

/** The list schema of a listener's `certificates` (both keys required). */
export function tlsListenerItems(
  key: string,
): Record<
  string,
  { readonly template: unknown; readonly required: readonly string[] }
> {
  return {
    [`${key}.certificates[]`]: {
      template: { certFile: "", keyFile: "" },
      required: ["certFile", "keyFile"],
    },
  };
}

/** Constraints of the `tls` section. */
export const TLS_CONSTRAINTS: Readonly<Record<string, Constraint>> = {
  "tls.handshakeTimeoutMs": intIn(100, 600_000),
  "tls.reloadCheckSeconds": numIn(0, 86_400),
  "tls.caFile": optionalPath,
};
