/**
 * The RTMP listener: accepts TCP connections, admits them by a {@link ConnGuard}, and runs one
 * {@link RtmpConnection} per connection (its session, role and deadlines live there).
 *
 * Connections are admitted by a {@link ConnGuard} (a cap per listener and per client address,
 * trusted networks exempt): at the cap, the oldest connection that has not yet started
 * publishing or playing is closed for the newcomer, then the oldest one that has stopped;
 * publishers and players never are. Refused connections are logged at most once per
 * {@link REFUSAL_LOG_INTERVAL_MS}, with a count. Publishes past `maxStreams` live streams are
 * refused with `NetStream.Publish.Rejected`; refused publishes and plays are counted by reason
 * for `/metrics`.
 *
 * With the `tls` option the same server speaks RTMPS (RTMP inside TLS, as `rtmps://` URLs of
 * OBS, ffmpeg and platforms' ingest expect): the listener is `net/tls/`'s, with certificates by
 * SNI reloaded from their files and a TLS handshake deadline; the RTMP handshake deadline then
 * runs from the TCP accept, the TLS handshake included.
 *
 * @module
 */

import { encodeSetChunkSize } from "../../codec/rtmp/mod.ts";
import type { RtmpAccessRecord } from "../../log/access/mod.ts";
import { ConnGuard, type ConnRefusal } from "../../net/mod.ts";
import { listenTls, type TlsServing } from "../../net/tls/mod.ts";
import type { RtmpAccessControl } from "../auth/rtmp.ts";
import type { Logger } from "../log.ts";
import type { StreamRegistry } from "../stream/registry.ts";
import {
  peerOf,
  RtmpConnection,
  type RtmpConnectionContext,
  type RtmpConnectionOptions,
  type RtmpRefusalReason,
  type RtmpRelayGate,
  type RtmpVodSource,
} from "./connection.ts";

/** Concurrent connections of a server started without a guard (see {@link RtmpServerDeps.guard}). */
export const MAX_CONNECTIONS = 10_000;

/** Refused connections are logged at most this often (with a count), so a flood is one line. */
export const REFUSAL_LOG_INTERVAL_MS = 10_000;

/** Options of {@link startRtmpServer}; the origin config's `rtmp` section. */
export interface RtmpServerOptions extends RtmpConnectionOptions {
  /** Address to bind, e.g. "0.0.0.0" or "127.0.0.1". */
  readonly hostname: string;
  /** Port to bind; 0 picks a free one (tests). */
  readonly port: number;
  /** Serve RTMPS: TLS with these certificates (see the module comment). */
  readonly tls?: TlsServing | undefined;
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
  /** Relay marks of plays and publishes (origin/relay); none: every play is a viewer's. */
  readonly relay?: RtmpRelayGate | undefined;
  /** Told of every closed connection (the access log). */
  readonly onSessionEnd?: ((record: RtmpAccessRecord) => void) | undefined;
}

/** A running RTMP server. */
export interface RtmpServer {
  /** The bound port (useful with `port: 0`). */
  readonly port: number;
  /** RTMP `connect` commands received so far (for `/metrics`). */
  readonly connects: number;
  /** Refused publishes and plays so far, by action and reason (for `/metrics`). */
  refusals(): Iterable<
    [action: "publish" | "play", reason: RtmpRefusalReason, count: number]
  >;
  /** Stops accepting, closes every connection and waits for them. */
  close(): Promise<void>;
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
  const tls = options.tls;
  const listener = tls
    ? listenTls({
      hostname: options.hostname,
      port: options.port,
      handshakeTimeoutMs: tls.handshakeTimeoutMs,
    }, tls.certificates)
    : Deno.listen({
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
  let connects = 0;
  const shared: RtmpConnectionContext = {
    options,
    registry: deps.registry,
    log,
    access: deps.access,
    vod: deps.vod,
    relay: deps.relay,
    maxStreams: options.maxStreams ?? Infinity,
    refused: (action, reason) => {
      const k = `${action} ${reason}`;
      refusals.set(k, (refusals.get(k) ?? 0) + 1);
    },
    connected: () => connects++,
    ...(deps.onSessionEnd ? { sessionEnded: deps.onSessionEnd } : {}),
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

  log.info("listening", {
    hostname: options.hostname,
    port,
    ...(tls ? { tls: true } : {}),
  });
  return {
    port,
    get connects() {
      return connects;
    },
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
