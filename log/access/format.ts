/**
 * Access log lines: one per HTTP request, RTMP session or sampled DNS query, as JSON or in a
 * text form after nginx's `combined` (pure: records in, one line out).
 *
 * Every path, stream name, referer and user agent goes through the process log's redaction
 * (`log/redact.ts`): `token=`, `cred=`, `key=`… values and URL passwords are never written.
 * Authorization and Cookie are never read at all. Free text is bounded
 * ({@link MAX_LOGGED_TEXT}) so a client cannot make one line huge.
 *
 * @module
 */

import { redactQuery } from "../redact.ts";

/** Characters kept of a path, user agent or referer; the rest is cut with `…`. */
export const MAX_LOGGED_TEXT = 2048;

/** One answered HTTP request. */
export interface HttpAccessRecord {
  /** When the request head was read (epoch ms). */
  readonly time: number;
  /** The client's address (the TCP peer). */
  readonly client: string;
  readonly method: string;
  /** The request target as sent (redacted when written). */
  readonly target: string;
  /** `HTTP/1.1` or `HTTP/1.0`. */
  readonly protocol: string;
  readonly status: number;
  /** Bytes written to the client for this response, head included. */
  readonly bytes: number;
  /** Head read → last byte written (or the connection's end), seconds. */
  readonly durationSeconds: number;
  /** Head read → first byte written, seconds; `undefined` when nothing was written. */
  readonly ttfbSeconds: number | undefined;
  /** The edge's cache result (`hit`, `miss`, `collapsed`, …); `undefined` elsewhere. */
  readonly cache: string | undefined;
  readonly userAgent: string | undefined;
  readonly referer: string | undefined;
  /** False when the response was cut (the client left, a write failed). */
  readonly completed: boolean;
}

/** One RTMP connection, at its close. */
export interface RtmpAccessRecord {
  /** When the connection was accepted (epoch ms). */
  readonly time: number;
  readonly client: string;
  /** What it did: published, played live, played a file, or neither. */
  readonly kind: "publish" | "play" | "vod" | "none";
  readonly app: string;
  /** The stream name without its query (redacted again when written). */
  readonly stream: string;
  readonly durationSeconds: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Why it closed (`peer closed the connection`, `publish refused: …`). */
  readonly reason: string;
}

/** One sampled DNS query. */
export interface DnsAccessRecord {
  readonly time: number;
  readonly client: string;
  readonly transport: "udp" | "tcp";
  readonly qname: string;
  readonly qtype: string;
  readonly rcode: string;
  /** The ECS subnet the query carried (`198.51.100.0/24`), if any. */
  readonly ecs: string | undefined;
  /** Answer records in the response. */
  readonly answers: number;
  readonly durationSeconds: number;
}

/** The two line formats. */
export type AccessLogFormat = "json" | "combined";

function bounded(text: string): string {
  return text.length > MAX_LOGGED_TEXT
    ? `${text.slice(0, MAX_LOGGED_TEXT)}…`
    : text;
}

function clean(text: string | undefined): string | undefined {
  return text === undefined ? undefined : bounded(redactQuery(text));
}

function seconds(s: number | undefined): number | undefined {
  return s === undefined ? undefined : Math.round(s * 1e6) / 1e6;
}

const MONTHS = [
  "Jan",
  "Feb",
  "Mar",
  "Apr",
  "May",
  "Jun",
  "Jul",
  "Aug",
  "Sep",
  "Oct",
  "Nov",
  "Dec",
];

let isoSecond = -1;
let isoPrefix = "";

/** `2026-12-03T10:15:02.118Z`, the date and time computed once per second. */
function isoTime(ms: number): string {
  const sec = Math.floor(ms / 1000);
  if (sec !== isoSecond) {
    isoSecond = sec;
    isoPrefix = new Date(sec * 1000).toISOString().slice(0, 19);
  }
  const frac = Math.floor(ms - sec * 1000);
  return `${isoPrefix}.${frac < 10 ? "00" : frac < 100 ? "0" : ""}${frac}Z`;
}

