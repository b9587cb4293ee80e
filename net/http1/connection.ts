/**
 * One HTTP/1.1 connection's read loop: request heads decoded straight from the socket's bytes,
 * pipelined requests answered in order, the fast path tried before any `Request` exists, the
 * handler otherwise, and a watch read while a handler waits so that a peer that hangs up
 * aborts `request.signal`.
 *
 * A malformed head gets 400/413/414/417/431/501/505 and the connection closes; so does a method
 * outside the server's set (501: methods are case-sensitive, RFC 9110 §9.1, and `fetch`'s
 * `Request` would turn `get` into `GET`).
 *
 * @module
 */

import {
  decodeRequestHead,
  Http1FormatError,
  type RequestHead,
  type RequestHeadLimits,
} from "../../codec/http1/mod.ts";
import { ConnState } from "../conn_guard.ts";
import {
  type Http1Conn,
  INITIAL_READ_BYTES,
  type ServerState,
} from "./_conn.ts";
import { readRequestBody, toRequest } from "./request_body.ts";
import { refuse, writeResponse } from "./response_writer.ts";

/**
 * What the fast path answers: a whole response as buffers written to the socket in order, or,
 * for a body still arriving, an async iterable of them. The first buffer starts with the head;
 * an iterable's body must be framed by its Content-Length. An iterable that throws ends the
 * connection (the peer sees a body shorter than its length, never a wrong one).
 */
export type FastAnswer = readonly Uint8Array[] | AsyncIterable<Uint8Array>;

/**
 * Answers a request without a body from prebuilt bytes, or returns `undefined` to let the
 * handler answer it. It may answer later (a promise): resolving to `undefined` still hands the
 * request to the handler. It may name what it answered in `exchange.label` (the edge: `hit`,
 * `collapsed`) for the server's observer.
 */
export type FastPath = (
  head: RequestHead,
  exchange: Http1Exchange,
) => FastAnswer | Promise<FastAnswer | undefined> | undefined;

/**
 * One answered request as the server saw it, handed to the server's `observe` once its
 * response is over (written whole, or cut): for access logs and latency histograms. Times are
 * `performance.now()` values, read only for a {@link Http1Exchange.timed} exchange (the
 * server's `timeEvery`); {@link Http1Exchange.startEpochMs} gives the wall clock.
 */
export class Http1Exchange {
  readonly head: RequestHead;
  readonly remoteAddr: Deno.NetAddr;
  /** Its times were read (`startMs`, `firstByteMs`, `endMs`); all 0 otherwise. */
  readonly timed: boolean;
  /** When the request head was decoded. */
  readonly startMs: number;
  /** The first byte of the response written; 0 when none was. */
  firstByteMs = 0;
  /** The last byte written (or the response cut). */
  endMs = 0;
  status = 0;
  /** Bytes written for this response, head included. */
  bytes = 0;
  /** Answered by the fast path (prebuilt bytes) rather than the handler. */
  fast = false;
  /** What the fast path says it answered (`hit`, `collapsed`); `undefined` otherwise. */
  label: string | undefined = undefined;
  /** The handler's response (its headers: `Cache-Status`…); `undefined` on the fast path. */
  response: Response | undefined = undefined;
  /** False when the response was cut (a write failed, the body broke, the peer left). */
  completed = true;

  /** @param startMs `performance.now()` at the head, or `undefined` for an untimed one. */
  constructor(
    head: RequestHead,
    remoteAddr: Deno.NetAddr,
    startMs: number | undefined,
  ) {
    this.head = head;
    this.remoteAddr = remoteAddr;
    this.timed = startMs !== undefined;
    this.startMs = startMs ?? 0;
  }

  /** When the request head was decoded (untimed: now), as epoch milliseconds. */
  get startEpochMs(): number {
    return this.timed ? performance.timeOrigin + this.startMs : Date.now();
  }
}

