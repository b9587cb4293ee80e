/**
 * TLS for every listener and upstream connection: certificates loaded and checked
 * (`certificates.ts`), chosen by SNI (`sni.ts`), reloaded when their files change
 * (`reload.ts`), served by a listener that rebinds on a change and bounds the handshake
 * (`listener.ts`), with what Deno's TLS sockets lack reached through /proc and libc
 * (`proc_sockets.ts`: `TCP_NODELAY`, closing a socket during its handshake), in `/metrics` (`metrics.ts`); and
 * connecting to `rtmps://`/`https://` upstreams (`dial.ts`).
 *
 * The HTTP/1.1 server (`../http1/`) takes a {@link TlsServing} as its `tls` option; the RTMP
 * listener the same. {@link openTlsServing} turns a listener's config section into one, or
 * `undefined` when the section has no certificate.
 *
 * @module
 */

import {
  type TlsConfig,
  type TlsListenerConfig,
  tlsListenerEnabled,
} from "../../config/mod.ts";
import type { Logger } from "../../log/mod.ts";
import { registerTlsMetrics } from "./metrics.ts";
import { TlsCertificates } from "./reload.ts";

export {
  certificateFiles,
  type CertificateSet,
  loadCertificateSet,
  type LoadedCertificate,
  MAX_PEM_BYTES,
  readCaCertificates,
} from "./certificates.ts";
export { DEFAULT_PORTS, type DialOptions, dialUrl, isTlsUrl } from "./dial.ts";
export { TlsError, TlsErrorCode, type TlsErrorCodeValue } from "./errors.ts";
export {
  type AcceptSource,
  listenTls,
  MAX_RESOLVED_NAMES,
  MIN_REBIND_INTERVAL_MS,
  ORPHAN_SWEEP_MS,
  ReloadingTlsListener,
  type TlsListenOptions,
} from "./listener.ts";
export { registerTlsMetrics } from "./metrics.ts";
export {
  connectionNoDelay,
  procSocketsAvailable,
  setListenerNoDelay,
  shutdownSockets,
  type SocketTarget,
} from "./proc_sockets.ts";
export {
  TlsCertificates,
  type TlsCertificatesOptions,
  type TlsStats,
} from "./reload.ts";
export { buildSniTable, selectCertificate, type SniTable } from "./sni.ts";

/** What a server needs to serve TLS: the certificates and the handshake deadline. */
export interface TlsServing {
  readonly certificates: TlsCertificates;
  readonly handshakeTimeoutMs: number;
}

/** What {@link openTlsServing} needs from the process. */
export interface TlsServingDeps {
  readonly log: Logger;
  /** Where the listener's counts are shown (as `listener`). */
  readonly metrics?: Parameters<typeof registerTlsMetrics>[0];
}

/**
 * Loads a listener's certificates and starts watching them, or returns `undefined` when the
 * section has none (TLS off). Close it with `serving.certificates.close()`.
 *
 * @param listener The `listener` label in `/metrics` and logs (`edge_https`).
 * @throws {TlsError} When a certificate or key cannot be read or used.
 */
export async function openTlsServing(
  config: TlsListenerConfig,
  tls: TlsConfig,
  listener: string,
  deps: TlsServingDeps,
): Promise<TlsServing | undefined> {
  if (!tlsListenerEnabled(config)) return undefined;
  const certificates = await TlsCertificates.open(config, {
    reloadCheckMs: Math.round(tls.reloadCheckSeconds * 1000),
  }, deps.log.child(listener));
  if (deps.metrics) registerTlsMetrics(deps.metrics, listener, certificates);
  return { certificates, handshakeTimeoutMs: tls.handshakeTimeoutMs };
}
