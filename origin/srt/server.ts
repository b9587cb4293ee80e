/**
 * The SRT listener (`origin.srt.*`, default 10080/udp): libsrt accepts callers, the
 * connections' streamids name the stream, and one epoll loop drives every socket (see
 * `libsrt.ts` for why the wait runs on the FFI thread pool with a timeout).
 *
 * Encryption is the listener's: with `origin.srt.passphrase` set, libsrt refuses a caller with
 * a wrong or missing passphrase during the handshake (SRT_REJ_BADSECRET / UNSECURE), before
 * any connection reaches us. Connections are admitted by a {@link ConnGuard} like RTMP's.
 *
 * @module
 */

import { ConnGuard } from "../../net/mod.ts";
import type { IngestContext } from "../ingest/mod.ts";
import {
  EPOLL_EVENTS,
  EPOLL_WAIT_MS,
  type Libsrt,
  loadLibsrt,
  SrtEpoll,
  SrtOpt,
} from "./libsrt.ts";
import { SrtConnection, type SrtConnectionContext } from "./connection.ts";

/** Connections libsrt queues before we accept them. */
export const SRT_BACKLOG = 64;
/** How often idle connections are looked for, ms. */
const IDLE_CHECK_MS = 1000;
/** SRTO_TRANSTYPE live (SRTT_LIVE). */
const TRANSTYPE_LIVE = 0;
/** Refusals at accept are logged at most this often (with a count). */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

/** Options of {@link startSrtServer}: the `origin.srt` section and the bind address. */
export interface SrtServerOptions {
  readonly hostname: string;
  readonly port: number;
  readonly latencyMs: number;
  readonly passphrase: string;
  readonly pbKeyLen: number;
  readonly library: string;
  readonly idleTimeoutMs: number;
}

/** What the server needs from the origin. */
export interface SrtServerDeps {
  readonly ingest: IngestContext;
  /** Admission (`limits.srt`). */
  readonly guard?: ConnGuard | undefined;
}

/** A running SRT server. */
export interface SrtServer {
  readonly port: number;
  /** libsrt's file and version. */
  readonly library: string;
  /** Open connections. */
  readonly connections: number;
  close(): Promise<void>;
}

/**
 * Binds the SRT listener and starts its loop.
 *
 * @throws {SrtError} `SRT_UNAVAILABLE` when libsrt cannot be loaded, `SRT_CALL` when the port
 *   cannot be bound or an option is refused.
 */
