/**
 * An observed exchange as an access log record: what every role's HTTP port writes per request
 * (the edge adds its cache result). Authorization and Cookie are never read.
 *
 * @module
 */

import type { RequestHead } from "../../codec/http1/mod.ts";
import type { HttpAccessRecord } from "../../log/access/mod.ts";
import type { Http1Exchange } from "./connection.ts";

/** The first value of a request field (names lower-cased), if sent. */
export function requestField(
  head: RequestHead,
  name: string,
): string | undefined {
  const f = head.fields;
  for (let i = 0; i < f.length; i += 2) if (f[i] === name) return f[i + 1];
  return undefined;
}

/**
 * The access log record of an exchange.
 *
 * @param cache The edge's cache result, when there is one.
 */
export function accessRecordOf(
  x: Http1Exchange,
  cache?: string,
): HttpAccessRecord {
  return {
    time: x.startEpochMs,
    client: x.remoteAddr.hostname,
    method: x.head.method,
    target: x.head.target,
    protocol: x.head.minorVersion === 0 ? "HTTP/1.0" : "HTTP/1.1",
    status: x.status,
    bytes: x.bytes,
    durationSeconds: (x.endMs - x.startMs) / 1000,
    ttfbSeconds: x.firstByteMs > 0
      ? (x.firstByteMs - x.startMs) / 1000
      : undefined,
    cache,
    userAgent: requestField(x.head, "user-agent"),
    referer: requestField(x.head, "referer"),
    completed: x.completed,
  };
}
