/**
 * The TCP listener (RFC 7766): pipelined queries answered in order, admission by the shared
 * connection guard (`net/conn_guard.ts`: a cap per listener and per client /24 or /56, the
 * oldest pending or idle connection evicted for a newcomer when full, RFC 7766 §6.2.3), and two
 * deadlines that bytes arriving cannot stretch:
 *
 * - a message must arrive whole within `messageTimeoutMs` of its first byte (the first one,
 *   of the accept), and each reply be written within it;
 * - between messages a connection may stay idle `idleTimeoutMs`.
 *
 * Before, one timer was re-armed by every read, so a host trickling a byte now and then held
 * its connection forever, and 256 such connections refused TCP to everyone. TC answers and RRL
 * slips send resolvers to TCP, so this listener must keep admitting them.
 *
 * @module
 */

import { parseIp } from "../../geo/mod.ts";
import type { Logger } from "../../log/mod.ts";
import type { SchedulerConfig } from "../../config/scheduler_schema.ts";
import {
  ConnGuard,
  ConnState,
  type ConnTicket,
  parseTrustedNetworks,
} from "../../net/mod.ts";
import type { QueryHandler } from "./udp.ts";
import { frameMessage, TcpFramer } from "./tcp_framing.ts";

/** Prefix grouping IPv4 clients into one network for the per-network cap (a resolver farm). */
export const DNS_TCP_PREFIX_V4 = 24;
/** Prefix grouping IPv6 clients into one network for the per-network cap. */
export const DNS_TCP_PREFIX_V6 = 56;

/**
 * The admission policy of a DNS TCP listener: `maxTcpConnections`, at most
 * `maxTcpConnectionsPerNetwork` per /24 (/56), `trustedNetworks` exempt from the latter.
 */
export function createDnsTcpGuard(
  config: Pick<SchedulerConfig, "dns">,
  trustedNetworks: readonly string[],
): ConnGuard {
  return new ConnGuard({
    maxConnections: config.dns.maxTcpConnections,
    maxPerAddress: config.dns.maxTcpConnectionsPerNetwork,
    prefixV4: DNS_TCP_PREFIX_V4,
    prefixV6: DNS_TCP_PREFIX_V6,
    trusted: parseTrustedNetworks(trustedNetworks),
  });
}

/** A running TCP listener. */
export interface TcpServer {
  readonly port: number;
  readonly connections: number;
  close(): Promise<void>;
}

/** Options of {@link startTcpServer}. */
export interface TcpServerOptions {
  /** A connection with no message in progress is closed after this long (RFC 7766 §6.2.3). */
  readonly idleTimeoutMs: number;
  /** A message must arrive whole within this of its first byte, and its reply be written. */
  readonly messageTimeoutMs: number;
  /** Who gets a slot (see `net/conn_guard.ts`); owned by the caller, who exposes its stats. */
  readonly guard: ConnGuard;
  readonly log?: Logger;
  /**
   * Sets `SO_REUSEPORT` (Linux): listeners of several workers share the port and the kernel
   * spreads connections over them.
   */
  readonly reusePort?: boolean;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed (deadline, eviction or close())
  }
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

  const serve = async (conn: Deno.Conn, ticket: ConnTicket) => {
    const peer = conn.remoteAddr as Deno.NetAddr;
    const address = parseIp(peer.hostname)?.bytes ?? new Uint8Array(4);
    const framer = new TcpFramer();
    const buf = new Uint8Array(16 * 1024);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let cut = "";
    const deadline = (ms: number, why: string) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        cut = why;
        closeQuietly(conn);
      }, ms);
    };
    // The first message's deadline runs from the accept: a client connects to send it.
    deadline(options.messageTimeoutMs, "message deadline");
    let betweenMessages = false;
    let read = 0;
    let answered = 0;
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        read += n;
        const messages = framer.push(buf.subarray(0, n));
        if (messages.length === 0) {
          // Only the first byte of a message starts its deadline; later bytes do not move it.
          if (betweenMessages && framer.pending > 0) {
            betweenMessages = false;
            deadline(options.messageTimeoutMs, "message deadline");
          }
          continue;
        }
        ticket.mark(ConnState.Active);
        deadline(options.messageTimeoutMs, "write deadline");
        for (const msg of messages) {
          const out = handle(msg, { address, transport: "tcp" });
          if (!out) continue;
          const framed = frameMessage(out);
          for (let w = 0; w < framed.length;) {
            w += await conn.write(framed.subarray(w));
          }
          answered++;
        }
        // Answered: evictable again, after pending ones (RFC 7766 §6.2.3: the longest idle).
        ticket.mark(ConnState.Idle);
        betweenMessages = framer.pending === 0;
        if (betweenMessages) deadline(options.idleTimeoutMs, "idle timeout");
        else deadline(options.messageTimeoutMs, "message deadline");
      }
    } catch (e) {
      if (
        !(e instanceof Deno.errors.BadResource ||
          e instanceof Deno.errors.ConnectionReset ||
          e instanceof Deno.errors.Interrupted ||
          e instanceof Deno.errors.BrokenPipe)
      ) {
        options.log?.debug("tcp connection failed", {
          peer: peer.hostname,
          bytesRead: read,
          error: String(e),
        });
      }
    } finally {
      clearTimeout(timer);
      if (cut || ticket.released) {
        options.log?.debug("tcp connection cut", {
          peer: peer.hostname,
          reason: cut || "evicted for a new connection",
          bytesRead: read,
          answered,
        });
      }
      ticket.release();
      open.delete(conn);
      closeQuietly(conn);
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
      const peer = conn.remoteAddr as Deno.NetAddr;
      const ticket = options.guard.admit(
        peer.hostname,
        () => closeQuietly(conn),
      );
      if (typeof ticket === "string") {
        closeQuietly(conn); // counted by the guard, by reason
        continue;
      }
      open.add(conn);
      const p = serve(conn, ticket);
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
      for (const c of open) closeQuietly(c);
      await Promise.all(running);
    },
  };
}
