/**
 * An HTTP/1.1 server on `Deno.listen` (raw TCP) that runs a fetch-style handler, with a fast
 * path that answers a request from prebuilt bytes before any `Request` exists (at once, or
 * later as an async iterable of bytes: a body still arriving from elsewhere).
 *
 * Why not `Deno.serve`: measured here with wrk (`-t1 -c64`, server on its own core), a bare
 * Deno.serve answers a 358-byte object with 2 fields at 106k/s, while this shape writes the
 * same object with 7 fields from one prebuilt buffer at 135–146k/s; for 2 MiB objects it
 * needs half the CPU per response (3.5k against 1.7k per core). A Deno.serve response pays
 * for each field it carries and for the `Request` it builds; the edge's cache hits need
 * neither (BENCHMARKS.md, "HTTP edge on its own HTTP/1.1 server"). Long-lived streams
 * (HTTP-FLV) cost the same per socket write as on Deno.serve; at 4,000 edge viewers the
 * process held 286 MiB against 693 MiB.
 *
 * What it does: keep-alive and pipelining (requests answered in order), Content-Length and
 * chunked request bodies (bounded, read whole before the handler runs), `100 Continue`,
 * `HEAD`, a `Date` on every response, responses framed by Content-Length when the length is
 * known (byte bodies included), chunked otherwise, or by closing the connection for streams
 * marked with {@link closeDelimited}. A malformed head gets 400/413/414/417/431/501/505 and
 * the connection closes; so does a method outside {@link HTTP_METHODS} (501: methods are
 * case-sensitive, RFC 9110 §9.1, and `fetch`'s `Request` would turn `get` into `GET`).
 * A client that hangs up cancels its response body, so a live stream sees the viewer leave.
 * No TLS, no HTTP/2, no upgrades (Meridian's viewer ports need none), no response compression.
 *
 * Slow and idle clients (what keeps a slot without using it):
 * - A request must arrive whole, head and body, within `headTimeoutMs` of its start (accept, or
 *   the first byte after the previous response): one deadline, never restarted by a read, so a
 *   head trickled a byte at a time is cut like a silent one (as nginx's `client_header_timeout`
 *   does for the head; its `client_body_timeout` only bounds the gap between two reads, this
 *   bounds the body too). A request begun gets 408.
 * - A keep-alive connection with nothing of its next request read is closed after
 *   `idleTimeoutMs`.
 * - A response write that makes no progress for `writeTimeoutMs` closes the connection.
 * - With a {@link ConnGuard}, connections are admitted by its policy: a cap per listener and
 *   per client address; when full, the oldest connection still reading its first request is
 *   closed for the newcomer, then the longest idle one; a connection being answered (a live
 *   viewer, a long download) never is. A refused one gets 429 (its address holds its share) or
 *   503 (full of active connections) and is closed.
 *
 * @module
 */

import { concatBytes } from "../codec/bytes/concat.ts";
import type { LimitsConfig } from "../config/mod.ts";
import type { MetricsRegistry } from "../metrics/mod.ts";
import {
  type ConnGuard,
  ConnState,
  type ConnTicket,
  guardFromLimits,
  registerConnGuard,
} from "../net/mod.ts";
import {
  decodeChunkedBody,
  decodeRequestHead,
  encodeResponseHead,
  Http1FormatError,
  MAX_HEAD_BYTES,
  type RequestHead,
} from "../codec/http1/mod.ts";

export type { RequestHead } from "../codec/http1/mod.ts";

/**
 * What the fast path answers: a whole response as buffers written to the socket in order, or,
 * for a body still arriving, an async iterable of them. The first buffer starts with the head;
 * an iterable's body must be framed by its Content-Length. An iterable that throws ends the
 * connection (the peer sees a body shorter than its length, never a wrong one).
 */
export type FastAnswer = readonly Uint8Array[] | AsyncIterable<Uint8Array>;

/** Connection info handed to the handler (the shape of Deno.serve's `ServeHandlerInfo`). */
export interface Http1ConnInfo {
  readonly remoteAddr: Deno.NetAddr;
}

/** A fetch-style handler, as for Deno.serve. */
export type Http1Handler = (
  request: Request,
  info: Http1ConnInfo,
) => Response | Promise<Response>;

