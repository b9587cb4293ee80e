/**
 * Access logs: one line per HTTP request (every role's HTTP port, the edge's prebuilt-bytes
 * hits included), per RTMP session (origin) and per sampled DNS query (scheduler), as JSON or
 * an nginx-`combined`-like text, to stdout, stderr or a file reopened on SIGHUP.
 *
 * Paths, stream names, referers and user agents are redacted by the process log's rules
 * (`log/redact.ts`); Authorization and cookies are never read. Lines are buffered and written
 * off the serving path (`sink.ts`); a full buffer drops lines and counts them in
 * `meridian_access_log_dropped_lines_total`.
 *
 * Configured per role (`{role}.accessLog`); {@link openAccessLog} returns `undefined` when it is
 * off, so a call site's cost is one `if`.
 *
 * @example
 * ```ts
 * import { openAccessLog } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * const log = await openAccessLog(
 *   { enabled: true, format: "json", destination: path },
 *   { role: "edge", signals: false },
 * );
 * log!.http({
 *   time: Date.now(), client: "127.0.0.1", method: "GET", target: "/a.m3u8?token=T",
 *   protocol: "HTTP/1.1", status: 200, bytes: 10, durationSeconds: 0.001, ttfbSeconds: 0.001,
 *   cache: "hit", userAgent: undefined, referer: undefined, completed: true,
 * });
 * await log!.close();
 * const line = JSON.parse(await Deno.readTextFile(path));
 * assert.equal(line.path, "/a.m3u8?token=<redacted>");
 * await Deno.remove(path);
 * ```
 *
 * @module
 */

import type { AccessLogConfig } from "../../config/access_log_schema.ts";
import type { MetricsRegistry } from "../../metrics/mod.ts";
import { describeError, type Logger, silentLogger } from "../mod.ts";
import {
  type AccessLogFormat,
  type DnsAccessRecord,
  formatDns,
  formatHttp,
  formatRtmp,
  type HttpAccessRecord,
  type RtmpAccessRecord,
} from "./format.ts";
import { LineSink, type LineSinkOptions, openDestination } from "./sink.ts";

export {
  type AccessLogFormat,
  combinedTime,
  type DnsAccessRecord,
  formatDns,
  formatHttp,
  formatRtmp,
  type HttpAccessRecord,
  MAX_LOGGED_TEXT,
  type RtmpAccessRecord,
} from "./format.ts";
export {
  AccessLogError,
  AccessLogErrorCode,
  LineSink,
  type LineWriter,
  MAX_BUFFERED_BYTES,
  openDestination,
  type OpenWriter,
  type SinkStats,
} from "./sink.ts";

/** A role's open access log. */
export interface AccessLog {
  readonly format: AccessLogFormat;
  http(record: HttpAccessRecord): void;
  rtmp(record: RtmpAccessRecord): void;
  dns(record: DnsAccessRecord): void;
  /** A line formatted elsewhere (a DNS worker thread's). */
  line(text: string): void;
  /** Lines dropped elsewhere (a worker thread's full batch), counted with this log's. */
  countDropped(lines: number): void;
  /** Reopens a file destination (what SIGHUP does). */
  reopen(): void;
  /** Writes what is buffered and closes; stops listening for SIGHUP. */
  close(): Promise<void>;
}

/** What {@link openAccessLog} needs besides the config. */
export interface AccessLogDeps {
  /** `origin`, `edge`, `scheduler`, `control`: written in each JSON line. */
  readonly role: string;
  /** Where the lines written, dropped and failed are counted. */
  readonly metrics?: MetricsRegistry;
  /** Told when writes start failing (once per streak). */
  readonly log?: Logger;
  /** Reopen a file destination on SIGHUP. @default true */
  readonly signals?: boolean;
  /** Sink options (tests: a small buffer). */
  readonly sink?: Omit<LineSinkOptions, "onError">;
  /** The destination's opener (tests: a slow disk). @default openDestination(config.destination) */
  readonly open?: () => ReturnType<ReturnType<typeof openDestination>>;
}