/** Handed to the fast path when nobody observes (its label is never read). */
const UNOBSERVED = new Http1Exchange(
  {
    method: "GET",
    target: "/",
    minorVersion: 1,
    fields: [],
    host: "",
    headBytes: 0,
    body: 0,
    keepAlive: true,
    expectContinue: false,
  },
  { transport: "tcp", hostname: "", port: 0 },
  undefined,
);

/** `NNN` of a prebuilt `HTTP/1.1 NNN …` head (the fast path's answers). */
function statusOfHead(b: Uint8Array | undefined): number {
  if (!b || b.length < 12) return 0;
  return (b[9]! - 48) * 100 + (b[10]! - 48) * 10 + (b[11]! - 48);
}

/** Connection info handed to the handler (the shape of Deno.serve's `ServeHandlerInfo`). */
export interface Http1ConnInfo {
  readonly remoteAddr: Deno.NetAddr;
}

/** A fetch-style handler, as for Deno.serve. */
export type Http1Handler = (
  request: Request,
  info: Http1ConnInfo,
) => Response | Promise<Response>;

/** What a connection needs from its server: settings compiled once, and the shared state. */
export interface ConnectionContext extends ServerState {
  readonly handler: Http1Handler;
  readonly fastPath: FastPath | undefined;
  readonly methods: ReadonlySet<string>;
  readonly maxHeadBytes: number;
  readonly maxBodyBytes: number;
  /** `decodeRequestHead`'s limits, built once. */
  readonly headLimits: RequestHeadLimits;
  /** The listener's `host:port`, for an HTTP/1.0 request without Host. */
  readonly hostPart: string;
  /** The scheme of request URLs: `https` on a TLS listener. */
  readonly scheme: "http" | "https";
  /** Open connections: the timeout sweep and shutdown walk it. */
  readonly conns: Set<Http1Conn>;
  /** Told about each answered request once its response is over. */
  readonly observe: ((exchange: Http1Exchange) => void) | undefined;
  /** One observed exchange in this many is timed. */
  readonly timeEvery: number;
  /** Observed exchanges left until the next timed one (shared by the server's connections). */
  untilTimed: number;
}

/** Buffer of the read that watches for a hang-up while a handler runs. */
const WATCH_READ_BYTES = 1024;

/**
 * Serves requests on `c` until it closes: the peer goes, a request is refused, the sweep, the
 * guard or shutdown closes it. Never rejects.
 */