/** Options of {@link serveHttp1}. */
export interface Http1ServerOptions {
  readonly hostname: string;
  /** 0 picks a free port. */
  readonly port: number;
  /**
   * Answers a request without a body from prebuilt bytes, or returns `undefined` to let the
   * handler answer it. Runs before any `Request` is built. It may answer later (a promise):
   * resolving to `undefined` still hands the request to the handler.
   */
  readonly fastPath?: (
    head: RequestHead,
  ) => FastAnswer | Promise<FastAnswer | undefined> | undefined;
  /** @default 16384 */
  readonly maxHeadBytes?: number;
  /** Largest request body read (bytes); larger ones get 413. @default 1048576 */
  readonly maxBodyBytes?: number;
  /**
   * A request (head and body) must arrive whole within this many ms of its start: accept, or
   * the first byte after the previous response. Not restarted by reads. @default 10000
   */
  readonly headTimeoutMs?: number;
  /** A keep-alive connection with no request begun is closed after this many ms. @default 30000 */
  readonly idleTimeoutMs?: number;
  /** A response write that makes no progress for this long closes the connection. @default 30000 */
  readonly writeTimeoutMs?: number;
  /**
   * Admission of connections (per-listener and per-address caps, eviction of pending and idle
   * ones). Without it every connection is accepted.
   */
  readonly guard?: ConnGuard;
  /** Methods served; others get 501 before the fast path or handler sees them. @default HTTP_METHODS */
  readonly methods?: ReadonlySet<string>;
  /** Told about refused requests and handler failures (one line each). */
  readonly onError?: (
    message: string,
    context: Record<string, unknown>,
  ) => void;
}

/**
 * The options of {@link serveHttp1} that the config's `limits` section sets for one listener:
 * a guard from `limits.http` and `limits.trustedNetworks`, shown in `/metrics` as `listener`,
 * and the request and idle deadlines.
 *
 * @example
 * ```ts
 * import { http1Limits, serveHttp1 } from "./http1_server.ts";
 * import { DEFAULTS } from "../config/mod.ts";
 * import { MetricsRegistry } from "../metrics/mod.ts";
 * const server = serveHttp1({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   ...http1Limits(DEFAULTS.limits, new MetricsRegistry(), "example_http"),
 * }, () => new Response("hi"));
 * await server.shutdown();
 * ```
 */
export function http1Limits(
  limits: LimitsConfig,
  metrics: MetricsRegistry,
  listener: string,
): Required<
  Pick<Http1ServerOptions, "guard" | "headTimeoutMs" | "idleTimeoutMs">
> {
  const guard = guardFromLimits(limits.http, limits.trustedNetworks);
  registerConnGuard(metrics, listener, guard);
  return {
    guard,
    headTimeoutMs: limits.http.headTimeoutMs,
    idleTimeoutMs: limits.http.idleTimeoutMs,
  };
}

/** A running server. */
export interface Http1Server {
  readonly addr: Deno.NetAddr;
  /** Open connections. */
  readonly connections: number;
  /**
   * Stops accepting, closes idle connections, lets responses in progress finish (then closes
   * their connections) and resolves when every connection is closed. Responses still running
   * after `graceMs` are cut.
   */
  shutdown(graceMs?: number): Promise<void>;
}

const closeDelimitedResponses = new WeakSet<Response>();

/**
 * Marks `response` as a stream of unknown length framed by closing the connection (RFC 9112
 * §6.3 rule 8) rather than chunked: every chunk goes to the socket as it is, the same bytes
 * for every viewer, with no per-chunk framing copy. For live streams, which end only when the
 * connection does; other bodies of unknown length stay chunked so a cut is visible.
 *
 * @returns `response`.
 *
 * @example
 * ```ts
 * import { closeDelimited } from "./http1_server.ts";
 * const res = closeDelimited(new Response(new ReadableStream()));
 * await res.body?.cancel();
 * ```
 */
export function closeDelimited(response: Response): Response {
  closeDelimitedResponses.add(response);
  return response;
}

/**
 * Where a {@link LiveSource} writes: bytes go to the socket in order with at most one write in
 * flight; whatever arrives meanwhile is queued and sent as one write when it completes.
 */
export interface LiveSink {
  /**
   * Queues bytes for the socket (shared with other viewers: never mutated).
   * @returns false when the unsent bytes are over the source's cap (or the response is over):
   *   the source drops this viewer.
   */
  write(bytes: Uint8Array): boolean;
  /** Ends the response: after the queued bytes, or at once when `abort`. */
  end(abort?: boolean): void;
}

/** A live body the HTTP/1.1 server writes itself, with no stream machinery per write. */
export interface LiveSource {
  /** Unsent bytes a viewer may have before {@link LiveSink.write} reports it. */
  readonly maxQueueBytes: number;
  /**
   * `close` (default): the body ends with the connection, each buffer written as it is.
   * `chunked`: each buffer is sent as one chunk, framed once per buffer however many viewers
   * write it; a clean end sends the last chunk and the connection stays open (HTTP/1.0
   * peers still get close framing).
   */
  readonly framing?: "close" | "chunked";
  /** Called once the head is out; the source writes into `sink` from then on. */
  open(sink: LiveSink): void;
  /** Called once when the response is over: ended, cut, or the peer went. */
  gone(): void;
}

