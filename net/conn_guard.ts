/**
 * Admission of TCP connections: a cap per listener and a cap per client network, with an
 * eviction order that sacrifices connections that have not done anything yet before refusing
 * anyone, and never touches an established one.
 *
 * Why one module: every TCP listener of Meridian (HTTP on edge, origin, control and scheduler,
 * RTMP, DNS over TCP) faces the same attack: one host opens many sockets and keeps them half-open
 * (a request head, an RTMP handshake or a DNS length prefix trickled a byte at a time) until the
 * listener's cap refuses everyone else. Three rules answer it, the same everywhere:
 *
 * 1. A client network may hold at most `maxPerAddress` connections (an address for HTTP and
 *    RTMP; a /24 or /56 for DNS, as RFC 7766 §6.2.3 and BIND's `tcp-clients` reasoning go).
 *    Trusted networks (the cluster's own edges and origins, loopback in the one-box default)
 *    are exempt.
 * 2. At the listener's cap, the oldest connection still {@link ConnState.Pending} (accepted, no
 *    complete request or handshake yet) is evicted for the new one; failing that, the oldest
 *    {@link ConnState.Idle} one (a keep-alive connection between requests; RFC 7766 §6.2.3:
 *    "close the connection that has been idle the longest").
 * 3. {@link ConnState.Active} connections (a viewer being written to, a publisher, a request
 *    being answered) are never evicted: at the cap with nothing to evict, the newcomer is refused.
 *
 * Each listener still bounds the time a connection may stay pending (its own deadline); the
 * guard only decides who gets a slot.
 *
 * @example
 * ```ts
 * import { ConnGuard, ConnState } from "./conn_guard.ts";
 * import assert from "node:assert/strict";
 * const guard = new ConnGuard({ maxConnections: 1, maxPerAddress: 0, trusted: [] });
 * let evicted = false;
 * const a = guard.admit("192.0.2.1", () => (evicted = true));
 * assert.ok(typeof a !== "string");
 * const b = guard.admit("192.0.2.2", () => {}); // a is still pending: evicted for b
 * assert.ok(typeof b !== "string" && evicted);
 * if (typeof b !== "string") b.mark(ConnState.Active);
 * assert.equal(guard.admit("192.0.2.3", () => {}), "total"); // b is active: refused
 * ```
 *
 * @module
 */

import {
  type Cidr,
  cidrContains,
  maskBytes,
  parseCidr,
  parseIp,
} from "../geo/ip.ts";

/** What a connection is doing, as far as eviction cares. */
export const ConnState = {
  /** Accepted; no complete request, handshake or message yet. First to go. */
  Pending: 0,
  /** Done with a request and waiting for the next (keep-alive). Second to go. */
  Idle: 1,
  /** Being served: never evicted. */
  Active: 2,
} as const;
export type ConnState = typeof ConnState[keyof typeof ConnState];

/** Why {@link ConnGuard.admit} refused a connection. */
export type ConnRefusal = "total" | "per_address";

/** Limits of one listener. */
export interface ConnGuardOptions {
  /** Connections open at once on the listener. */
  readonly maxConnections: number;
  /** Connections one client network may hold; 0 = no per-network cap. */
  readonly maxPerAddress: number;
  /** Prefix grouping IPv4 clients into one network. @default 32 */
  readonly prefixV4?: number;
  /** Prefix grouping IPv6 clients into one network. @default 64 */
  readonly prefixV6?: number;
  /** Networks exempt from `maxPerAddress` (still counted in `maxConnections`). */
  readonly trusted: readonly Cidr[];
}

/** Counts a listener's owner exposes in `/metrics`. */
export interface ConnGuardStats {
  readonly open: number;
  readonly refusedTotal: number;
  readonly refusedPerAddress: number;
  readonly evicted: number;
}

/** A connection's slot; {@link ConnTicket.release} it when the connection closes. */
export class ConnTicket {
  #guard: ConnGuard;
  #released = false;
  /** The client network's key (its masked address). */
  readonly network: string;
  readonly trusted: boolean;
  /** What the connection is doing (see {@link ConnState}). */
  state: ConnState = ConnState.Pending;

