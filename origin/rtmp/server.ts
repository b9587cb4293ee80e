/**
 * The RTMP listener: accepts TCP connections, runs one {@link RtmpServerSession} per
 * connection, and wires publishers and players to the stream registry.
 *
 * Each connection is its own failure domain: a protocol error, a slow player or a dead socket
 * closes that connection only, with one log line saying why; the hub and its other viewers go
 * on (STYLE B6).
 *
 * Slow and greedy clients: the handshake must be done within `handshakeTimeoutMs` of accept
 * and a publish or play started within {@link IDLE_PERIODS} of those periods, deadlines counted
 * from accept and never restarted by a byte, so a handshake or a chunk header trickled a byte
 * at a time is cut like a silent socket. Connections are admitted by a {@link ConnGuard} (a cap
 * per listener and per client address, trusted networks exempt): at the cap, the oldest
 * connection that has not yet started publishing or playing is closed for the newcomer, then
 * the oldest one that has stopped; publishers and players never are. Publishes past
 * `maxStreams` live streams are refused with `NetStream.Publish.Rejected`.
 *
 * @module
 */

import { concatBytes } from "../../codec/bytes/concat.ts";
import {
  encodeRtmpMediaTag,
  encodeRtmpMessage,
  encodeSetChunkSize,
  RTMP_DEFAULT_CHUNK_SIZE,
  RTMP_MEDIA_STREAM_ID,
  RtmpChunkReader,
  RtmpProtocolError,
} from "../../codec/rtmp/mod.ts";
import {
  ConnGuard,
  type ConnRefusal,
  ConnState,
  type ConnTicket,
} from "../../net/mod.ts";
import type { Logger } from "../log.ts";
import type { Hub, Viewer } from "../stream/hub.ts";
import type { MediaFile } from "../vod/media_file.ts";
import { VodRtmpPlayer } from "../vod/rtmp_play.ts";
import { StreamBusyError, type StreamRegistry } from "../stream/registry.ts";
import {
  type RtmpParams,
  RtmpServerSession,
  type RtmpSessionEvent,
} from "./session.ts";

/** How long a client has to finish the handshake before we close, milliseconds. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * Watchdog periods (of `handshakeTimeoutMs` each) a connection may stay idle: connected without
 * publishing or playing, or publishing without sending a byte.
 */
export const IDLE_PERIODS = 3;

/** How long we keep flushing a final status message before closing anyway, milliseconds. */
export const CLOSE_FLUSH_TIMEOUT_MS = 2_000;

/** Bytes read from the socket at a time, once the peer has shown it sends much (a publisher). */
export const READ_BUFFER_BYTES = 64 * 1024;

/**
 * The first read buffer of every connection. Players send almost nothing after the handshake, so
 * thousands of them would otherwise hold 64 KiB each for nothing; a read that fills this buffer
 * (a publisher) grows it to {@link READ_BUFFER_BYTES}.
 */
export const INITIAL_READ_BUFFER_BYTES = 4 * 1024;

/** Concurrent connections of a server started without a guard (see {@link RtmpServerDeps.guard}). */
export const MAX_CONNECTIONS = 10_000;

/** Refused connections are logged at most this often (with a count), so a flood is one line. */
export const REFUSAL_LOG_INTERVAL_MS = 10_000;

/** Stream and app names we accept: no path separators, no control characters. */
const NAME_PATTERN = /^[A-Za-z0-9_.\-]{1,128}$/;

/** Options of {@link startRtmpServer}; the origin config's `rtmp` section. */
export interface RtmpServerOptions {
  /** Address to bind, e.g. "0.0.0.0" or "127.0.0.1". */
  readonly hostname: string;
  /** Port to bind; 0 picks a free one (tests). */
  readonly port: number;
  /** Our outgoing chunk size, bytes; the same for every player so media bytes are shared. */
  readonly outChunkSize: number;
  /** Bytes a player may have queued before we drop it as too slow. */
  readonly maxViewerQueueBytes: number;
  /** @default HANDSHAKE_TIMEOUT_MS */
  readonly handshakeTimeoutMs?: number;
  /** Without a guard: connections open at once. @default MAX_CONNECTIONS */
  readonly maxConnections?: number;
  /**
   * Live streams (every publish in the registry, virtual-live channels included) past which a
   * publish is refused with `NetStream.Publish.Rejected`. @default Infinity
   */
  readonly maxStreams?: number;
}