const liveSources = new WeakMap<Response, LiveSource>();

/**
 * Gives `response` a live body that this server writes directly from `source` (close-framed,
 * as {@link closeDelimited}). The response's own body stream stays for other servers
 * (Deno.serve): this one never reads it, so build it so that nothing attaches until it is
 * read (a `pull`-driven stream with a zero high-water mark).
 *
 * Why: a live viewer gets one write per flush interval, thousands of viewers at once, and a
 * stream read per write costs several promises and resumptions on top of the socket write.
 *
 * @returns `response`.
 */
export function liveResponse(
  response: Response,
  source: LiveSource,
): Response {
  closeDelimitedResponses.add(response);
  liveSources.set(response, source);
  return response;
}

let dateSecond = -1;
let dateValue = "";

/** The `Date` value for `nowMs` (RFC 9110 §5.6.7 IMF-fixdate), computed once per second. */
export function httpDate(nowMs: number = Date.now()): string {
  const s = Math.floor(nowMs / 1000);
  if (s !== dateSecond) {
    dateSecond = s;
    dateValue = new Date(s * 1000).toUTCString();
  }
  return dateValue;
}

/** Fields the server sets itself; a handler's values for them are not sent. */
const SERVER_FIELDS = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
]);

/**
 * The methods served by default: RFC 9110 §9.3's and PATCH (RFC 5789), case-sensitive. CONNECT
 * and TRACE are left out (no tunnel; a `Request` cannot carry them).
 */
export const HTTP_METHODS: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "OPTIONS",
  "PATCH",
]);

/** Default `headTimeoutMs` (see {@link Http1ServerOptions.headTimeoutMs}). */
export const HEAD_TIMEOUT_MS = 10_000;
/** Default `idleTimeoutMs`. */
export const IDLE_TIMEOUT_MS = 30_000;
/** Default `writeTimeoutMs`. */
export const WRITE_TIMEOUT_MS = 30_000;
/**
 * How long a refused connection is kept after its 429/503 to read (and drop) what the client
 * had sent: closing a socket with unread bytes sends RST, which may destroy the answer before
 * the client reads it.
 */
export const REFUSAL_LINGER_MS = 1_000;
/** Refused connections lingering at once; past it, further refusals close at once. */
export const MAX_LINGERING_REFUSALS = 256;
/** First wait after a failed accept (e.g. EMFILE); doubles per failure up to 1 s. */
const ACCEPT_RETRY_MS = 5;

const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");
const CRLF = new Uint8Array([13, 10]);

/** A whole `text/plain` response that closes the connection. */
function plainResponse(
  status: number,
  text: string,
  extra: readonly [string, string][] = [],
): Uint8Array {
  const body = new TextEncoder().encode(`${text}\n`);
  return concatBytes([
    encodeResponseHead(status, [
      ["content-type", "text/plain; charset=utf-8"],
      ["content-length", String(body.length)],
      ["date", httpDate()],
      ...extra,
      ["connection", "close"],
    ]),
    body,
  ]);
}

const RETRY_SOON: readonly [string, string][] = [["retry-after", "1"]];
const LAST_CHUNK = new TextEncoder().encode("0\r\n\r\n");
/** Largest request body read by default (bytes); larger ones get 413. */
const MAX_BODY_BYTES = 1024 * 1024;
/** First read buffer of a connection; grows (up to the head limit) only for peers that fill it. */
const INITIAL_READ_BYTES = 2048;
/** Byte bodies up to this size go out in one write with their head (one copy). */
const JOIN_BODY_MAX_BYTES = 64 * 1024;
/** Buffer of the read that watches for a hang-up while a handler runs (see `serveConn`). */
const WATCH_READ_BYTES = 1024;

const PENDING: unique symbol = Symbol("pending");
const SETTLED_PENDING: Promise<typeof PENDING> = Promise.resolve(PENDING);

/** Per-connection state the timeout sweep looks at. */
interface Conn {
  readonly conn: Deno.Conn;
  /**
   * "idle": between requests, nothing of the next read; "request": reading a request (head or
   * body) against its deadline; "busy": handler running; "write": a write in progress.
   */
  phase: "idle" | "request" | "busy" | "write";
  /** When the phase began ("idle"), or the last write progressed ("write"). */
  since: number;
  /** When the request being read began: its deadline is `started + headTimeoutMs`. */
  started: number;
  /** Bytes already read of the next request (an idle keep-alive connection has none). */
  buffered: number;
  closed: boolean;
  /** Its slot in the listener's guard, if there is one. */
  ticket: ConnTicket | undefined;
}