  /** @internal Made by {@link ConnGuard.admit}. */
  constructor(
    guard: ConnGuard,
    network: string,
    trusted: boolean,
    readonly evict: () => void,
  ) {
    this.#guard = guard;
    this.network = network;
    this.trusted = trusted;
  }

  /** True once released (closed, or evicted). */
  get released(): boolean {
    return this.#released;
  }

  /** Records what the connection does now; a change moves it to the young end of its class. */
  mark(state: ConnState): void {
    if (this.#released) return;
    this.#guard._move(this, state);
  }

  /** Gives the slot back. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#guard._drop(this);
  }
}

/**
 * The admission policy of one listener (see the module comment).
 */
export class ConnGuard {
  readonly #max: number;
  readonly #perAddress: number;
  readonly #prefixV4: number;
  readonly #prefixV6: number;
  readonly #trusted: readonly Cidr[];
  /** Open tickets by state; each Set iterates oldest first. */
  readonly #byState: [Set<ConnTicket>, Set<ConnTicket>, Set<ConnTicket>] = [
    new Set(),
    new Set(),
    new Set(),
  ];
  readonly #perNetwork = new Map<string, number>();
  #open = 0;
  #refusedTotal = 0;
  #refusedPerAddress = 0;
  #evicted = 0;

  constructor(options: ConnGuardOptions) {
    this.#max = options.maxConnections;
    this.#perAddress = options.maxPerAddress;
    // Not config keys: a listener's own grouping (DNS over TCP groups wider, server/tcp.ts);
    // without one, an IPv4 address or an IPv6 /64 (one subscriber's link) is one client.
    this.#prefixV4 = options.prefixV4 ?? 32;
    this.#prefixV6 = options.prefixV6 ?? 64;
    this.#trusted = options.trusted;
  }

  /** Connections holding a slot. */
  get open(): number {
    return this.#open;
  }

  /** Counts so far. */
  get stats(): ConnGuardStats {
    return {
      open: this.#open,
      refusedTotal: this.#refusedTotal,
      refusedPerAddress: this.#refusedPerAddress,
      evicted: this.#evicted,
    };
  }

  /**
   * Admits a connection from `hostname` (as `Deno.NetAddr` gives it), evicting the oldest
   * pending, else the oldest idle connection when the listener is full.
   *
   * @param evict Closes this connection if it is ever evicted for a newcomer (its ticket is
   *   released by the guard at that moment; a later `release()` is a no-op).
   * @returns The connection's ticket, or why it is refused (the caller closes it).
   */
  admit(hostname: string, evict: () => void): ConnTicket | ConnRefusal {
    const ip = parseIp(hostname);
    let network = hostname;
    let trusted = false;
    if (ip) {
      const bytes = unmapV4(ip.bytes);
      trusted = this.#trusted.some((c) => cidrContains(c, bytes));
      network = networkKey(
        bytes,
        bytes.length === 4 ? this.#prefixV4 : this.#prefixV6,
      );
    }
    const held = this.#perNetwork.get(network) ?? 0;
    if (!trusted && this.#perAddress > 0 && held >= this.#perAddress) {
      this.#refusedPerAddress++;
      return "per_address";
    }
    if (this.#open >= this.#max && !this.#evictOne()) {
      this.#refusedTotal++;
      return "total";
    }
    const ticket = new ConnTicket(this, network, trusted, evict);
    this.#open++;
    this.#perNetwork.set(network, held + 1);
    this.#byState[ConnState.Pending].add(ticket);
    return ticket;
  }

  #evictOne(): boolean {
    for (const state of [ConnState.Pending, ConnState.Idle] as const) {
      for (const victim of this.#byState[state]) {
        this.#evicted++;
        victim.release();
        try {
          victim.evict();
        } catch {
          // its socket is already gone: the slot is free either way
        }
        return true;
      }
    }
    return false;
  }

  /** @internal */
  _move(ticket: ConnTicket, state: ConnState): void {
    this.#byState[ticket.state].delete(ticket);
    ticket.state = state;
    this.#byState[state].add(ticket);
  }

