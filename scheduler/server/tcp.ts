/**
 * The TCP listener (RFC 7766): pipelined queries answered in order, an idle timeout, and a cap
 * on open connections (new ones over the cap are closed at once).
 *
 * @module
 */

import { parseIp } from "../../geo/mod.ts";
import type { Logger } from "../../log/mod.ts";
import type { QueryHandler } from "./udp.ts";
import { frameMessage, TcpFramer } from "./tcp_framing.ts";

/** A running TCP listener. */
export interface TcpServer {
  readonly port: number;
  readonly connections: number;
  close(): Promise<void>;
}

/** Options of {@link startTcpServer}. */
export interface TcpServerOptions {
  readonly idleTimeoutMs: number;
  readonly maxConnections: number;
  readonly log?: Logger;
  /**
   * Sets `SO_REUSEPORT` (Linux): listeners of several workers share the port and the kernel
   * spreads connections over them.
   */
  readonly reusePort?: boolean;
}

/** Binds `hostname:port` (0: ephemeral) and serves until closed. */
export function startTcpServer(
  hostname: string,
  port: number,
  handle: QueryHandler,
  options: TcpServerOptions,
): TcpServer {
  const listener = Deno.listen({
    transport: "tcp",
    hostname,
    port,
    ...(options.reusePort ? { reusePort: true } : {}),
  });
  const open = new Set<Deno.Conn>();
  const running = new Set<Promise<void>>();

  const serve = async (conn: Deno.Conn) => {
    const peer = conn.remoteAddr as Deno.NetAddr;
    const address = parseIp(peer.hostname)?.bytes ?? new Uint8Array(4);
    const framer = new TcpFramer();
    const buf = new Uint8Array(16 * 1024);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => conn.close(), options.idleTimeoutMs);
    };
    let read = 0;
    try {
      arm();
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        read += n;
        arm();
        for (const msg of framer.push(buf.subarray(0, n))) {
          const out = handle(msg, { address, transport: "tcp" });
          if (!out) continue;
          const framed = frameMessage(out);
          for (let w = 0; w < framed.length;) {
            w += await conn.write(framed.subarray(w));
          }
        }
        if (framer.pending > 65537) break; // cannot be a DNS message
      }
    } catch (e) {
      if (
        !(e instanceof Deno.errors.BadResource ||
          e instanceof Deno.errors.ConnectionReset)
      ) {
        options.log?.debug("tcp connection failed", {
          peer: peer.hostname,
          bytesRead: read,
          error: String(e),
        });
      }
    } finally {
      clearTimeout(timer);
      open.delete(conn);
      try {
        conn.close();
      } catch {
        // closed by the idle timer or by close()
      }
    }
  };

  const accept = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      if (open.size >= options.maxConnections) {
        conn.close();
        continue;
      }
      open.add(conn);
      const p = serve(conn);
      running.add(p);
      p.finally(() => running.delete(p));
    }
  })();

  return {
    port: (listener.addr as Deno.NetAddr).port,
    get connections() {
      return open.size;
    },
    async close() {
      listener.close();
      await accept;
      for (const c of open) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
      await Promise.all(running);
    },
  };
}