/**
 * Serves `handler` on `hostname:port` over HTTP/1.1.
 *
 * @throws {Error} When the address cannot be bound (from `Deno.listen`).
 *
 * @example
 * ```ts
 * import { serveHttp1 } from "./http1_server.ts";
 * import assert from "node:assert/strict";
 * const server = serveHttp1({ hostname: "127.0.0.1", port: 0 }, () => new Response("hi"));
 * const res = await fetch(`http://127.0.0.1:${server.addr.port}/`);
 * assert.equal(await res.text(), "hi");
 * await server.shutdown();
 * ```
 */
export function serveHttp1(
  options: Http1ServerOptions,
  handler: Http1Handler,
): Http1Server {
  const listener = Deno.listen({
    hostname: options.hostname,
    port: options.port,
  });
  const addr = listener.addr as Deno.NetAddr;
  const maxHeadBytes = options.maxHeadBytes ?? MAX_HEAD_BYTES;
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const headTimeoutMs = options.headTimeoutMs ?? HEAD_TIMEOUT_MS;
  const idleTimeoutMs = options.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
  const writeTimeoutMs = options.writeTimeoutMs ?? WRITE_TIMEOUT_MS;
  const guard = options.guard;
  const methods = options.methods ?? HTTP_METHODS;
  const fastPath = options.fastPath;
  const onError = options.onError ?? (() => {});
  const limits = { maxHeadBytes };
  const hostPart = addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;

  const states = new Set<Conn>();
  const done = new Set<Promise<void>>();
  let closing = false;
  let lingering = 0;
  // A coarse clock for the timeout sweep: no Date.now() per read or write.
  let now = Date.now();
  // Deadlines are met within a quarter of the shortest one (at most 1 s late).
  const sweepMs = Math.min(
    1000,
    Math.max(25, Math.floor(Math.min(headTimeoutMs, idleTimeoutMs) / 4)),
  );
  const sweep = setInterval(() => {
    now = Date.now();
    for (const s of states) {
      if (s.phase === "request") {
        if (now - s.started > headTimeoutMs) timedOut(s);
        else if (closing && s.buffered === 0) close(s);
      } else if (s.phase === "idle") {
        if (closing || now - s.since > idleTimeoutMs) close(s);
      } else if (s.phase === "write" && now - s.since > writeTimeoutMs) {
        close(s);
      }
    }
  }, sweepMs);
  Deno.unrefTimer(sweep);

  function idleConn(s: Conn): boolean {
    return (s.phase === "idle" || s.phase === "request") && s.buffered === 0;
  }

  /** The request deadline passed: a request begun hears 408 (RFC 9110 §15.5.9), then close. */
  function timedOut(s: Conn): void {
    if (s.closed) return;
    if (s.buffered === 0) return close(s);
    s.phase = "busy"; // the sweep does not come back to it
    const t = setTimeout(() => close(s), REFUSAL_LINGER_MS);
    s.conn.write(plainResponse(408, "Request not received in time")).catch(
      () => {},
    ).finally(() => {
      clearTimeout(t);
      close(s);
    });
  }

  /** After a response: idle if nothing of the next request is read yet, else reading it. */
  function between(s: Conn, buffered: number): void {
    s.buffered = buffered;
    if (buffered === 0) {
      s.phase = "idle";
      s.since = now;
      s.ticket?.mark(ConnState.Idle);
    } else {
      s.phase = "request";
      s.started = now;
      s.ticket?.mark(ConnState.Pending);
    }
  }

  function close(s: Conn): void {
    if (s.closed) return;
    s.closed = true;
    try {
      s.conn.close();
    } catch {
      // already closed
    }
  }

  async function writeAll(s: Conn, b: Uint8Array): Promise<void> {
    s.phase = "write";
    s.since = now;
    let off = 0;
    while (off < b.length) {
      off += await s.conn.write(off === 0 ? b : b.subarray(off));
      s.since = now;
    }
  }

  async function refuse(s: Conn, status: number, text: string) {
    try {
      await writeAll(s, plainResponse(status, text));
    } catch {
      // the peer is gone
    }
  }

  /** Writes `res`; returns whether the connection may carry another request. */
  async function writeResponse(
    s: Conn,
    head: RequestHead,
    res: Response,
  ): Promise<boolean> {
    const status = res.status;
    let length: number | undefined;
    const fields: [string, string][] = [];
    let dated = false;
    for (const [k, v] of res.headers) {
      if (!SERVER_FIELDS.has(k)) {
        fields.push([k, v]);
        // A cache relays the origin's Date (RFC 9110 §6.6.1); only a response without one
        // gets the server's.
        if (k === "date") dated = true;
      } else if (k === "content-length" && /^\d+$/.test(v)) length = Number(v);
    }
    if (!dated) fields.push(["date", httpDate()]);
    let keep = head.keepAlive && !closing;
    if (keep && head.minorVersion === 0) {
      fields.push(["connection", "keep-alive"]);
    }
    const noBody = head.method === "HEAD" || status === 204 ||
      status === 304 || status < 200;
    const body = res.body;
    if (noBody || body === null) {
      if (body) void body.cancel().catch(() => {});
      // HEAD and 304 keep the length the handler stated (RFC 9110 §8.6).
      if (length !== undefined && (head.method === "HEAD" || status === 304)) {
        fields.push(["content-length", String(length)]);
      } else if (status !== 204 && status !== 304 && status >= 200) {
        fields.push(["content-length", "0"]);
      }
      if (!keep) fields.push(["connection", "close"]);
      await writeAll(s, encodeResponseHead(status, fields));
      return keep;
    }

    const live = liveSources.get(res);
    if (live) {
      const chunked = live.framing === "chunked" && head.minorVersion === 1;
      if (chunked) {
        fields.push(["transfer-encoding", "chunked"]);
        if (!keep) fields.push(["connection", "close"]);
      } else fields.push(["connection", "close"]);
      try {
        await writeAll(s, encodeResponseHead(status, fields));
      } catch {
        live.gone();
        return false;
      }
      const clean = await serveLive(s, live, chunked);
      if (!chunked || !clean) return false;
      try {
        await writeAll(s, LAST_CHUNK);
        return keep;
      } catch {
        return false;
      }
    }

    const reader = body.getReader();
    try {
      if (length !== undefined) {
        fields.push(["content-length", String(length)]);
        if (!keep) fields.push(["connection", "close"]);
        await writeAll(s, encodeResponseHead(status, fields));
        let sent = 0;
        for (;;) {
          s.phase = "busy";
          const r = await reader.read();
          if (r.done) break;
          sent += r.value.byteLength;
          if (sent > length) break;
          await writeAll(s, r.value);
        }
        // A body that disagrees with its length cannot be framed: end the connection.
        return keep && sent === length;
      }

      s.phase = "busy";
      const first = await reader.read();
      if (first.done) {
        fields.push(["content-length", "0"]);
        if (!keep) fields.push(["connection", "close"]);
        await writeAll(s, encodeResponseHead(status, fields));
        return keep;
      }
      // A byte body (string, Uint8Array, JSON) has all its bytes in the first chunk and its
      // stream already closed: the second read is settled at once. Then send a length.
      const second = reader.read();
      const peek: ReadableStreamReadResult<Uint8Array> | typeof PENDING =
        await Promise.race([second, SETTLED_PENDING]);
      if (peek !== PENDING && peek.done) {
        fields.push(["content-length", String(first.value.byteLength)]);
        if (!keep) fields.push(["connection", "close"]);
        const h = encodeResponseHead(status, fields);
        if (first.value.byteLength <= JOIN_BODY_MAX_BYTES) {
          await writeAll(s, concatBytes([h, first.value]));
        } else {
          await writeAll(s, h);
          await writeAll(s, first.value);
        }
        return keep;
      }

      const byClose = closeDelimitedResponses.has(res) ||
        head.minorVersion === 0;
      if (byClose) {
        keep = false;
        fields.push(["connection", "close"]);
      } else {
        fields.push(["transfer-encoding", "chunked"]);
        if (!keep) fields.push(["connection", "close"]);
      }
      const frame = (b: Uint8Array) => byClose ? b : chunk(b);
      // A live stream's first chunk is its start-up burst (a GOP, often hundreds of KiB, for
      // each of hundreds of viewers joining at once): sent as it is, not copied behind the head.
      const h = encodeResponseHead(status, fields);
      if (first.value.byteLength <= JOIN_BODY_MAX_BYTES) {
        await writeAll(s, concatBytes([h, frame(first.value)]));
      } else {
        await writeAll(s, h);
        await writeAll(s, frame(first.value));
      }
      let next: ReadableStreamReadResult<Uint8Array> = peek !== PENDING
        ? peek
        : (s.phase = "busy", await second);
      for (;;) {
        if (next.done) break;
        if (next.value.byteLength > 0) await writeAll(s, frame(next.value));
        s.phase = "busy";
        next = await reader.read();
      }
      if (!byClose) await writeAll(s, LAST_CHUNK);
      return keep;
    } catch (e) {
      // The client hung up (write failed) or the body errored: either way this response
      // cannot be completed; tell the body's source and drop the connection.
      void reader.cancel(e).catch(() => {});
      return false;
    } finally {
      reader.releaseLock();
    }
  }

  /**
   * Writes a live source's bytes until it ends or the peer goes.
   * @returns whether it ended cleanly (every queued byte written, not aborted).
   */
  function serveLive(
    s: Conn,
    source: LiveSource,
    chunked: boolean,
  ): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let queue: Uint8Array[] = [];
      let queued = 0;
      let writing = false;
      let ending = false;
      let over = false;
      const finish = (clean: boolean) => {
        if (over) return;
        over = true;
        queue = [];
        queued = 0;
        try {
          source.gone();
        } finally {
          resolve(clean);
        }
      };
      const failed = () => finish(false);
      const pump = (b: Uint8Array): void => {
        writing = true;
        s.phase = "write";
        s.since = now;
        s.conn.write(b).then((n) => {
          if (over) return;
          s.since = now;
          if (n < b.byteLength) return pump(b.subarray(n));
          if (queued > 0) {
            const next = concatBytes(queue, queued);
            queue = [];
            queued = 0;
            return pump(next);
          }
          writing = false;
          s.phase = "busy";
          if (ending) finish(true);
        }, failed); // the peer went, or the sweep closed a stalled connection
      };
      const sink: LiveSink = {
        write(raw) {
          if (over || ending) return false;
          if (raw.byteLength === 0) return true;
          const b = chunked ? chunkOnce(raw) : raw;
          if (!writing) {
            pump(b);
            return true;
          }
          queue.push(b);
          queued += b.byteLength;
          return queued <= source.maxQueueBytes;
        },
        end(abort = false) {
          if (over) return;
          ending = true;
          if (abort) finish(false);
          else if (!writing) finish(true);
        },
      };
      s.phase = "busy";
      try {
        source.open(sink);
      } catch (e) {
        onError("live source failed", {
          error: e instanceof Error ? e.message : String(e),
        });
        finish(false);
      }
    });
  }

  async function serveConn(s: Conn): Promise<void> {
    const conn = s.conn;
    states.add(s);
    const remoteAddr = conn.remoteAddr as Deno.NetAddr;
    const info: Http1ConnInfo = { remoteAddr };
    let buf = new Uint8Array(INITIAL_READ_BYTES);
    let start = 0;
    let end = 0;
    /**
     * The read started while a handler ran, to see the peer hang up; the next `fill` takes its
     * bytes (a pipelined request) rather than reading again (one read at a time per socket).
     */
    let watch: { read: Promise<number | null>; into: Uint8Array } | undefined;
    /** The watch's buffer, made on the first watch (one watch at a time: reused). */
    let watchBuf: Uint8Array | undefined;
    /** Reads more bytes into `buf` (compacting or growing it); false at EOF. */
    const fill = async (limit: number): Promise<boolean> => {
      if (watch) {
        const w = watch;
        watch = undefined;
        const n = await w.read.catch(() => null);
        if (n === null) return false;
        if (buf.length - end < n) {
          buf.copyWithin(0, start, end);
          end -= start;
          start = 0;
          if (buf.length - end < n) {
            const grown = new Uint8Array(end + n);
            grown.set(buf.subarray(0, end));
            buf = grown;
          }
        }
        buf.set(w.into.subarray(0, n), end);
        end += n;
        s.buffered = end - start;
        return true;
      }
      if (end === buf.length) {
        if (start > 0) {
          buf.copyWithin(0, start, end);
          end -= start;
          start = 0;
        } else {
          const grown = new Uint8Array(Math.min(buf.length * 2, limit));
          if (grown.length <= buf.length) return true; // caller sees the limit
          grown.set(buf.subarray(0, end));
          buf = grown;
        }
      }
      const n = await conn.read(buf.subarray(end));
      if (n === null) return false;
      end += n;
      s.buffered = end - start;
      if (s.phase === "idle") {
        // The next request's first byte: its deadline starts now, and it may be evicted.
        s.phase = "request";
        s.started = now;
        s.ticket?.mark(ConnState.Pending);
      }
      return true;
    };
    try {
      while (!s.closed) {
        let head: RequestHead | undefined;
        try {
          head = end > start
            ? decodeRequestHead(buf.subarray(start, end), limits)
            : undefined;
        } catch (e) {
          const status = e instanceof Http1FormatError ? e.status : 400;
          onError("bad request", {
            peer: `${remoteAddr.hostname}:${remoteAddr.port}`,
            status,
            error: e instanceof Error ? e.message : String(e),
          });
          await refuse(
            s,
            status,
            e instanceof Error ? e.message : "Bad request",
          );
          break;
        }
        if (!head) {
          if (closing && end === start) break;
          if (end === start) start = end = 0;
          if (end - start >= maxHeadBytes + 4) {
            await refuse(s, 431, "Cannot read request head: too large");
            break;
          }
          if (!await fill(maxHeadBytes + 4)) break;
          continue;
        }
        start += head.headBytes;
        if (!methods.has(head.method)) {
          // RFC 9110 §9.1: methods are case-sensitive; §15.6.2: 501 for one not implemented.
          await refuse(
            s,
            501,
            `Cannot serve method '${
              head.method.slice(0, 32)
            }': not implemented`,
          );
          break;
        }

        let body: Uint8Array | undefined;
        if (head.body !== 0) {
          if (typeof head.body === "number" && head.body > maxBodyBytes) {
            await refuse(s, 413, `Request body over ${maxBodyBytes} bytes`);
            break;
          }
          if (head.expectContinue) await writeAll(s, CONTINUE);
          // The body is read against the same deadline as its head.
          s.phase = "request";
          let ok = true;
          if (head.body === "chunked") {
            for (;;) {
              let r;
              try {
                r = decodeChunkedBody(buf.subarray(start, end), maxBodyBytes);
              } catch (e) {
                const status = e instanceof Http1FormatError ? e.status : 400;
                await refuse(s, status, e instanceof Error ? e.message : "");
                ok = false;
                break;
              }
              if (r) {
                body = r.body;
                start += r.end;
                break;
              }
              if (!await fill(maxBodyBytes + 64 * 1024)) {
                ok = false;
                break;
              }
            }
          } else {
            const need = head.body;
            if (buf.length - start < need) {
              const grown = new Uint8Array(
                Math.max(need, end - start, INITIAL_READ_BYTES),
              );
              grown.set(buf.subarray(start, end));
              end -= start;
              start = 0;
              buf = grown;
            }
            while (end - start < need) {
              if (!await fill(buf.length)) {
                ok = false;
                break;
              }
            }
            if (ok) {
              body = buf.slice(start, start + need);
              start += need;
            }
          }
          if (!ok) break;
        }
        s.phase = "busy";
        s.ticket?.mark(ConnState.Active);
        s.buffered = end - start;

        if (body === undefined && fastPath) {
          let fast = fastPath(head);
          if (fast instanceof Promise) {
            try {
              fast = await fast;
            } catch (e) {
              onError("fast path failed", {
                method: head.method,
                target: head.target.slice(0, 256),
                error: e instanceof Error ? e.message : String(e),
              });
              fast = undefined;
            }
          }
          if (fast) {
            if (Array.isArray(fast)) {
              for (const b of fast as readonly Uint8Array[]) {
                await writeAll(s, b);
              }
            } else {
              try {
                for await (const b of fast as AsyncIterable<Uint8Array>) {
                  await writeAll(s, b);
                  s.phase = "busy";
                }
              } catch {
                break; // the body broke or the peer left: the response cannot complete
              }
            }
            if (!head.keepAlive || closing) break;
            between(s, end - start);
            continue;
          }
        }

        let req: Request;
        const hangUp = new AbortController();
        try {
          req = toRequest(head, hostPart, body, hangUp.signal);
        } catch (e) {
          await refuse(
            s,
            400,
            `Cannot read request: ${e instanceof Error ? e.message : e}`,
          );
          break;
        }
        let res: Response;
        let answered = false;
        try {
          const handled = handler(req, info);
          if (handled instanceof Promise && !watch) {
            // The handler waits (a held playlist request): read meanwhile, so that a peer that
            // hangs up aborts `request.signal` as on Deno.serve, whose server also takes EOF
            // as the peer going away (no half-close).
            const into = watchBuf ??= new Uint8Array(WATCH_READ_BYTES);
            const read = conn.read(into);
            watch = { read, into };
            read.then((n) => n === null, () => true).then((gone) => {
              if (gone && !answered) hangUp.abort();
            });
          }
          res = await handled;
        } catch (e) {
          onError("handler failed", {
            method: head.method,
            target: head.target.slice(0, 256),
            error: e instanceof Error ? e.message : String(e),
          });
          res = new Response("Internal server error", { status: 500 });
        }
        answered = true;
        if (!await writeResponse(s, head, res)) break;
        // Drop a grown buffer once it is empty: a long-lived keep-alive peer holds little.
        if (end === start && buf.length > INITIAL_READ_BYTES) {
          buf = new Uint8Array(INITIAL_READ_BYTES);
          start = end = 0;
        }
        between(s, end - start);
      }
    } catch {
      // Reset by the peer, or closed by the sweep, the guard or shutdown.
    } finally {
      states.delete(s);
      close(s);
      s.ticket?.release();
    }
  }

  /** Answers a connection the guard refused, reads what it sent for a moment, and closes. */
  function refuseConn(conn: Deno.Conn, why: "total" | "per_address"): void {
    if (lingering >= MAX_LINGERING_REFUSALS) {
      try {
        conn.close();
      } catch {
        // already closed
      }
      return;
    }
    lingering++;
    const bytes = why === "per_address"
      ? plainResponse(429, "Too many connections from your address", RETRY_SOON)
      : plainResponse(503, "Server at its connection limit", RETRY_SOON);
    const timer = setTimeout(() => {
      try {
        conn.close(); // ends the drain below
      } catch {
        // already closed
      }
    }, REFUSAL_LINGER_MS);
    void (async () => {
      try {
        await conn.write(bytes);
        await conn.closeWrite();
        const sink = new Uint8Array(4096);
        while (await conn.read(sink) !== null) { /* dropped */ }
      } catch {
        // gone, or closed by the timer
      } finally {
        clearTimeout(timer);
        lingering--;
        try {
          conn.close();
        } catch {
          // closed by the timer
        }
      }
    })();
  }

  const accepting = (async () => {
    let retryMs = ACCEPT_RETRY_MS;
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (closing || e instanceof Deno.errors.BadResource) break;
        // Out of file descriptors (EMFILE) or a connection reset before accept: the listener
        // is fine, so wait a little and go on (as Go's net/http does) rather than stop serving.
        onError("accept failed", {
          error: e instanceof Error ? e.message : String(e),
        });
        await new Promise((r) => setTimeout(r, retryMs));
        retryMs = Math.min(retryMs * 2, 1000);
        continue;
      }
      retryMs = ACCEPT_RETRY_MS;
      if (closing) {
        conn.close();
        continue;
      }
      try {
        (conn as Deno.TcpConn).setNoDelay(true);
      } catch {
        // not a TCP socket
      }
      now = Date.now(); // the deadline of a new connection starts now
      const s: Conn = {
        conn,
        phase: "request",
        since: now,
        started: now,
        buffered: 0,
        closed: false,
        ticket: undefined,
      };
      if (guard) {
        const t = guard.admit(
          (conn.remoteAddr as Deno.NetAddr).hostname,
          () => close(s),
        );
        if (typeof t === "string") {
          refuseConn(conn, t);
          continue;
        }
        s.ticket = t;
      }
      const p = serveConn(s);
      done.add(p);
      p.finally(() => done.delete(p));
    }
  })();

  return {
    addr,
    get connections() {
      return states.size;
    },
    async shutdown(graceMs = 10_000): Promise<void> {
      if (!closing) {
        closing = true;
        try {
          listener.close();
        } catch {
          // already closed
        }
        for (const s of states) if (idleConn(s)) close(s);
      }
      await accepting;
      const force = setTimeout(() => {
        for (const s of states) close(s);
      }, graceMs);
      try {
        while (done.size > 0) await Promise.all([...done]);
      } finally {
        clearTimeout(force);
        clearInterval(sweep);
      }
    },
  };
}

