/**
 * The HTTP/1.1 server's listener: options compiled once, the accept loop, admission by a
 * {@link ConnGuard}, the timeout sweep and shutdown. Each accepted connection is served by
 * `connection.ts`.
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

import type { LimitsConfig } from "../../config/mod.ts";
import { MAX_HEAD_BYTES } from "../../codec/http1/mod.ts";
import type { MetricsRegistry } from "../../metrics/mod.ts";
import {
  type ConnGuard,
  guardFromLimits,
  registerConnGuard,
} from "../conn_guard.ts";
import { type AcceptSource, listenTls, type TlsServing } from "../tls/mod.ts";
import { Http1Conn } from "./_conn.ts";
import {
  type ConnectionContext,
  type FastPath,
  type Http1Exchange,
  type Http1Handler,
  serveConn,
} from "./connection.ts";
import { plainResponse } from "./response_writer.ts";

/** Options of {@link serveHttp1}. */
export interface Http1ServerOptions {
  readonly hostname: string;
  /** 0 picks a free port. */
  readonly port: number;
  /**
   * Serve HTTPS: TLS with these certificates (reloaded when their files change, chosen by SNI),
   * each connection's handshake bounded by `handshakeTimeoutMs` (see `../tls/listener.ts`).
   * The request deadline below still runs from the TCP accept, handshake included.
   */
  readonly tls?: TlsServing;
  /**
   * Answers a request without a body from prebuilt bytes, or returns `undefined` to let the
   * handler answer it. Runs before any `Request` is built. It may answer later (a promise):
   * resolving to `undefined` still hands the request to the handler.
   */
  readonly fastPath?: FastPath;
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
  /**
   * Told about each answered request (fast path and handler alike) once its response is over:
   * status, bytes, time to first and last byte. For access logs and latency histograms;
   * without it the server times nothing. Requests refused before a head is read (400, 431)
   * or for their method (501) are not observed.
   */
  readonly observe?: (exchange: Http1Exchange) => void;
  /**
   * One observed exchange in this many has its times read (two or three `performance.now()`
   * a request, a tenth of a cache hit's cost); the others are observed untimed. An access log
   * wants every one. @default 1
   */
  readonly timeEvery?: number;
}

/**
 * The options of {@link serveHttp1} that the config's `limits` section sets for one listener:
 * a guard from `limits.http` and `limits.trustedNetworks`, shown in `/metrics` as `listener`,
 * and the request and idle deadlines.
 *
 * @example
 * ```ts
 * import { http1Limits, serveHttp1 } from "./server.ts";
 * import { DEFAULTS } from "../../config/mod.ts";
 * import { MetricsRegistry } from "../../metrics/mod.ts";
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
/** Largest request body read by default (bytes); larger ones get 413. */
const MAX_BODY_BYTES = 1024 * 1024;

const RETRY_SOON: readonly [string, string][] = [["retry-after", "1"]];