/** What {@link startRtmpServer} needs from the origin. */
export interface RtmpServerDeps {
  readonly registry: StreamRegistry;
  /** The component logger, already scoped (the origin passes `log.child("rtmp")`). */
  readonly log: Logger;
  /**
   * Access control (publish keys, tokens, hooks), asked after the name check. Without it every
   * well-named request is allowed.
   */
  readonly access?: RtmpAccessControl | undefined;
  /**
   * Admission of connections (see net/conn_guard.ts). Default: one capped at
   * `maxConnections`, with no per-address cap.
   */
  readonly guard?: ConnGuard | undefined;
  /**
   * The media libraries, for RTMP VOD play (`rtmp://host/vod`, `play("mp4:film.mp4")`): a play
   * of an app that names a library plays a file instead of a live stream.
   */
  readonly vod?: RtmpVodSource | undefined;
}

/** What RTMP VOD play needs from the VOD service. */
export interface RtmpVodSource {
  /** True when `app` is a library's app (`vod` for the `/vod/` prefix). */
  ownsApp(app: string): boolean;
  /**
   * The file a play names (`mp4:a/b.mp4`, `a/b.mp4`, or without the extension), indexed;
   * `undefined` when there is none.
   * @throws When the file is not valid media (the player gets NetStream.Play.Failed).
   */
  rtmpMedia(app: string, name: string): Promise<MediaFile | undefined>;
}

/** Bytes queued for a VOD player's socket before the player waits for it to drain. */
const VOD_QUEUE_BYTES = 512 * 1024;
/** Media a VOD player gets ahead of the clock at start and after a seek (ms). */
const VOD_BURST_MS = 3000;

/** Why a publish or play was refused, as counted in {@link RtmpServer.refusals}. */
export type RtmpRefusalReason =
  | "bad_name"
  | "denied"
  | "busy"
  | "max_streams"
  | "not_found"
  | "one_per_connection";

/** A running RTMP server. */
export interface RtmpServer {
  /** The bound port (useful with `port: 0`). */
  readonly port: number;
  /** Refused publishes and plays so far, by action and reason (for `/metrics`). */
  refusals(): Iterable<
    [action: "publish" | "play", reason: RtmpRefusalReason, count: number]
  >;
  /** Stops accepting, closes every connection and waits for them. */
  close(): Promise<void>;
}

/** A publish or play request as the access decision sees it. */
export interface RtmpAccessRequest {
  readonly action: "publish" | "play";
  readonly app: string;
  readonly name: string;
  readonly params: RtmpParams;
  readonly peer: string;
}

/** The answer: allowed, or refused with the `onStatus` code and description to send. */
export type RtmpAccessDecision =
  | {
    readonly allowed: true;
    /** The access session to end when the publish or play ends. */
    readonly session?: RtmpAccessSession;
  }
  | {
    readonly allowed: false;
    readonly code: string;
    readonly description: string;
  };

/** An allowed publish or play, as access control tracks it. */
export interface RtmpAccessSession {
  /** Calls `onRevoke` if the session's token is revoked while it is open. */
  watch(onRevoke: () => void): void;
  /** The publish or play ended (on_unpublish / on_stop); called once. */
  end(): void;
}

/** Access control as the RTMP server sees it (origin/auth adapts its gate to this). */
export interface RtmpAccessControl {
  /**
   * Decides a request that passed the name check. While it runs the connection reads no
   * further input. A rejection closes the connection.
   */
  authorize(request: RtmpAccessRequest): Promise<RtmpAccessDecision>;
}

/**
 * The first check of every publish and play request: app and stream names must be safe
 * registry keys. Keys, tokens and hooks follow in the server's {@link RtmpAccessControl}.
 *
 * @param request What the client asked for.
 * @returns The decision.
 *
 * @example
 * ```ts
 * import { authorizeRtmpAccess } from "./server.ts";
 * import assert from "node:assert/strict";
 * const base = { action: "publish", app: "live", params: {}, peer: "127.0.0.1:1" } as const;
 * assert.equal(authorizeRtmpAccess({ ...base, name: "demo" }).allowed, true);
 * assert.equal(authorizeRtmpAccess({ ...base, name: "../etc" }).allowed, false);
 * ```
 */
export function authorizeRtmpAccess(
  request: RtmpAccessRequest,
): RtmpAccessDecision {
  const badName = request.action === "publish"
    ? "NetStream.Publish.BadName"
    : "NetStream.Play.StreamNotFound";
  for (
    const [what, value] of [["app", request.app], [
      "stream",
      request.name,
    ]] as const
  ) {
    if (!NAME_PATTERN.test(value) || value === "." || value === "..") {
      return {
        allowed: false,
        code: badName,
        description:
          `Invalid ${what} name: expected 1-128 of A-Z a-z 0-9 _ . -`,
      };
    }
  }
  return { allowed: true };
}

