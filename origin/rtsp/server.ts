/**
 * The RTSP listener (`origin.rtsp.*`, default 8554/tcp with RTP/RTCP over UDP on 8000/8001):
 * accepts TCP connections, admits them by a {@link ConnGuard} (`limits.rtsp`) and runs one
 * {@link RtspConnection} each; the UDP pair is shared by every session (see `udp.ts`).
 *
 * @module
 */

import { ConnGuard } from "../../net/mod.ts";
import type { IngestContext } from "../ingest/mod.ts";
import { RtspConnection, type RtspConnectionContext } from "./connection.ts";
import { RtspUdp } from "./udp.ts";

/** How often connections' deadlines are checked, ms. */
const IDLE_CHECK_MS = 1000;
/** Refused connections are logged at most this often (with a count). */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

/** Options of {@link startRtspServer}. */
export interface RtspServerOptions {
  readonly hostname: string;
  readonly port: number;
  readonly rtpPort: number;
  readonly rtcpPort: number;
  /** Offer RTP over UDP. */
  readonly udp: boolean;
  readonly sessionTimeoutSeconds: number;
  readonly maxViewerQueueBytes: number;
}

/** What the server needs. */
export interface RtspServerDeps {
  readonly ingest: IngestContext;
  readonly guard?: ConnGuard | undefined;
  /** @default Date.now */
  readonly now?: () => number;
}

/** A running RTSP server. */
export interface RtspServer {
  readonly port: number;
  /** The UDP ports, when UDP is on. */
  readonly rtpPort: number | undefined;
  readonly rtcpPort: number | undefined;
  close(): Promise<void>;
}

function random32(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/**
 * Binds the RTSP port (and the UDP pair when `udp`) and serves.
 *
 * @throws The system's error when the TCP port cannot be bound. A UDP port that cannot be
 *   bound turns UDP off with a warning (TCP interleaved still works).
 */
export function startRtspServer(
  options: RtspServerOptions,
  deps: RtspServerDeps,
): RtspServer {
  const log = deps.ingest.log;
  const listener = Deno.listen({
    hostname: options.hostname,
    port: options.port,
    transport: "tcp",
  });
  let udp: RtspUdp | undefined;
  if (options.udp) {
    try {
      udp = RtspUdp.open(
        options.hostname,
        options.rtpPort,
        options.rtcpPort,
        log,
      );
    } catch (err) {
      log.warn("RTP over UDP off: cannot bind its ports", {
        rtpPort: options.rtpPort,
        rtcpPort: options.rtcpPort,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
  const guard = deps.guard ??
    new ConnGuard({ maxConnections: 10_000, maxPerAddress: 0, trusted: [] });
  const ctx: RtspConnectionContext = {
    ingest: deps.ingest,
    udp,
    sessionTimeoutMs: options.sessionTimeoutSeconds * 1000,
    maxViewerQueueBytes: options.maxViewerQueueBytes,
    random: random32,
    now: deps.now ?? Date.now,
  };
  const conns = new Set<RtspConnection>();
  const tasks = new Set<Promise<void>>();
  let closing = false;
  let refusedSince = 0;
  let refusedLogMs = -Infinity;
  const timer = setInterval(() => {
    const now = ctx.now();
    for (const c of conns) c.checkIdle(now);
  }, IDLE_CHECK_MS);

  const acceptLoop = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (err) {
        if (closing || err instanceof Deno.errors.BadResource) break;
        log.warn("accept failed", { error: err });
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      if (closing) {
        conn.close();
        break;
      }
      deps.ingest.metrics.connection("rtsp");
      const self: { c?: RtspConnection } = {};
      const a = conn.remoteAddr as Deno.NetAddr;
      const ticket = guard.admit(
        a.hostname,
        () =>
          self.c?.close("evicted: listener full, not publishing or playing"),
      );
      if (typeof ticket === "string") {
        conn.close();
        refusedSince++;
        if (Date.now() - refusedLogMs >= REFUSAL_LOG_INTERVAL_MS) {
          log.warn("connections refused", {
            reason: ticket === "per_address"
              ? "the address holds its share (limits.rtsp.maxConnectionsPerAddress)"
              : "listener full (limits.rtsp.maxConnections)",
            lastPeer: `${a.hostname}:${a.port}`,
            count: refusedSince,
          });
          refusedSince = 0;
          refusedLogMs = Date.now();
        }
        continue;
      }
      const c = self.c = new RtspConnection(conn, ctx, ticket);
      conns.add(c);
      const task = c.run().finally(() => {
        conns.delete(c);
        tasks.delete(task);
      });
      tasks.add(task);
    }
  })();

  const port = (listener.addr as Deno.NetAddr).port;
  log.info("listening", {
    hostname: options.hostname,
    port,
    rtpPort: udp?.rtpPort,
    rtcpPort: udp?.rtcpPort,
  });
  return {
    port,
    rtpPort: udp?.rtpPort,
    rtcpPort: udp?.rtcpPort,
    async close() {
      if (closing) return;
      closing = true;
      clearInterval(timer);
      listener.close();
      await acceptLoop;
      for (const c of conns) c.close("server shutting down");
      await Promise.all([...tasks]);
      await udp?.close();
    },
  };
}