/**
 * Serves `handler` on `hostname:port` over HTTP/1.1.
 *
 * @throws {Error} When the address cannot be bound (from `Deno.listen`).
 *
 * @example
 * ```ts
 * import { serveHttp1 } from "./server.ts";
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
  const tls = options.tls;
  const onError = options.onError ?? (() => {});
  const listener: AcceptSource = tls
    ? listenTls({
      hostname: options.hostname,
      port: options.port,
      handshakeTimeoutMs: tls.handshakeTimeoutMs,
      // RFC 7301: say HTTP/1.1, so a client offering h2 first settles at once.
      alpnProtocols: ["http/1.1"],
    }, tls.certificates)
    : Deno.listen({ hostname: options.hostname, port: options.port });
  const addr = listener.addr as Deno.NetAddr;
  const maxHeadBytes = options.maxHeadBytes ?? MAX_HEAD_BYTES;
  const headTimeoutMs = options.headTimeoutMs ?? HEAD_TIMEOUT_MS;
  const idleTimeoutMs = options.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
  const writeTimeoutMs = options.writeTimeoutMs ?? WRITE_TIMEOUT_MS;
  const guard = options.guard;
  const ctx: ConnectionContext = {
    // A coarse clock for the timeout sweep: no Date.now() per read or write.
    now: Date.now(),
    closing: false,
    onError,
    handler,
    fastPath: options.fastPath,
    methods: options.methods ?? HTTP_METHODS,
    maxHeadBytes,
    maxBodyBytes: options.maxBodyBytes ?? MAX_BODY_BYTES,
    headLimits: { maxHeadBytes },
    scheme: tls ? "https" : "http",
    observe: options.observe,
    timeEvery: Math.max(1, Math.floor(options.timeEvery ?? 1)),
    untilTimed: 1,
    hostPart: addr.hostname.includes(":")
      ? `[${addr.hostname}]:${addr.port}`
      : `${addr.hostname}:${addr.port}`,
    conns: new Set(),
  };
  const conns = ctx.conns;
  const done = new Set<Promise<void>>();
  let lingering = 0;
  // Deadlines are met within a quarter of the shortest one (at most 1 s late).
  const sweepMs = Math.min(
    1000,
    Math.max(25, Math.floor(Math.min(headTimeoutMs, idleTimeoutMs) / 4)),
  );
  const sweep = setInterval(() => {
    const now = ctx.now = Date.now();
    for (const c of conns) {
      if (c.phase === "request") {
        if (now - c.started > headTimeoutMs) timedOut(c);
        else if (ctx.closing && c.buffered === 0) c.close();
      } else if (c.phase === "idle") {
        if (ctx.closing || now - c.since > idleTimeoutMs) c.close();
      } else if (c.phase === "write" && now - c.since > writeTimeoutMs) {
        c.close();
      }
    }
  }, sweepMs);
  Deno.unrefTimer(sweep);

  function idleConn(c: Http1Conn): boolean {
    return (c.phase === "idle" || c.phase === "request") && c.buffered === 0;
  }

  /** The request deadline passed: a request begun hears 408 (RFC 9110 §15.5.9), then close. */
  function timedOut(c: Http1Conn): void {
    if (c.closed) return;
    if (c.buffered === 0) return c.close();
    c.phase = "busy"; // the sweep does not come back to it
    const t = setTimeout(() => c.close(), REFUSAL_LINGER_MS);
    c.conn.write(plainResponse(408, "Request not received in time")).catch(
      () => {},
    ).finally(() => {
      clearTimeout(t);
      c.close();
    });
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
        if (ctx.closing || e instanceof Deno.errors.BadResource) break;
        // Out of file descriptors (EMFILE) or a connection reset before accept: the listener
        // is fine, so wait a little and go on (as Go's net/http does) rather than stop serving.
        ctx.onError("accept failed", {
          error: e instanceof Error ? e.message : String(e),
        });
        await new Promise((r) => setTimeout(r, retryMs));
        retryMs = Math.min(retryMs * 2, 1000);
        continue;
      }
      retryMs = ACCEPT_RETRY_MS;
      if (ctx.closing) {
        conn.close();
        continue;
      }
      try {
        (conn as Deno.TcpConn).setNoDelay(true);
      } catch {
        // not a TCP socket
      }
      ctx.now = Date.now(); // the deadline of a new connection starts now
      const c = new Http1Conn(conn, ctx);
      if (guard) {
        const t = guard.admit(
          (conn.remoteAddr as Deno.NetAddr).hostname,
          () => c.close(),
        );
        if (typeof t === "string") {
          refuseConn(conn, t);
          continue;
        }
        c.ticket = t;
      }
      const p = serveConn(ctx, c);
      done.add(p);
      p.finally(() => done.delete(p));
    }
  })();

  return {
    addr,
    get connections() {
      return conns.size;
    },
    async shutdown(graceMs = 10_000): Promise<void> {
      if (!ctx.closing) {
        ctx.closing = true;
        try {
          listener.close();
        } catch {
          // already closed
        }
        for (const c of conns) if (idleConn(c)) c.close();
      }
      await accepting;
      const force = setTimeout(() => {
        for (const c of conns) c.close();
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