/**
 * Starts the RTMP server.
 *
 * @param options Listener options.
 * @param deps Registry and logger.
 * @returns The running server.
 * @throws {Deno.errors.AddrInUse} When the port is taken (and other listen errors).
 */
export function startRtmpServer(
  options: RtmpServerOptions,
  deps: RtmpServerDeps,
): Promise<RtmpServer> {
  // Start-up errors (bad options, port in use) reject rather than throw, as callers await.
  try {
    return Promise.resolve(listen(options, deps));
  } catch (err) {
    return Promise.reject(err);
  }
}

function listen(options: RtmpServerOptions, deps: RtmpServerDeps): RtmpServer {
  // Validate eagerly (STYLE B6): a bad chunk size fails at start-up, not on the first player.
  encodeSetChunkSize(options.outChunkSize);
  if (!(options.maxViewerQueueBytes > 0)) {
    throw new RangeError(
      `Invalid RTMP option 'maxViewerQueueBytes': got ${options.maxViewerQueueBytes}, expected a positive number`,
    );
  }
  const log = deps.log;
  const listener = Deno.listen({
    hostname: options.hostname,
    port: options.port,
    transport: "tcp",
  });
  const port = (listener.addr as Deno.NetAddr).port;
  const connections = new Set<RtmpConnection>();
  const tasks = new Set<Promise<void>>();
  const guard = deps.guard ?? new ConnGuard({
    maxConnections: options.maxConnections ?? MAX_CONNECTIONS,
    maxPerAddress: 0,
    trusted: [],
  });
  const refusals = new Map<string, number>();
  const shared: SharedState = {
    options,
    registry: deps.registry,
    log,
    access: deps.access,
    vod: deps.vod,
    maxStreams: options.maxStreams ?? Infinity,
    refused: (action, reason) => {
      const k = `${action} ${reason}`;
      refusals.set(k, (refusals.get(k) ?? 0) + 1);
    },
  };
  const refusedLog = refusalLogger(log);
  let nextId = 1;
  let closing = false;

  const acceptLoop = (async () => {
    let retryMs = 5;
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (err) {
        if (closing || err instanceof Deno.errors.BadResource) break;
        // Out of file descriptors or a connection reset before accept: keep listening.
        log.warn("accept failed", { error: err });
        await new Promise((r) => setTimeout(r, retryMs));
        retryMs = Math.min(retryMs * 2, 1000);
        continue;
      }
      retryMs = 5;
      if (closing) {
        conn.close();
        break;
      }
      // The guard may evict this connection later, once it exists.
      const self: { c?: RtmpConnection } = {};
      const ticket = guard.admit(
        (conn.remoteAddr as Deno.NetAddr).hostname,
        () =>
          self.c?.close("evicted: listener full, not publishing or playing"),
      );
      if (typeof ticket === "string") {
        refusedLog(peerOf(conn), ticket);
        conn.close();
        continue;
      }
      const c = self.c = new RtmpConnection(conn, nextId++, shared, ticket);
      connections.add(c);
      const task = c.run().finally(() => {
        connections.delete(c);
        tasks.delete(task);
      });
      tasks.add(task);
    }
  })();

  log.info("listening", { hostname: options.hostname, port });
  return {
    port,
    *refusals() {
      for (const [k, n] of refusals) {
        const [action, reason] = k.split(" ") as [
          "publish" | "play",
          RtmpRefusalReason,
        ];
        yield [action, reason, n];
      }
    },
    async close() {
      if (closing) return;
      closing = true;
      listener.close();
      await acceptLoop;
      for (const c of connections) c.close("server shutting down");
      await Promise.all([...tasks]);
    },
  };
}

function peerOf(conn: Deno.Conn): string {
  const a = conn.remoteAddr as Deno.NetAddr;
  return `${a.hostname}:${a.port}`;
}

/**
 * Logs refused connections: the first at once, then at most one line per
 * {@link REFUSAL_LOG_INTERVAL_MS} with how many were refused since (a flood is one line).
 */
function refusalLogger(
  log: Logger,
): (peer: string, reason: ConnRefusal) => void {
  let last = -Infinity;
  let since = 0;
  return (peer, reason) => {
    since++;
    const t = Date.now();
    if (t - last < REFUSAL_LOG_INTERVAL_MS) return;
    log.warn("connections refused", {
      reason: reason === "per_address"
        ? "the address holds its share (limits.rtmp.maxConnectionsPerAddress)"
        : "listener full of publishers and players (limits.rtmp.maxConnections)",
      lastPeer: peer,
      count: since,
    });
    last = t;
    since = 0;
  };
}