  /** @internal */
  _drop(ticket: ConnTicket): void {
    this.#byState[ticket.state].delete(ticket);
    this.#open--;
    const n = (this.#perNetwork.get(ticket.network) ?? 1) - 1;
    if (n > 0) this.#perNetwork.set(ticket.network, n);
    else this.#perNetwork.delete(ticket.network);
  }
}

/** Parses the `trustedNetworks` of config (already validated there). */
export function parseTrustedNetworks(list: readonly string[]): Cidr[] {
  return list.map((c) => parseCidr(c));
}

/** One kind of listener's caps as the config's `limits` section gives them. */
export interface ListenerLimits {
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
}

/**
 * The guard of one listener from its `limits` slice (`limits.http`, `limits.rtmp`) and
 * `limits.trustedNetworks`, client addresses grouped one per address.
 *
 * @example
 * ```ts
 * import { guardFromLimits } from "./conn_guard.ts";
 * import assert from "node:assert/strict";
 * const g = guardFromLimits({ maxConnections: 10, maxConnectionsPerAddress: 1 }, ["127.0.0.0/8"]);
 * assert.ok(typeof g.admit("127.0.0.1", () => {}) !== "string");
 * assert.ok(typeof g.admit("127.0.0.1", () => {}) !== "string"); // trusted: no per-address cap
 * assert.ok(typeof g.admit("192.0.2.1", () => {}) !== "string");
 * assert.equal(g.admit("192.0.2.1", () => {}), "per_address");
 * ```
 */
export function guardFromLimits(
  limits: ListenerLimits,
  trustedNetworks: readonly string[],
): ConnGuard {
  return new ConnGuard({
    maxConnections: limits.maxConnections,
    maxPerAddress: limits.maxConnectionsPerAddress,
    trusted: parseTrustedNetworks(trustedNetworks),
  });
}

/** An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2) as the IPv4 it is. */
function unmapV4(bytes: Uint8Array): Uint8Array {
  if (bytes.length !== 16 || bytes[10] !== 0xff || bytes[11] !== 0xff) {
    return bytes;
  }
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return bytes;
  return bytes.subarray(12);
}

function networkKey(bytes: Uint8Array, prefix: number): string {
  const m = maskBytes(bytes, Math.min(prefix, bytes.length * 8));
  return `${m.length === 4 ? 4 : 6}:${m.join(".")}/${prefix}`;
}

/** A metrics registry's side of {@link registerConnGuard}. */
interface MetricsSink {
  collect(
    name: string,
    help: string,
    type: "counter" | "gauge",
    fn: () => Iterable<[Record<string, string> | undefined, number]>,
  ): void;
}

const guardsByRegistry = new WeakMap<MetricsSink, Map<string, ConnGuard>>();

/**
 * Exposes a listener's guard in `/metrics` as `meridian_connections_open`,
 * `meridian_connections_refused_total{reason}` and `meridian_connections_evicted_total`, each
 * labelled `listener`. Several roles of one process share one registry (and so one family per
 * name): the guards are gathered per registry.
 */
export function registerConnGuard(
  metrics: MetricsSink,
  listener: string,
  guard: ConnGuard,
): void {
  let guards = guardsByRegistry.get(metrics);
  if (!guards) {
    const all = guards = new Map();
    guardsByRegistry.set(metrics, all);
    const each = function* (
      pick: (s: ConnGuardStats) => [string | undefined, number][],
    ): Iterable<[Record<string, string>, number]> {
      for (const [name, g] of all) {
        for (const [reason, v] of pick(g.stats)) {
          yield [reason ? { listener: name, reason } : { listener: name }, v];
        }
      }
    };
    metrics.collect(
      "meridian_connections_open",
      "TCP connections holding a slot, by listener",
      "gauge",
      () => each((s) => [[undefined, s.open]]),
    );
    metrics.collect(
      "meridian_connections_refused_total",
      "TCP connections refused at accept, by listener and reason (total: the listener is full of active connections; per_address: the client network holds its share)",
      "counter",
      () =>
        each((s) => [["total", s.refusedTotal], [
          "per_address",
          s.refusedPerAddress,
        ]]),
    );
    metrics.collect(
      "meridian_connections_evicted_total",
      "Pending or idle TCP connections closed to make room for a new one, by listener",
      "counter",
      () => each((s) => [[undefined, s.evicted]]),
    );
  }
  guards.set(listener, guard);
}
