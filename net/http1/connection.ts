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
 * request to the handler.
 */
export type FastPath = (
  head: RequestHead,
) => FastAnswer | Promise<FastAnswer | undefined> | undefined;

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
  const { fastPath, maxHeadBytes, onError } = ctx;
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
            for (const b of fast as readonly Uint8Array[]) await c.writeAll(b);
          } else {
            try {
              for await (const b of fast as AsyncIterable<Uint8Array>) {
                await c.writeAll(b);
                c.phase = "busy";
              }
            } catch {
              break; // the body broke or the peer left: the response cannot complete
            }
          }
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
      if (!await writeResponse(c, head, res)) break;
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