/** What every connection of one server shares. */
interface SharedState {
  readonly options: RtmpServerOptions;
  readonly registry: StreamRegistry;
  readonly log: Logger;
  readonly access: RtmpAccessControl | undefined;
  readonly vod: RtmpVodSource | undefined;
  readonly maxStreams: number;
  readonly refused: (
    action: "publish" | "play",
    reason: RtmpRefusalReason,
  ) => void;
}

/**
 * One write loop per socket over a byte-bounded queue. Control output is never refused; viewer
 * output is refused once the queue passes the cap, so a slow player cannot hold memory.
 */
class SocketWriter {
  #conn: Deno.Conn;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #writing = false;
  #closed = false;
  #onError: (err: unknown) => void;
  #idle: Array<() => void> = [];

  constructor(conn: Deno.Conn, onError: (err: unknown) => void) {
    this.#conn = conn;
    this.#onError = onError;
  }

  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** Queues bytes; false when closed or when `capBytes` would be passed. */
  enqueue(bytes: Uint8Array, capBytes = Infinity): boolean {
    if (this.#closed) return false;
    if (this.#queuedBytes + bytes.byteLength > capBytes) return false;
    this.#queue.push(bytes);
    this.#queuedBytes += bytes.byteLength;
    if (!this.#writing) void this.#loop();
    return true;
  }

  /** Resolves once everything queued has been written (or the writer closed). */
  drained(): Promise<void> {
    if (!this.#writing || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  close(): void {
    this.#closed = true;
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#wake();
  }

  #wake(): void {
    const idle = this.#idle;
    this.#idle = [];
    for (const resolve of idle) resolve();
  }

  async #loop(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        // Coalesce what is queued into one write: the syscall count, not the bytes, is the cost.
        const parts = this.#queue;
        this.#queue = [];
        const bytes = concatBytes(parts);
        let off = 0;
        while (off < bytes.byteLength) {
          off += await this.#conn.write(bytes.subarray(off));
        }
        this.#queuedBytes -= bytes.byteLength;
      }
    } catch (err) {
      if (!this.#closed) this.#onError(err);
    } finally {
      this.#writing = false;
      this.#wake();
    }
  }
}

/**
 * Re-encodes shared media bytes (message stream id 1) for a player that asked to play on
 * another stream id. Rare (every client we know plays on the first createStream), so it is the
 * slow path: parse our own chunks back and re-chunk them.
 */
function createStreamIdRewriter(
  streamId: number,
  chunkSize: number,
): (bytes: Uint8Array) => Uint8Array {
  const reader = new RtmpChunkReader();
  reader.push(
    encodeRtmpMessage(encodeSetChunkSize(chunkSize), RTMP_DEFAULT_CHUNK_SIZE),
  );
  return (bytes) =>
    concatBytes(
      reader.push(bytes).map((m) =>
        encodeRtmpMessage({ ...m, streamId }, chunkSize)
      ),
    );
}

interface Publishing {
  readonly hub: Hub;
  readonly streamId: number;
}

interface Playing {
  readonly hub: Hub;
  readonly viewer: Viewer;
  readonly streamId: number;
}

/** One client connection: socket, session, and its role (publisher or player). */
class RtmpConnection {
  readonly #conn: Deno.Conn;
  readonly #id: number;
  readonly #peer: string;
  readonly #options: RtmpServerOptions;
  readonly #registry: StreamRegistry;
  readonly #log: Logger;
  readonly #session: RtmpServerSession;
  readonly #writer: SocketWriter;
  readonly #startedMs = Date.now();
  #closed = false;
  #closing = false;
  #closeReason = "";
  #closeCode: string | undefined;
  #closeError: unknown;
  #stream = "";
  #publishing: Publishing | undefined;
  #bytesRead = 0;
  #playing: Playing | undefined;
  #vodPlayer:
    | { readonly player: VodRtmpPlayer; readonly streamId: number }
    | undefined;
  readonly #access: RtmpAccessControl | undefined;
  readonly #shared: SharedState;
  readonly #ticket: ConnTicket;
  /** An access decision in flight; input is not read until it settles. */
  #pending: Promise<void> | undefined;
  #accessSession: RtmpAccessSession | undefined;

