/**
 * Connecting to an upstream by URL: `rtmp://` and `http://` over TCP, `rtmps://` and
 * `https://` over TLS (certificate checked against the built-in roots plus `tls.caFile`, the
 * host name sent as SNI), the whole of it (TCP connect and TLS handshake) bounded by one
 * deadline. What a relay pull or push wraps its RTMP client session in.
 *
 * @module
 */

import { TlsError, TlsErrorCode } from "./errors.ts";

/** Default ports by scheme (RTMPS: 443, as platforms' ingest URLs assume). */
export const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  "rtmp:": 1935,
  "rtmps:": 443,
  "http:": 80,
  "https:": 443,
};

/** Options of {@link dialUrl}. */
export interface DialOptions {
  /** Extra trusted CA certificates (PEM), besides the built-in roots. @default [] */
  readonly caCerts?: readonly string[];
  /** Connect and handshake must be done within this many ms. */
  readonly timeoutMs: number;
}

/** True when the URL's scheme runs over TLS. */
export function isTlsUrl(url: URL): boolean {
  return url.protocol === "rtmps:" || url.protocol === "https:";
}

/**
 * Opens a connection to `url`'s host and port (the scheme's default when absent), over TLS
 * for `rtmps:` and `https:`, the handshake done before it returns.
 *
 * @throws {TlsError} `TLS_INVALID` for a scheme other than rtmp, rtmps, http, https.
 * @throws {Deno.errors.TimedOut} When the deadline passes first.
 * @throws {Error} The connect or handshake error (refused, unknown certificate authority).
 *
 * @example
 * ```ts ignore
 * const conn = await dialUrl(new URL("rtmps://origin.example/live"), { timeoutMs: 5000 });
 * ```
 */
export async function dialUrl(
  url: URL,
  options: DialOptions,
): Promise<Deno.Conn> {
  const defaultPort = DEFAULT_PORTS[url.protocol];
  if (defaultPort === undefined) {
    throw new TlsError(
      TlsErrorCode.Invalid,
      `Cannot dial ${url.protocol}//${url.host}: expected rtmp, rtmps, http or https`,
    );
  }
  // A URL's IPv6 host is bracketed; the socket API wants it bare.
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = url.port === "" ? defaultPort : Number(url.port);
  let conn: Deno.Conn | undefined;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn?.close(); // ends a handshake in progress
    } catch {
      // already closed
    }
  }, options.timeoutMs);
  try {
    const connecting = isTlsUrl(url)
      ? Deno.connectTls({
        hostname,
        port,
        caCerts: [...(options.caCerts ?? [])],
      })
      : Deno.connect({ hostname, port });
    const opened = await connecting;
    conn = opened;
    if (timedOut) {
      opened.close();
      throw new Deno.errors.TimedOut(
        `Cannot connect to ${url.host}: no connection within ${options.timeoutMs} ms`,
      );
    }
    if ("handshake" in opened) await (opened as Deno.TlsConn).handshake();
    return opened;
  } catch (e) {
    if (timedOut && !(e instanceof Deno.errors.TimedOut)) {
      throw new Deno.errors.TimedOut(
        `Cannot connect to ${url.host}: not done within ${options.timeoutMs} ms`,
      );
    }
    throw e;
  } finally {
    clearTimeout(timer);
  }
}