/** A destination's sink, shared by the roles of the process that write to it. */
interface SharedSink {
  readonly sink: LineSink;
  users: number;
  readonly stop: () => void;
}

/**
 * Open destinations by name (`stdout`, `stderr`, a path): roles writing to the same one share
 * its sink, so their lines never interleave mid-line (each write is whole lines, one write in
 * flight per destination) and a file is reopened once per SIGHUP.
 */
const SHARED = new Map<string, Promise<SharedSink>>();

async function openShared(
  destination: string,
  signals: boolean,
  onError: (message: string, error: unknown) => void,
  options: AccessLogDeps["sink"],
): Promise<SharedSink> {
  const sink = await LineSink.open(openDestination(destination), {
    ...options,
    onError,
  });
  const file = destination !== "stdout" && destination !== "stderr";
  const onHup = () => sink.reopen();
  let listening = false;
  if (file && signals) {
    try {
      Deno.addSignalListener("SIGHUP", onHup);
      listening = true;
    } catch {
      // no SIGHUP on this OS (Windows): reopen() is still there
    }
  }
  return {
    sink,
    users: 0,
    stop: () => {
      if (listening) Deno.removeSignalListener("SIGHUP", onHup);
      listening = false;
    },
  };
}

/**
 * Opens a role's access log, or returns `undefined` when `config.enabled` is false. Roles of
 * one process that name the same destination share it (and its counters).
 *
 * @throws {AccessLogError} `ACCESS_LOG_OPEN` when the file cannot be opened (it names it).
 */
export async function openAccessLog(
  config: AccessLogConfig,
  deps: AccessLogDeps,
): Promise<AccessLog | undefined> {
  if (!config.enabled) return undefined;
  const log = deps.log ?? silentLogger;
  const onError = (message: string, error: unknown) =>
    log.warn(message, {
      destination: config.destination,
      error: describeError(error),
    });
  let shared: SharedSink;
  let release: () => Promise<void>;
  if (deps.open) {
    // A test's own destination: never shared.
    const sink = await LineSink.open(deps.open, { ...deps.sink, onError });
    shared = { sink, users: 1, stop: () => {} };
    release = () => sink.close();
  } else {
    const key = config.destination;
    let opening = SHARED.get(key);
    if (!opening) {
      opening = openShared(key, deps.signals !== false, onError, deps.sink);
      SHARED.set(key, opening);
      opening.catch(() => SHARED.delete(key));
    }
    shared = await opening;
    shared.users++;
    const mine = shared;
    release = async () => {
      if (--mine.users > 0) return;
      if (SHARED.get(key) === opening) SHARED.delete(key);
      mine.stop();
      await mine.sink.close();
    };
  }
  const sink = shared.sink;
  const { format } = config;
  const { role } = deps;
  const s = sink.stats;
  if (deps.metrics) {
    const m = deps.metrics;
    m.collect(
      "meridian_access_log_lines_total",
      "Access log lines written (of this role's destination: roles naming the same one share it)",
      "counter",
      () => [[undefined, s.written]],
    );
    m.collect(
      "meridian_access_log_dropped_lines_total",
      "Access log lines dropped: the buffer was full (a slow destination) or their write failed",
      "counter",
      () => [[undefined, s.dropped]],
    );
    m.collect(
      "meridian_access_log_write_errors_total",
      "Access log writes and reopens that failed",
      "counter",
      () => [[undefined, s.errors]],
    );
    m.collect(
      "meridian_access_log_buffered_bytes",
      "Access log bytes waiting for the destination",
      "gauge",
      () => [[undefined, sink.buffered.bytes]],
    );
  }
  let closed = false;
  return {
    format,
    http: (r) => sink.write(formatHttp(r, format, role)),
    rtmp: (r) => sink.write(formatRtmp(r, format, role)),
    dns: (r) => sink.write(formatDns(r, format, role)),
    line: (text) => sink.write(text),
    countDropped: (n) => {
      s.dropped += n;
    },
    reopen: () => sink.reopen(),
    async close() {
      if (closed) return;
      closed = true;
      await release();
    },
  };
}