let combinedSecond = -1;
let combinedValue = "";

/**
 * nginx's `$time_local` in UTC: `10/Oct/2000:13:55:36 +0000`.
 *
 * @example
 * ```ts
 * import { combinedTime } from "./format.ts";
 * import assert from "node:assert/strict";
 * assert.equal(combinedTime(971186136000), "10/Oct/2000:13:55:36 +0000");
 * ```
 */
export function combinedTime(ms: number): string {
  const sec = Math.floor(ms / 1000);
  if (sec === combinedSecond) return combinedValue;
  const d = new Date(sec * 1000);
  const p = (n: number) => String(n).padStart(2, "0");
  combinedSecond = sec;
  combinedValue = `${p(d.getUTCDate())}/${
    MONTHS[d.getUTCMonth()]
  }/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${
    p(d.getUTCSeconds())
  } +0000`;
  return combinedValue;
}

// deno-lint-ignore no-control-regex
const JSON_ESCAPES = /["\\\x00-\x1f\u2028\u2029]/;

/** A JSON string literal; plain text (the common case) is quoted without `JSON.stringify`. */
function jsonString(text: string): string {
  return JSON_ESCAPES.test(text) ? JSON.stringify(text) : `"${text}"`;
}

/** `,"key":"value"`, or nothing for `undefined`. */
function jsonField(key: string, value: string | undefined): string {
  return value === undefined ? "" : `,"${key}":${jsonString(value)}`;
}

/** `,"key":n`, or nothing for `undefined`. */
function jsonNumber(key: string, value: number | undefined): string {
  return value === undefined || !Number.isFinite(value)
    ? ""
    : `,"${key}":${value}`;
}

// deno-lint-ignore no-control-regex
const CONTROL_CHARS = /[\x00-\x1f\x7f]/g;
// deno-lint-ignore no-control-regex
const NEEDS_QUOTING = /[\\"\x00-\x1f\x7f]/;

/** A quoted field of the text form: `"` and `\` escaped, control characters as `\xHH`. */
function quoted(text: string | undefined): string {
  if (text === undefined || text === "") return '"-"';
  if (!NEEDS_QUOTING.test(text)) return `"${text}"`;
  return `"${
    text.replace(/[\\"]/g, (c) => `\\${c}`).replace(
      CONTROL_CHARS,
      (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
    )
  }"`;
}

const TOKEN_BREAKERS = /[\s"\\]/;

/** A bare token of the text form (no spaces or quotes can break the line's fields). */
function token(text: string): string {
  if (text === "") return "-";
  return TOKEN_BREAKERS.test(text) ? text.replace(/[\s"\\]/g, "_") : text;
}

/**
 * One HTTP request's line.
 *
 * `combined` is nginx's `$remote_addr - - [$time_local] "$request" $status $bytes_sent
 * "$http_referer" "$http_user_agent"` followed by `rt=` (seconds), `ttfb=`, `cache=` and, for a
 * cut response, `cut=1`.
 *
 * @example
 * ```ts
 * import { formatHttp } from "./format.ts";
 * import assert from "node:assert/strict";
 * const line = formatHttp({
 *   time: 971186136000, client: "192.0.2.1", method: "GET", target: "/live/a.m3u8?token=T",
 *   protocol: "HTTP/1.1", status: 200, bytes: 512, durationSeconds: 0.0025, ttfbSeconds: 0.001,
 *   cache: "hit", userAgent: "ffprobe", referer: undefined, completed: true,
 * }, "combined", "edge");
 * assert.equal(line, '192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "GET /live/a.m3u8?token=<redacted> HTTP/1.1" 200 512 "-" "ffprobe" rt=0.0025 ttfb=0.001 cache=hit');
 * ```
 */
export function formatHttp(
  r: HttpAccessRecord,
  format: AccessLogFormat,
  role: string,
): string {
  const target = bounded(redactQuery(r.target));
  if (format === "json") {
    // Written by hand, field by field: a line per request on the edge's hot path (a generic
    // JSON.stringify of the record costs twice this; the output is the same JSON).
    return `{"time":"${isoTime(r.time)}","type":"http"${
      jsonField("role", role)
    }${jsonField("client", r.client)}${jsonField("method", r.method)}${
      jsonField("path", target)
    }${jsonField("protocol", r.protocol)}${jsonNumber("status", r.status)}${
      jsonNumber("bytes", r.bytes)
    }${jsonNumber("durationSeconds", seconds(r.durationSeconds))}${
      jsonNumber("ttfbSeconds", seconds(r.ttfbSeconds))
    }${jsonField("cache", r.cache)}${
      jsonField("userAgent", clean(r.userAgent))
    }${jsonField("referer", clean(r.referer))}${
      r.completed ? "" : ',"completed":false'
    }}`;
  }
  let line = `${token(r.client)} - - [${combinedTime(r.time)}] ${
    quoted(`${r.method} ${target} ${r.protocol}`)
  } ${r.status} ${r.bytes} ${quoted(clean(r.referer))} ${
    quoted(clean(r.userAgent))
  } rt=${seconds(r.durationSeconds)}`;
  if (r.ttfbSeconds !== undefined) line += ` ttfb=${seconds(r.ttfbSeconds)}`;
  if (r.cache !== undefined) line += ` cache=${token(r.cache)}`;
  if (!r.completed) line += " cut=1";
  return line;
}

/**
 * One RTMP session's line. `combined`: `$client - - [$time] "PUBLISH /app/stream RTMP" -
 * $bytes_out "-" "-" rt= in= reason="…"`.
 */
export function formatRtmp(
  r: RtmpAccessRecord,
  format: AccessLogFormat,
  role: string,
): string {
  const stream = bounded(redactQuery(r.stream));
  const app = bounded(redactQuery(r.app));
  if (format === "json") {
    return JSON.stringify({
      time: isoTime(r.time),
      type: "rtmp",
      role,
      client: r.client,
      kind: r.kind,
      app,
      stream,
      durationSeconds: seconds(r.durationSeconds),
      bytesIn: r.bytesIn,
      bytesOut: r.bytesOut,
      reason: bounded(redactQuery(r.reason)),
    });
  }
  const path = app === ""
    ? "-"
    : stream === ""
    ? `/${app}`
    : `/${app}/${stream}`;
  return `${token(r.client)} - - [${combinedTime(r.time)}] ${
    quoted(`${r.kind.toUpperCase()} ${path} RTMP`)
  } - ${r.bytesOut} "-" "-" rt=${
    seconds(r.durationSeconds)
  } in=${r.bytesIn} reason=${quoted(bounded(redactQuery(r.reason)))}`;
}

/**
 * One DNS query's line. `combined`: `$client - - [$time] "QUERY name A UDP" NOERROR $answers
 * "-" "-" rt= ecs=`.
 */
export function formatDns(
  r: DnsAccessRecord,
  format: AccessLogFormat,
  role: string,
): string {
  const qname = bounded(r.qname);
  if (format === "json") {
    return JSON.stringify({
      time: isoTime(r.time),
      type: "dns",
      role,
      client: r.client,
      transport: r.transport,
      qname,
      qtype: r.qtype,
      rcode: r.rcode,
      ecs: r.ecs,
      answers: r.answers,
      durationSeconds: seconds(r.durationSeconds),
    });
  }
  return `${token(r.client)} - - [${combinedTime(r.time)}] ${
    quoted(`QUERY ${qname} ${r.qtype} ${r.transport.toUpperCase()}`)
  } ${token(r.rcode)} ${r.answers} "-" "-" rt=${seconds(r.durationSeconds)}${
    r.ecs ? ` ecs=${token(r.ecs)}` : ""
  }`;
}
