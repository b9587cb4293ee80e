/**
 * Loading a listener's certificates: each PEM chain and key read, checked the way the TLS
 * stack itself will load them (rustls, through `Deno.createHttpClient`, which parses both and
 * refuses a key that is not the certificate's), and described (DNS names, expiry) through
 * `node:crypto`'s X509 parser. A set is immutable: a reload builds a new one.
 *
 * @module
 */

import { X509Certificate } from "node:crypto";
import type {
  TlsCertificateConfig,
  TlsListenerConfig,
} from "../../config/mod.ts";
import { TlsError, TlsErrorCode } from "./errors.ts";
import { buildSniTable, selectCertificate, type SniTable } from "./sni.ts";

/** Largest certificate chain or key file read (bytes): a chain of a few certificates is ~6 KiB. */
export const MAX_PEM_BYTES = 1024 * 1024;

/** One certificate as loaded: its PEM text and what it says about itself. */
export interface LoadedCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  /** The chain, PEM (as read). */
  readonly cert: string;
  /** The private key, PEM (as read). Never logged. */
  readonly key: string;
  /** DNS names it serves: its subjectAltName DNS entries, else its subject CN. */
  readonly names: readonly string[];
  /** End of validity (ms since the epoch). */
  readonly notAfterMs: number;
  /** SHA-256 fingerprint of the leaf, for logs. */
  readonly fingerprint: string;
}

/** A listener's certificates: the default first, then by SNI. */
export interface CertificateSet {
  readonly certificates: readonly LoadedCertificate[];
  /** The certificate for a client's server name (the default when none names it). */
  select(serverName: string): LoadedCertificate;
}

/**
 * The files of a listener, the default certificate first: `certFile`/`keyFile` when set, then
 * each of `certificates`.
 *
 * @example
 * ```ts
 * import { certificateFiles } from "./certificates.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(
 *   certificateFiles({ port: 0, certFile: "a.crt", keyFile: "a.key",
 *     certificates: [{ certFile: "b.crt", keyFile: "b.key" }] }).map((c) => c.certFile),
 *   ["a.crt", "b.crt"],
 * );
 * ```
 */
export function certificateFiles(
  config: TlsListenerConfig,
): TlsCertificateConfig[] {
  const files = config.certFile === ""
    ? []
    : [{ certFile: config.certFile, keyFile: config.keyFile }];
  return [...files, ...config.certificates];
}

/** Reads a PEM file whole, refusing what cannot be one (a directory, a huge file). */
export async function readPem(path: string): Promise<string> {
  let text: string;
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) throw new Error("not a regular file");
    if (info.size > MAX_PEM_BYTES) {
      throw new Error(`${info.size} bytes, more than ${MAX_PEM_BYTES}`);
    }
    text = await Deno.readTextFile(path);
  } catch (cause) {
    throw new TlsError(
      TlsErrorCode.Read,
      `Cannot read TLS file ${path}: ${
        cause instanceof Error ? cause.message : cause
      }`,
      { cause },
    );
  }
  return text;
}

/** The DNS names of a subjectAltName text (`DNS:a.example, IP Address:192.0.2.1`). */
function dnsNames(x509: X509Certificate): string[] {
  const names = (x509.subjectAltName ?? "").split(/,\s*/)
    .filter((n) => n.startsWith("DNS:"))
    .map((n) => n.slice(4).trim())
    .filter((n) => n.length > 0);
  if (names.length > 0) return names;
  // RFC 6125 §6.4.4: the CN only when there is no DNS subjectAltName at all.
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(x509.subject)?.[1]?.trim();
  return cn ? [cn] : [];
}

/**
 * Checks a chain and key as the TLS stack will load them, and describes the leaf.
 *
 * @throws {TlsError} `TLS_INVALID` when either holds no usable PEM, `TLS_KEY_MISMATCH` when the
 *   key is not the certificate's.
 */
export function describeCertificate(
  files: TlsCertificateConfig,
  cert: string,
  key: string,
): LoadedCertificate {
  try {
    // Deno's client certificate loader is its server's (rustls): what it refuses, a listener
    // would refuse at its first handshake.
    Deno.createHttpClient({ cert, key }).close();
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    const mismatch = /KeyMismatch|not be consistent/i.test(message);
    throw new TlsError(
      mismatch ? TlsErrorCode.KeyMismatch : TlsErrorCode.Invalid,
      mismatch
        ? `Cannot use TLS key ${files.keyFile}: it is not the key of ${files.certFile}`
        : `Cannot use TLS certificate ${files.certFile} with key ${files.keyFile}: ${message}`,
      { cause },
    );
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (cause) {
    throw new TlsError(
      TlsErrorCode.Invalid,
      `Cannot parse TLS certificate ${files.certFile}: ${
        cause instanceof Error ? cause.message : cause
      }`,
      { cause },
    );
  }
  return {
    certFile: files.certFile,
    keyFile: files.keyFile,
    cert,
    key,
    names: dnsNames(x509),
    notAfterMs: Date.parse(x509.validTo),
    fingerprint: x509.fingerprint256,
  };
}

/** A set over already-checked certificates (the first is the default). */
export function certificateSet(
  certificates: readonly LoadedCertificate[],
): CertificateSet {
  if (certificates.length === 0) {
    throw new RangeError("A certificate set needs at least one certificate");
  }
  const table: SniTable = buildSniTable(certificates.map((c) => c.names));
  const fallback = certificates[0]!;
  return {
    certificates,
    select(serverName) {
      const i = selectCertificate(table, serverName);
      return i === undefined ? fallback : certificates[i]!;
    },
  };
}

/**
 * Reads and checks every certificate of `files` (the default first).
 *
 * @throws {TlsError} For the first file that cannot be read or used; the message names it.
 *
 * @example
 * ```ts ignore
 * const set = await loadCertificateSet([{ certFile: "edge.crt", keyFile: "edge.key" }]);
 * set.select("live.example.com").names;
 * ```
 */
export async function loadCertificateSet(
  files: readonly TlsCertificateConfig[],
): Promise<CertificateSet> {
  const loaded: LoadedCertificate[] = [];
  for (const f of files) {
    const [cert, key] = await Promise.all([
      readPem(f.certFile),
      readPem(f.keyFile),
    ]);
    loaded.push(describeCertificate(f, cert, key));
  }
  return certificateSet(loaded);
}

/**
 * The CA certificates of `tls.caFile` for upstream connections (`Deno.createHttpClient`'s and
 * `Deno.connectTls`'s `caCerts`), or none for `""`.
 *
 * @throws {TlsError} `TLS_READ` or `TLS_INVALID` naming the file.
 */
export async function readCaCertificates(path: string): Promise<string[]> {
  if (path === "") return [];
  const pem = await readPem(path);
  try {
    new X509Certificate(pem);
  } catch (cause) {
    throw new TlsError(
      TlsErrorCode.Invalid,
      `Cannot use ${path} as CA certificates: no PEM certificate in it`,
      { cause },
    );
  }
  return [pem];
}