/** {@link chunk}s of shared buffers, so that a buffer every viewer writes is framed once. */
const chunks = new WeakMap<Uint8Array, Uint8Array>();

function chunkOnce(b: Uint8Array): Uint8Array {
  let c = chunks.get(b);
  if (!c) chunks.set(b, c = chunk(b));
  return c;
}

/** One chunk of a chunked body (RFC 9112 §7.1): size line, data, CRLF, in one buffer. */
function chunk(b: Uint8Array): Uint8Array {
  const size = b.byteLength.toString(16);
  const out = new Uint8Array(size.length + 2 + b.byteLength + 2);
  for (let i = 0; i < size.length; i++) out[i] = size.charCodeAt(i);
  out[size.length] = 13;
  out[size.length + 1] = 10;
  out.set(b, size.length + 2);
  out.set(CRLF, out.length - 2);
  return out;
}

/** The `Request` a handler sees for a decoded head. */
function toRequest(
  head: RequestHead,
  hostPart: string,
  body: Uint8Array | undefined,
  signal: AbortSignal,
): Request {
  const headers = new Headers();
  const f = head.fields;
  for (let i = 0; i < f.length; i += 2) headers.append(f[i]!, f[i + 1]!);
  // The codec has checked Host (one, an authority; absent only in HTTP/1.0), so it cannot
  // move the target's path; an empty or absent one is the listener's address (RFC 9112 §3.3).
  const host = head.host || hostPart;
  const t = head.target;
  let url: string;
  if (t.charCodeAt(0) === 47) url = `http://${host}${t}`;
  else if (t === "*") url = `http://${host}/`;
  else url = t; // absolute-form: its own authority wins over Host (RFC 9112 §3.2.2)
  return new Request(url, {
    method: head.method,
    signal,
    headers,
    body: body && head.method !== "GET" && head.method !== "HEAD"
      ? body as Uint8Array<ArrayBuffer>
      : undefined,
  });
}
