/**
 * The UDP listener: one datagram in, at most one out, through the rate limiter.
 *
 * @module
 */

import { parseIp } from "../../geo/mod.ts";
import type { Logger } from "../../log/mod.ts";
import type { QueryClient } from "../answer/handler.ts";
import type { DnsStats } from "../stats.ts";
import {
  createResponseClass,
  rateLimited,
  type ResponseClass,
  type ResponseRateLimiter,
} from "./rate_limit.ts";

/** A running UDP listener. */
export interface UdpServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Answers queries; `undefined` sends nothing. `cls`, when given, is set to the response's
 * rate-limiting class (UDP listeners pass one object and reuse it).
 */
export type QueryHandler = (
  query: Uint8Array,
  client: QueryClient,
  cls?: ResponseClass,
) => Uint8Array | undefined;

/** Binds `hostname:port` (0: ephemeral) and serves until closed. */
export function startUdpServer(
  hostname: string,
  port: number,
  handle: QueryHandler,
  deps: {
    readonly rateLimiter?: ResponseRateLimiter;
    readonly stats?: DnsStats;
    readonly log?: Logger;
  },
): UdpServer {
  const sock = Deno.listenDatagram({ transport: "udp", hostname, port });
  const addrCache = new Map<string, Uint8Array>();
  const cls = createResponseClass();
  const loop = (async () => {
    for (;;) {
      let msg: Uint8Array;
      let peer: Deno.NetAddr;
      try {
        const [m, a] = await sock.receive();
        msg = m;
        peer = a as Deno.NetAddr;
      } catch {
        return; // closed
      }
      try {
        let address = addrCache.get(peer.hostname);
        if (!address) {
          address = parseIp(peer.hostname)?.bytes ?? new Uint8Array(4);
          if (addrCache.size > 10_000) addrCache.clear();
          addrCache.set(peer.hostname, address);
        }
        const out = handle(msg, { address, transport: "udp" }, cls);
        if (!out) continue;
        const reply = rateLimited(out, address, deps, cls);
        if (!reply) continue;
        await sock.send(reply, peer);
      } catch (e) {
        deps.log?.warn("udp query failed", {
          peer: peer.hostname,
          bytes: msg.length,
          error: String(e),
        });
      }
    }
  })();
  return {
    port: (sock.addr as Deno.NetAddr).port,
    async close() {
      sock.close();
      await loop;
    },
  };
}