export async function serveConn(
  ctx: ConnectionContext,
  c: Http1Conn,
): Promise<void> {
  const conn = c.conn;
  ctx.conns.add(c);
  const remoteAddr = conn.remoteAddr as Deno.NetAddr;
  const info: Http1ConnInfo = { remoteAddr };
  const { fastPath, maxHeadBytes, onError, observe } = ctx;
  let sentBefore = 0;
  /** Hands an exchange to the observer; an observer's bug never takes the connection. */
  const done = (x: Http1Exchange) => {
    if (x.timed) {
      x.endMs = performance.now();
      x.firstByteMs = c.firstWriteAt;
    }
    x.bytes = c.sent - sentBefore;
    x.completed = !c.cut;
    try {
      observe!(x);
    } catch (e) {
      onError("observer failed", {
        error: e instanceof Error ? e.message : String(e),
      });
    }
  };
  c.buf = new Uint8Array(INITIAL_READ_BYTES);
  try {
    while (!c.closed) {
      let head: RequestHead | undefined;
      try {
        head = c.end > c.start
          ? decodeRequestHead(c.buf.subarray(c.start, c.end), ctx.headLimits)
          : undefined;
      } catch (e) {
        const status = e instanceof Http1FormatError ? e.status : 400;
        onError("bad request", {
          peer: `${remoteAddr.hostname}:${remoteAddr.port}`,
          status,
          error: e instanceof Error ? e.message : String(e),
        });
        await refuse(c, status, e instanceof Error ? e.message : "Bad request");
        break;
      }
      if (!head) {
        if (ctx.closing && c.end === c.start) break;
        if (c.end === c.start) c.start = c.end = 0;
        if (c.end - c.start >= maxHeadBytes + 4) {
          await refuse(c, 431, "Cannot read request head: too large");
          break;
        }
        if (!await c.fill(maxHeadBytes + 4)) break;
        continue;
      }
      c.start += head.headBytes;
      if (!ctx.methods.has(head.method)) {
        // RFC 9110 §9.1: methods are case-sensitive; §15.6.2: 501 for one not implemented.
        await refuse(
          c,
          501,
          `Cannot serve method '${head.method.slice(0, 32)}': not implemented`,
        );
        break;
      }

      let body: Uint8Array | undefined;
      if (head.body !== 0) {
        body = await readRequestBody(c, head, ctx.maxBodyBytes);
        if (body === undefined) break;
      }
      c.phase = "busy";
      c.ticket?.mark(ConnState.Active);
      c.buffered = c.end - c.start;
      let x = UNOBSERVED;
      if (observe) {
        const timed = --ctx.untilTimed <= 0;
        if (timed) ctx.untilTimed = ctx.timeEvery;
        x = new Http1Exchange(
          head,
          remoteAddr,
          timed ? performance.now() : undefined,
        );
        sentBefore = c.sent;
        c.timeFirstWrite = timed;
        c.firstWriteAt = 0;
        c.cut = false;
      }

      if (body === undefined && fastPath) {
        let fast = fastPath(head, x);
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
          x.fast = true;
          if (Array.isArray(fast)) {
            const parts = fast as readonly Uint8Array[];
            if (observe) {
              // Written at once: the first byte goes out now (one clock read fewer a hit).
              x.status = statusOfHead(parts[0]);
              c.timeFirstWrite = false;
              c.firstWriteAt = x.startMs;
            }
            try {
              for (const b of parts) await c.writeAll(b);
            } catch (e) {
              c.cut = true;
              if (observe) done(x);
              throw e;
            }
          } else {
            let first = true;
            try {
              for await (const b of fast as AsyncIterable<Uint8Array>) {
                if (first && observe) x.status = statusOfHead(b);
                first = false;
                await c.writeAll(b);
                c.phase = "busy";
              }
            } catch {
              c.cut = true;
              if (observe) done(x);
              break; // the body broke or the peer left: the response cannot complete
            }
          }
          if (observe) done(x);
          if (!head.keepAlive || ctx.closing) break;
          c.between(c.end - c.start);
          continue;
        }
      }

      let req: Request;
      const hangUp = new AbortController();
      try {
        req = toRequest(head, ctx.hostPart, body, hangUp.signal, ctx.scheme);
      } catch (e) {
        await refuse(
          c,
          400,
          `Cannot read request: ${e instanceof Error ? e.message : e}`,
        );
        break;
      }
      let res: Response;
      let answered = false;
      try {
        const handled = ctx.handler(req, info);
        if (handled instanceof Promise && !c.watch) {
          // The handler waits (a held playlist request): read meanwhile, so that a peer that
          // hangs up aborts `request.signal` as on Deno.serve, whose server also takes EOF
          // as the peer going away (no half-close).
          const into = c.watchBuf ??= new Uint8Array(WATCH_READ_BYTES);
          const read = conn.read(into);
          c.watch = { read, into };
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
      let keep: boolean;
      if (observe) {
        x.status = res.status;
        x.response = res;
        try {
          keep = await writeResponse(c, head, res);
        } catch (e) {
          c.cut = true;
          done(x);
          throw e;
        }
        done(x);
      } else keep = await writeResponse(c, head, res);
      if (!keep) break;
      // Drop a grown buffer once it is empty: a long-lived keep-alive peer holds little.
      if (c.end === c.start && c.buf.length > INITIAL_READ_BYTES) {
        c.buf = new Uint8Array(INITIAL_READ_BYTES);
        c.start = c.end = 0;
      }
      c.between(c.end - c.start);
    }
  } catch {
    // Reset by the peer, or closed by the sweep, the guard or shutdown.
  } finally {
    ctx.conns.delete(c);
    c.close();
    c.ticket?.release();
  }
}