  constructor(
    conn: Deno.Conn,
    id: number,
    shared: SharedState,
    ticket: ConnTicket,
  ) {
    this.#shared = shared;
    this.#ticket = ticket;
    this.#access = shared.access;
    this.#conn = conn;
    this.#id = id;
    this.#peer = peerOf(conn);
    this.#options = shared.options;
    this.#registry = shared.registry;
    this.#log = shared.log;
    this.#writer = new SocketWriter(
      conn,
      (err) =>
        // A player that hangs up mid-write is an ordinary end, not a server problem.
        err instanceof Deno.errors.BrokenPipe ||
          err instanceof Deno.errors.ConnectionReset
          ? this.close("peer closed the connection")
          : this.close("write failed", err),
    );
    this.#session = new RtmpServerSession({
      outChunkSize: this.#options.outChunkSize,
      onEvent: (e) => this.#onEvent(e),
    });
  }

  /** Closes the socket now; idempotent. The first reason is the one logged. */
  close(reason: string, error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeReason = reason;
    this.#closeError = error;
    if (error instanceof RtmpProtocolError) this.#closeCode = error.code;
    this.#writer.close();
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer.
    }
  }

  /** Flushes what is queued (bounded by CLOSE_FLUSH_TIMEOUT_MS), then closes. */
  #closeAfterFlush(reason: string): void {
    if (this.#closing || this.#closed) return;
    this.#closing = true;
    const timer = setTimeout(() => this.close(reason), CLOSE_FLUSH_TIMEOUT_MS);
    void this.#writer.drained().then(() => {
      clearTimeout(timer);
      this.close(reason);
    });
  }

  #flushSession(): void {
    const out = this.#session.takeOutput();
    if (out.length > 0) this.#writer.enqueue(concatBytes(out));
  }

  async run(): Promise<void> {
    const handshakeTimeoutMs = this.#options.handshakeTimeoutMs ??
      HANDSHAKE_TIMEOUT_MS;
    // One watchdog per connection, run every handshakeTimeoutMs: a client must finish the
    // handshake within one period of accept, start publishing or playing within IDLE_PERIODS
    // (bytes sent meanwhile change nothing: only an access decision in flight, bounded by the
    // hook timeout, is not idle), and a publisher that sends nothing for IDLE_PERIODS is
    // dropped (its viewers see the stream end); so is a connection idle after its role ended.
    let idlePeriods = 0;
    let bytesAtLastCheck = 0;
    const timer = setInterval(() => {
      if (!this.#session.handshakeDone) {
        this.close(`handshake not finished in ${handshakeTimeoutMs} ms`);
        return;
      }
      const active = this.#playing !== undefined ||
        this.#vodPlayer !== undefined ||
        (this.#publishing !== undefined &&
          this.#bytesRead > bytesAtLastCheck) ||
        this.#pending !== undefined;
      bytesAtLastCheck = this.#bytesRead;
      idlePeriods = active ? 0 : idlePeriods + 1;
      if (idlePeriods >= IDLE_PERIODS) {
        this.close(
          this.#publishing
            ? `publisher sent nothing for ${
              (IDLE_PERIODS * handshakeTimeoutMs) / 1000
            } s`
            : `no publish or play within ${
              (IDLE_PERIODS * handshakeTimeoutMs) / 1000
            } s`,
        );
      }
    }, handshakeTimeoutMs);
    try {
      (this.#conn as Deno.TcpConn).setNoDelay?.(true);
      let buf = new Uint8Array(INITIAL_READ_BUFFER_BYTES);
      while (!this.#closed) {
        const n = await this.#conn.read(buf);
        if (n === null) {
          this.close("peer closed the connection");
          break;
        }
        // After a refusal we only wait for the status to flush; input no longer matters.
        if (this.#closing) continue;
        this.#bytesRead += n;
        this.#session.receive(buf.subarray(0, n));
        this.#flushSession();
        if (n === buf.byteLength && n < READ_BUFFER_BYTES) {
          buf = new Uint8Array(READ_BUFFER_BYTES);
        }
        // Backpressure while access is decided: a client waits for its onStatus anyway.
        if (this.#pending) await this.#pending;
      }
    } catch (err) {
      if (this.#closed) {
        // The read was interrupted by our own close().
      } else if (err instanceof RtmpProtocolError) {
        this.close("protocol error", err);
      } else if (
        err instanceof Deno.errors.ConnectionReset ||
        err instanceof Deno.errors.BrokenPipe
      ) {
        this.close("connection reset by peer");
      } else {
        this.close("internal error", err);
      }
    } finally {
      clearInterval(timer);
      this.close(this.#closeReason || "closed");
      this.#ticket.release();
      this.#cleanup();
      this.#logClose();
    }
  }

  #cleanup(): void {
    if (this.#publishing) {
      this.#publishing.hub.end();
      this.#publishing = undefined;
    }
    if (this.#playing) {
      this.#playing.hub.removeViewer(this.#playing.viewer);
      this.#playing = undefined;
    }
    this.#vodPlayer?.player.stop();
    this.#vodPlayer = undefined;
    this.#endAccessSession();
  }

  /** Tells access control the publish or play ended (once). */
  #endAccessSession(): void {
    const s = this.#accessSession;
    this.#accessSession = undefined;
    s?.end();
  }

  /**
   * Runs the access decision for a publish or play, then `then` with an allowed decision, or
   * refuses. Without access control, `then` runs at once (synchronously).
   */
  #decide(
    kind: "publish" | "play",
    streamId: number,
    request: RtmpAccessRequest,
    then: (session: RtmpAccessSession | undefined) => void,
  ): void {
    const named = authorizeRtmpAccess(request);
    if (!named.allowed) {
      return this.#refuse(
        kind,
        streamId,
        named.code,
        named.description,
        "bad_name",
      );
    }
    if (!this.#access) return then(undefined);
    this.#pending = this.#access.authorize(request).then(
      (decision) => {
        if (this.#closed || this.#closing) {
          if (decision.allowed) decision.session?.end();
          return;
        }
        if (!decision.allowed) {
          return this.#refuse(
            kind,
            streamId,
            decision.code,
            decision.description,
            "denied",
          );
        }
        then(decision.session);
        this.#flushSession();
      },
      (err) => this.close("access check failed", err),
    ).finally(() => {
      this.#pending = undefined;
    });
  }

  #logClose(): void {
    const fields: Record<string, unknown> = {
      peer: this.#peer,
      conn: this.#id,
      stream: this.#stream || undefined,
      reason: this.#closeReason,
      bytesIn: this.#session.bytesReceived,
      durationSeconds: Math.round((Date.now() - this.#startedMs) / 100) / 10,
    };
    if (this.#closeCode) fields.code = this.#closeCode;
    if (this.#closeError !== undefined) {
      fields.error = this.#closeError;
      this.#log.warn("connection closed", fields);
    } else {
      this.#log.info("connection closed", fields);
    }
  }

  #onEvent(event: RtmpSessionEvent): void {
    switch (event.type) {
      case "publish":
        return this.#onPublish(event);
      case "play":
        return this.#onPlay(event);
      case "media":
        if (this.#publishing?.streamId === event.streamId) {
          this.#publishing.hub.pushTag(event.tag);
        }
        return;
      case "unpublish":
        if (this.#publishing?.streamId === event.streamId) {
          this.#publishing.hub.end();
          this.#publishing = undefined;
          this.#ticket.mark(ConnState.Idle);
          this.#endAccessSession();
          this.#log.info("publish ended", {
            peer: this.#peer,
            stream: this.#stream,
            reason: event.reason,
          });
        }
        return;
      case "seek":
        if (this.#vodPlayer?.streamId === event.streamId) {
          this.#vodPlayer.player.seek(event.ms);
        }
        return;
      case "pause":
        if (this.#vodPlayer?.streamId === event.streamId) {
          this.#vodPlayer.player.pause(event.paused);
        }
        return;
      case "stop-play":
        if (this.#vodPlayer?.streamId === event.streamId) {
          this.#vodPlayer.player.stop();
          this.#vodPlayer = undefined;
          this.#ticket.mark(ConnState.Idle);
          this.#endAccessSession();
          return;
        }
        if (this.#playing?.streamId === event.streamId) {
          this.#playing.hub.removeViewer(this.#playing.viewer);
          this.#playing = undefined;
          this.#ticket.mark(ConnState.Idle);
          this.#endAccessSession();
        }
        return;
      case "connect":
        this.#stream = event.app;
        return;
      case "ignored":
        this.#log.debug("ignored", { peer: this.#peer, what: event.what });
        return;
      case "handshake":
        return;
    }
  }

  #refuse(
    kind: "publish" | "play",
    streamId: number,
    code: string,
    description: string,
    reason: RtmpRefusalReason,
  ): void {
    this.#shared.refused(kind, reason);
    if (kind === "publish") {
      this.#session.rejectPublish(streamId, code, description);
    } else this.#session.rejectPlay(streamId, code, description);
    this.#flushSession();
    this.#closeReason = `${kind} refused: ${code}`;
    this.#closeAfterFlush(this.#closeReason);
  }

  #onPublish(event: Extract<RtmpSessionEvent, { type: "publish" }>): void {
    this.#stream = `${event.app}/${event.name}`;
    if (this.#publishing || this.#playing || this.#vodPlayer || this.#pending) {
      return this.#refuse(
        "publish",
        event.streamId,
        "NetStream.Publish.BadConnection",
        "One publish or play per connection",
        "one_per_connection",
      );
    }
    // Refused before access control too, so a full origin spends no hook call or token use.
    if (this.#atStreamLimit(event.streamId)) return;
    this.#decide("publish", event.streamId, {
      action: "publish",
      app: event.app,
      name: event.name,
      params: event.params,
      peer: this.#peer,
    }, (session) => this.#startPublish(event, session));
  }

  /** Refuses the publish when the origin holds `maxStreams` live streams; true if it did. */
  #atStreamLimit(streamId: number): boolean {
    const max = this.#shared.maxStreams;
    if (this.#registry.size < max) return false;
    this.#refuse(
      "publish",
      streamId,
      "NetStream.Publish.Rejected",
      `Cannot publish: the origin has its maximum of ${max} live streams`,
      "max_streams",
    );
    return true;
  }

  #startPublish(
    event: Extract<RtmpSessionEvent, { type: "publish" }>,
    session: RtmpAccessSession | undefined,
  ): void {
    // Again after the decision: other publishes may have started while it ran.
    if (this.#atStreamLimit(event.streamId)) {
      session?.end();
      return;
    }
    let hub: Hub;
    try {
      hub = this.#registry.startPublish(event.app, event.name, {
        peer: this.#peer,
        protocol: "rtmp",
      });
    } catch (err) {
      if (err instanceof StreamBusyError) {
        session?.end();
        return this.#refuse(
          "publish",
          event.streamId,
          "NetStream.Publish.BadName",
          "Stream already publishing",
          "busy",
        );
      }
      throw err;
    }
    this.#publishing = { hub, streamId: event.streamId };
    // An operator's kick (control's console, the origin's admin API) closes this connection.
    hub.onKick(() => this.close("kicked by an operator"));
    this.#ticket.mark(ConnState.Active);
    this.#accessSession = session;
    this.#session.acceptPublish(event.streamId);
    this.#log.info("publish started", {
      peer: this.#peer,
      stream: this.#stream,
    });
  }

  #onPlay(event: Extract<RtmpSessionEvent, { type: "play" }>): void {
    this.#stream = `${event.app}/${event.name}`;
    if (this.#publishing || this.#playing || this.#vodPlayer || this.#pending) {
      return this.#refuse(
        "play",
        event.streamId,
        "NetStream.Play.Failed",
        "One publish or play per connection",
        "one_per_connection",
      );
    }
    if (this.#shared.vod?.ownsApp(event.app)) return this.#onVodPlay(event);
    // A stream that is not live is refused before access control, so no token use is spent.
    const hub = this.#registry.get(event.app, event.name);
    const named = authorizeRtmpAccess(this.#playRequest(event));
    if (named.allowed && (hub === undefined || !hub.live)) {
      return this.#refuse(
        "play",
        event.streamId,
        "NetStream.Play.StreamNotFound",
        `Stream not found: ${this.#stream}`,
        "not_found",
      );
    }
    this.#decide(
      "play",
      event.streamId,
      this.#playRequest(event),
      (session) => this.#startPlay(event, session),
    );
  }

  /**
   * A play of a library file: found and indexed first (a missing file is refused before access
   * control, so no token use is spent), then access as for live, then the player.
   */
  #onVodPlay(event: Extract<RtmpSessionEvent, { type: "play" }>): void {
    const vod = this.#shared.vod!;
    const streamId = event.streamId;
    this.#pending = (async () => {
      let media: MediaFile | undefined;
      try {
        media = await vod.rtmpMedia(event.app, event.name);
      } catch (e) {
        return this.#refuse(
          "play",
          streamId,
          "NetStream.Play.Failed",
          e instanceof Error ? e.message : String(e),
          "not_found",
        );
      }
      if (this.#closed || this.#closing) return;
      if (!media) {
        return this.#refuse(
          "play",
          streamId,
          "NetStream.Play.StreamNotFound",
          `File not found: ${this.#stream}`,
          "not_found",
        );
      }
      let session: RtmpAccessSession | undefined;
      if (this.#access) {
        const decision = await this.#access.authorize({
          action: "play",
          app: event.app,
          name: media.file.relPath,
          params: event.params,
          peer: this.#peer,
        });
        if (this.#closed || this.#closing) {
          if (decision.allowed) decision.session?.end();
          return;
        }
        if (!decision.allowed) {
          return this.#refuse(
            "play",
            streamId,
            decision.code,
            decision.description,
            "denied",
          );
        }
        session = decision.session;
      }
      this.#startVodPlay(event, media, session);
      this.#flushSession();
    })().catch((err) => this.close("vod play failed", err)).finally(() => {
      this.#pending = undefined;
    });
  }

  #startVodPlay(
    event: Extract<RtmpSessionEvent, { type: "play" }>,
    media: MediaFile,
    session: RtmpAccessSession | undefined,
  ): void {
    const streamId = event.streamId;
    this.#session.acceptPlay(streamId);
    this.#flushSession();
    const chunk = this.#options.outChunkSize;
    const rewrite = streamId === RTMP_MEDIA_STREAM_ID
      ? undefined
      : createStreamIdRewriter(streamId, chunk);
    const player = new VodRtmpPlayer(media, {
      tag: (tag) => {
        if (this.#closed || this.#closing) return;
        const bytes = encodeRtmpMediaTag(tag, chunk);
        this.#writer.enqueue(rewrite ? rewrite(bytes) : bytes);
      },
      status: (code, description) => {
        if (code === "NetStream.Play.Start") return; // acceptPlay sent it
        this.#session.playerStatus(streamId, code, description);
        this.#flushSession();
      },
      playStatus: (_code, durationMs) => {
        this.#session.playComplete(streamId, durationMs);
        this.#flushSession();
      },
      ready: () => this.#writer.queuedBytes < VOD_QUEUE_BYTES,
    }, {
      startMs: event.startMs > 0 ? event.startMs : 0,
      durationMs: event.durationMs >= 0 ? event.durationMs : undefined,
      burstMs: VOD_BURST_MS,
    });
    this.#vodPlayer = { player, streamId };
    this.#ticket.mark(ConnState.Active);
    this.#accessSession = session;
    session?.watch(() => this.close("access token revoked"));
    this.#log.info("vod play started", {
      peer: this.#peer,
      file: media.file.relPath,
      startMs: event.startMs,
    });
    player.start();
  }

  #playRequest(
    event: Extract<RtmpSessionEvent, { type: "play" }>,
  ): RtmpAccessRequest {
    return {
      action: "play",
      app: event.app,
      name: event.name,
      params: event.params,
      peer: this.#peer,
    };
  }

  #startPlay(
    event: Extract<RtmpSessionEvent, { type: "play" }>,
    session: RtmpAccessSession | undefined,
  ): void {
    const hub = this.#registry.get(event.app, event.name);
    if (hub === undefined || !hub.live) {
      session?.end();
      return this.#refuse(
        "play",
        event.streamId,
        "NetStream.Play.StreamNotFound",
        `Stream not found: ${this.#stream}`,
        "not_found",
      );
    }
    this.#session.acceptPlay(event.streamId);
    // Status first, then the hub's start-up burst: both go through the same queue in order.
    this.#flushSession();
    const streamId = event.streamId;
    const rewrite = streamId === RTMP_MEDIA_STREAM_ID
      ? undefined
      : createStreamIdRewriter(streamId, this.#options.outChunkSize);
    const cap = this.#options.maxViewerQueueBytes;
    let overflowed = false;
    const viewer: Viewer = {
      format: "rtmp",
      id: `${this.#peer}#${this.#id}`,
      write: (bytes: Uint8Array): boolean => {
        if (this.#closed || this.#closing) return false;
        // `bytes` is shared with other players: never mutated, only queued or re-encoded.
        if (this.#writer.enqueue(rewrite ? rewrite(bytes) : bytes, cap)) {
          return true;
        }
        overflowed = true;
        this.close(`player too slow: over ${cap} queued bytes`);
        return false;
      },
      close: (reason: string): void => {
        this.#playing = undefined;
        this.#endAccessSession();
        if (overflowed || this.#closed) return this.close(reason);
        this.#session.endPlay(streamId);
        this.#flushSession();
        this.#closeAfterFlush(reason);
      },
    };
    this.#playing = { hub, viewer, streamId };
    this.#ticket.mark(ConnState.Active);
    this.#accessSession = session;
    session?.watch(() => this.close("access token revoked"));
    this.#log.info("play started", { peer: this.#peer, stream: this.#stream });
    hub.addViewer(viewer);
  }
}
