/**
 * TLS listeners in `/metrics`: handshakes by result, certificate reloads by result, listener
 * rebinds by reason, and each certificate's expiry, labelled `listener`. Several listeners of
 * one process share one registry (and so one family per name): they are gathered per registry,
 * as `conn_guard.ts` gathers its guards.
 *
 * @module
 */

import type { TlsCertificates } from "./reload.ts";

/** A metrics registry's side of {@link registerTlsMetrics}. */
interface MetricsSink {
  collect(
    name: string,
    help: string,
    type: "counter" | "gauge",
    fn: () => Iterable<[Record<string, string> | undefined, number]>,
  ): void;
}

const byRegistry = new WeakMap<MetricsSink, Map<string, TlsCertificates>>();

/**
 * Exposes a TLS listener's counts and certificates as `meridian_tls_handshakes_total{result}`,
 * `meridian_tls_reloads_total{result}`, `meridian_tls_rebinds_total{reason}` and
 * `meridian_tls_certificate_expiry_timestamp_seconds{certificate}`, each labelled `listener`.
 */
export function registerTlsMetrics(
  metrics: MetricsSink,
  listener: string,
  certs: TlsCertificates,
): void {
  let all = byRegistry.get(metrics);
  if (!all) {
    const each = all = new Map();
    byRegistry.set(metrics, each);
    metrics.collect(
      "meridian_tls_handshakes_total",
      "TLS handshakes by listener and result (ok; error: failed or the client left; timeout: not done within tls.handshakeTimeoutMs, closed)",
      "counter",
      function* () {
        for (const [name, c] of each) {
          const s = c.stats;
          yield [{ listener: name, result: "ok" }, s.handshakes];
          yield [{ listener: name, result: "error" }, s.handshakeErrors];
          yield [{ listener: name, result: "timeout" }, s.handshakeTimeouts];
        }
      },
    );
    metrics.collect(
      "meridian_tls_reloads_total",
      "Certificate files changed on disk, by listener and result (error: unusable, the certificates in use kept serving)",
      "counter",
      function* () {
        for (const [name, c] of each) {
          yield [{ listener: name, result: "ok" }, c.stats.reloads];
          yield [{ listener: name, result: "error" }, c.stats.reloadErrors];
        }
      },
    );
    metrics.collect(
      "meridian_tls_rebinds_total",
      "TLS listener generations opened on the same port, by listener and reason (reload: new certificates; sni_names: the resolver's name cache was full)",
      "counter",
      function* () {
        for (const [name, c] of each) {
          yield [{ listener: name, reason: "reload" }, c.stats.rebinds.reload];
          yield [
            { listener: name, reason: "sni_names" },
            c.stats.rebinds.sniNames,
          ];
        }
      },
    );
    metrics.collect(
      "meridian_tls_certificate_expiry_timestamp_seconds",
      "When each certificate in use stops being valid (unix seconds), by listener and certificate (its first DNS name, else its file)",
      "gauge",
      function* () {
        for (const [name, c] of each) {
          for (const cert of c.current.certificates) {
            yield [
              { listener: name, certificate: cert.names[0] ?? cert.certFile },
              Math.floor(cert.notAfterMs / 1000),
            ];
          }
        }
      },
    );
  }
  all.set(listener, certs);
}