export function startSrtServer(
  options: SrtServerOptions,
  deps: SrtServerDeps,
): SrtServer {
  const srt: Libsrt = loadLibsrt(options.library);
  const log = deps.ingest.log;
  let listener: number;
  try {
    listener = srt.createSocket();
  } catch (err) {
    srt.release();
    throw err;
  }
  const guard = deps.guard ??
    new ConnGuard({ maxConnections: 1000, maxPerAddress: 0, trusted: [] });
  let eid = -1;
  try {
    srt.setBool(listener, SrtOpt.RcvSyn, false, "SRTO_RCVSYN");
    srt.setInt(listener, SrtOpt.TransType, TRANSTYPE_LIVE, "SRTO_TRANSTYPE");
    srt.setInt(listener, SrtOpt.Latency, options.latencyMs, "SRTO_LATENCY");
    if (options.passphrase !== "") {
      srt.setString(
        listener,
        SrtOpt.Passphrase,
        options.passphrase,
        "SRTO_PASSPHRASE",
      );
      srt.setInt(listener, SrtOpt.PbKeyLen, options.pbKeyLen, "SRTO_PBKEYLEN");
    }
    srt.bind(listener, options.hostname, options.port);
    srt.listen(listener, SRT_BACKLOG);
    eid = srt.epollCreate();
    srt.epollAdd(eid, listener, SrtEpoll.In | SrtEpoll.Err);
  } catch (err) {
    srt.close(listener);
    if (eid >= 0) srt.epollRelease(eid);
    srt.release();
    throw err;
  }
  const port = srt.sockName(listener)?.port ?? options.port;
  const conns = new Map<number, SrtConnection>();
  const ctx: SrtConnectionContext = {
    srt,
    ingest: deps.ingest,
    idleTimeoutMs: options.idleTimeoutMs,
    closed: (c) => {
      if (conns.get(c.sock) !== c) return;
      conns.delete(c.sock);
      srt.epollRemove(eid, c.sock);
      srt.close(c.sock);
    },
  };
  let closing = false;
  let refusedSince = 0;
  let refusedLogMs = -Infinity;

  const acceptAll = (): void => {
    for (;;) {
      let a;
      try {
        a = srt.accept(listener);
      } catch (err) {
        log.warn("accept failed", { error: err });
        return;
      }
      if (!a) return;
      const peer = a.peer ? `${a.peer.hostname}:${a.peer.port}` : "unknown";
      deps.ingest.metrics.connection("srt");
      const self: { c?: SrtConnection } = {};
      const ticket = guard.admit(
        a.peer?.hostname ?? "",
        () =>
          self.c?.close("evicted: listener full, not publishing or playing"),
      );
      if (typeof ticket === "string") {
        srt.close(a.sock);
        refusedSince++;
        if (Date.now() - refusedLogMs >= REFUSAL_LOG_INTERVAL_MS) {
          log.warn("connections refused", {
            reason: ticket === "per_address"
              ? "the address holds its share (limits.srt.maxConnectionsPerAddress)"
              : "listener full (limits.srt.maxConnections)",
            lastPeer: peer,
            count: refusedSince,
          });
          refusedSince = 0;
          refusedLogMs = Date.now();
        }
        continue;
      }
      try {
        srt.setBool(a.sock, SrtOpt.RcvSyn, false, "SRTO_RCVSYN");
        srt.setBool(a.sock, SrtOpt.SndSyn, false, "SRTO_SNDSYN");
        srt.epollAdd(eid, a.sock, SrtEpoll.In | SrtEpoll.Err);
      } catch (err) {
        ticket.release();
        srt.close(a.sock);
        log.warn("connection setup failed", { peer, error: err });
        continue;
      }
      const c = self.c = new SrtConnection(a.sock, peer, ctx, ticket);
      conns.set(a.sock, c);
      c.start();
    }
  };

  const loop = (async () => {
    const events = new Uint8Array(EPOLL_EVENTS * 8);
    const view = new DataView(events.buffer);
    let lastIdleCheck = Date.now();
    while (!closing) {
      const n = await srt.epollWait(eid, events, EPOLL_WAIT_MS);
      if (closing) break;
      for (let i = 0; i < Math.min(n, EPOLL_EVENTS); i++) {
        const fd = view.getInt32(i * 8, true);
        const ev = view.getInt32(i * 8 + 4, true);
        if (fd === listener) {
          acceptAll();
          continue;
        }
        const c = conns.get(fd);
        if (!c) continue;
        c.readable();
        if (ev & SrtEpoll.Err) c.close("peer closed the connection");
      }
      const now = Date.now();
      if (now - lastIdleCheck >= IDLE_CHECK_MS) {
        lastIdleCheck = now;
        for (const c of [...conns.values()]) c.checkIdle(now);
      }
    }
  })();

  log.info("listening", {
    hostname: options.hostname,
    port,
    library: `${srt.name} ${srt.version}`,
    encrypted: options.passphrase !== "",
  });
  return {
    port,
    library: `${srt.name} ${srt.version}`,
    get connections() {
      return conns.size;
    },
    async close() {
      if (closing) return;
      closing = true;
      await loop;
      for (const c of [...conns.values()]) c.close("server shutting down");
      srt.close(listener);
      srt.epollRelease(eid);
      srt.release();
    },
  };
}
