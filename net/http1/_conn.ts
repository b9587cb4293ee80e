/**
 * One connection's state, shared by the pieces of the HTTP/1.1 server (module-private): the
 * phase the timeout sweep reads, the read buffer the head and body readers fill, and the one
 * write primitive every response goes through.
 *
 * It is a class with plain fields rather than closure variables so that `connection.ts`,
 * `request_body.ts`, `response_writer.ts` and `live.ts` can each take it as an argument; a
 * field read costs what a closure-context read did, and nothing here allocates per request.
 *
 * @module
 */

import { ConnState, type ConnTicket } from "../conn_guard.ts";

/** First read buffer of a connection; grows (up to the head limit) only for peers that fill it. */
export const INITIAL_READ_BYTES = 2048;

/** What every connection of one server reads from it (and only the server writes). */
export interface ServerState {
  /**
   * A coarse clock (ms since the epoch) for deadlines: set by the timeout sweep and on accept,
   * so that no read or write calls `Date.now()`.
   */
  now: number;
  /** Set once by `shutdown`: finish the response in progress, then close. */
  closing: boolean;
  /** Told about refused requests and handler failures (one line each). */
  readonly onError: (
    message: string,
    context: Record<string, unknown>,
  ) => void;
}

/**
 * Where a connection is, for the timeout sweep. "idle": between requests, nothing of the next
 * read; "request": reading a request (head or body) against its deadline; "busy": handler
 * running; "write": a write in progress.
 */
export type ConnPhase = "idle" | "request" | "busy" | "write";

/** An empty buffer for connections not served yet (refused ones never allocate one). */
const NO_BYTES = new Uint8Array(0);

/** Per-connection state: socket, deadlines, guard slot and read buffer. */
export class Http1Conn {
  readonly conn: Deno.Conn;
  readonly server: ServerState;
  phase: ConnPhase = "request";
  /** When the phase began ("idle"), or the last write progressed ("write"). */
  since: number;
  /** When the request being read began: its deadline is `started + headTimeoutMs`. */
  started: number;
  /** Bytes already read of the next request (an idle keep-alive connection has none). */
  buffered = 0;
  closed = false;
  /** Its slot in the listener's guard, if there is one. */
  ticket: ConnTicket | undefined = undefined;
  /** Read buffer: unread bytes are `buf[start, end)`. Set by `serveConn`. */
  buf: Uint8Array = NO_BYTES;
  start = 0;
  end = 0;
  /**
   * The read started while a handler ran, to see the peer hang up; the next {@link fill}
   * takes its bytes (a pipelined request) rather than reading again (one read at a time per
   * socket).
   */
  watch: { read: Promise<number | null>; into: Uint8Array } | undefined =
    undefined;
  /** The watch's buffer, made on the first watch (one watch at a time: reused). */
  watchBuf: Uint8Array | undefined = undefined;
  /** Bytes written on this connection (the access log's `bytes` is a difference of two). */
  sent = 0;
  /** Set when a request is observed: the next write records {@link firstWriteAt}. */
  timeFirstWrite = false;
  /** `performance.now()` of the current response's first write (when observed). */
  firstWriteAt = 0;
  /** The current response could not be completed (a write failed, a body broke). */
  cut = false;

  constructor(conn: Deno.Conn, server: ServerState) {
    this.conn = conn;
    this.server = server;
    this.since = server.now;
    this.started = server.now;
  }

  /** Closes the socket once; later calls do nothing. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }

  /** Writes all of `b`, in the "write" phase so that a stalled peer is cut by the sweep. */
  async writeAll(b: Uint8Array): Promise<void> {
    this.phase = "write";
    this.since = this.server.now;
    if (this.timeFirstWrite) {
      this.timeFirstWrite = false;
      this.firstWriteAt = performance.now();
    }
    let off = 0;
    while (off < b.length) {
      const n = await this.conn.write(off === 0 ? b : b.subarray(off));
      off += n;
      this.sent += n;
      this.since = this.server.now;
    }
  }

  /** After a response: idle if nothing of the next request is read yet, else reading it. */
  between(buffered: number): void {
    this.buffered = buffered;
    if (buffered === 0) {
      this.phase = "idle";
      this.since = this.server.now;
      this.ticket?.mark(ConnState.Idle);
    } else {
      this.phase = "request";
      this.started = this.server.now;
      this.ticket?.mark(ConnState.Pending);
    }
  }

  /** Reads more bytes into `buf` (compacting it, or growing it up to `limit`); false at EOF. */
  async fill(limit: number): Promise<boolean> {
    if (this.watch) {
      const w = this.watch;
      this.watch = undefined;
      const n = await w.read.catch(() => null);
      if (n === null) return false;
      if (this.buf.length - this.end < n) {
        this.buf.copyWithin(0, this.start, this.end);
        this.end -= this.start;
        this.start = 0;
        if (this.buf.length - this.end < n) {
          const grown = new Uint8Array(this.end + n);
          grown.set(this.buf.subarray(0, this.end));
          this.buf = grown;
        }
      }
      this.buf.set(w.into.subarray(0, n), this.end);
      this.end += n;
      this.buffered = this.end - this.start;
      return true;
    }
    if (this.end === this.buf.length) {
      if (this.start > 0) {
        this.buf.copyWithin(0, this.start, this.end);
        this.end -= this.start;
        this.start = 0;
      } else {
        const grown = new Uint8Array(Math.min(this.buf.length * 2, limit));
        if (grown.length <= this.buf.length) return true; // caller sees the limit
        grown.set(this.buf.subarray(0, this.end));
        this.buf = grown;
      }
    }
    const n = await this.conn.read(this.buf.subarray(this.end));
    if (n === null) return false;
    this.end += n;
    this.buffered = this.end - this.start;
    if (this.phase === "idle") {
      // The next request's first byte: its deadline starts now, and it may be evicted.
      this.phase = "request";
      this.started = this.server.now;
      this.ticket?.mark(ConnState.Pending);
    }
    return true;
  }
}
