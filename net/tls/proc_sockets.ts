/**
 * What Deno 2.9 hides of its TLS sockets, reached through Linux's `/proc` and libc (FFI, as
 * `scheduler/server/udp_reuseport.ts` opens its sockets): `Deno.TlsConn` has no `setNoDelay`,
 * and neither it nor `Deno.TlsListener` exposes its file descriptor. Two gaps matter:
 *
 * - **Nagle.** TLS connections keep Nagle's algorithm on. Measured here (loopback, two writes
 *   per answer, as a response head and body are): 45 ms per request–response exchange with
 *   it (each second write waits for the ACK the peer delays), 0.25 ms without. Linux copies
 *   `TCP_NODELAY` from a listening socket to every connection it accepts, so
 *   {@link setListenerNoDelay} sets it once per listener.
 * - **Closing during the handshake.** `close()` on a `Deno.TlsConn` whose handshake has not
 *   finished releases the resource but not the socket: Deno's handshake task keeps the TCP
 *   stream until the peer sends something or leaves, so a client that stays silent keeps its
 *   file descriptor however often it is "closed" (by the handshake deadline, or evicted by a
 *   listener's guard). {@link shutdownSockets} `shutdown(2)`s such sockets: the handshake task
 *   reads EOF, fails and drops the stream, which closes the descriptor (Deno still owns it).
 *
 * A socket is found by its ports and peer in `/proc/net/tcp{,6}` (its inode) and its inode
 * among `/proc/self/fd`; just before a `setsockopt` or `shutdown` the descriptor's link is read
 * again, so a descriptor closed and reused meanwhile is left alone. Best effort: without
 * Linux, `--allow-ffi` or read access to `/proc`, nothing is done and the caller is told.
 *
 * @module
 */

import { parseIp } from "../../geo/ip.ts";

const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;
const SHUT_RDWR = 2;
/** `st` of a listening socket in /proc/net/tcp (include/net/tcp_states.h: TCP_LISTEN). */
const STATE_LISTEN = "0A";
/** `st` of an established connection (TCP_ESTABLISHED). */
const STATE_ESTABLISHED = "01";

const SYMBOLS = {
  setsockopt: {
    parameters: ["i32", "i32", "i32", "buffer", "u32"],
    result: "i32",
  },
  getsockopt: {
    parameters: ["i32", "i32", "i32", "buffer", "buffer"],
    result: "i32",
  },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
} as const;

/** True when the /proc + FFI route can work in this process. */
export function procSocketsAvailable(): boolean {
  if (Deno.build.os !== "linux") return false;
  try {
    return Deno.permissions.querySync({ name: "ffi" }).state === "granted" &&
      Deno.permissions.querySync({ name: "read", path: "/proc" }).state ===
        "granted";
  } catch {
    return false;
  }
}

/**
 * Runs `fn` with libc open, closed again after: these calls are rare (a listener opening, a
 * batch of sockets to shut down), and a library left open is a resource no test may leak.
 */
function withLibc<T>(
  fn: (libc: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"]) => T,
): T {
  const libc = Deno.dlopen("libc.so.6", SYMBOLS);
  try {
    return fn(libc.symbols);
  } finally {
    libc.close();
  }
}

/** One row of /proc/net/tcp{,6}: ports, the peer's address bytes, state and inode. */
interface TcpRow {
  readonly localPort: number;
  readonly remote: Uint8Array;
  readonly remotePort: number;
  readonly state: string;
  readonly inode: string;
}

/**
 * An address of /proc/net/tcp: the bytes as the kernel stores them, printed as 32-bit words
 * in host (little-endian) order, each 8 hex digits.
 */
function procAddress(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let w = 0; w < hex.length / 8; w++) {
    const word = parseInt(hex.slice(w * 8, w * 8 + 8), 16);
    new DataView(out.buffer).setUint32(w * 4, word, true);
  }
  return out;
}

function* tcpRows(): Generator<TcpRow> {
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = Deno.readTextFileSync(table);
    } catch {
      continue; // no IPv6 in this kernel
    }
    for (const line of text.split("\n").slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[9] === "0") continue;
      const [, lport] = f[1]!.split(":");
      const [raddr, rport] = f[2]!.split(":");
      yield {
        localPort: parseInt(lport!, 16),
        remote: procAddress(raddr!),
        remotePort: parseInt(rport!, 16),
        state: f[3]!,
        inode: f[9]!,
      };
    }
  }
}

/** This process's file descriptors of the sockets with the given inodes, by inode. */
function fdsOf(inodes: ReadonlySet<string>): Map<string, number> {
  const fds = new Map<string, number>();
  if (inodes.size === 0) return fds;
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    const inode = inodeOf(Number(e.name));
    if (inode !== undefined && inodes.has(inode)) {
      fds.set(inode, Number(e.name));
    }
    if (fds.size === inodes.size) break;
  }
  return fds;
}

function inodeOf(fd: number): string | undefined {
  try {
    return /^socket:\[(\d+)\]$/.exec(Deno.readLinkSync(`/proc/self/fd/${fd}`))
      ?.[1];
  } catch {
    return undefined; // closed meanwhile
  }
}

/** IPv4 as its IPv4-mapped IPv6 form too: a dual-stack socket lists it so in tcp6. */
function sameAddress(row: Uint8Array, ip: Uint8Array): boolean {
  if (row.length === ip.length) return row.every((b, i) => b === ip[i]);
  if (row.length === 16 && ip.length === 4) {
    for (let i = 0; i < 10; i++) if (row[i] !== 0) return false;
    return row[10] === 0xff && row[11] === 0xff &&
      row.subarray(12).every((b, i) => b === ip[i]);
  }
  return false;
}

/**
 * Sets `TCP_NODELAY` on this process's listening sockets on `port` (every generation of a
 * reloading listener shares it), so the connections they accept inherit it.
 *
 * @returns How many sockets were set; 0 when the route is unavailable or none was found.
 */
export function setListenerNoDelay(port: number): number {
  if (!procSocketsAvailable()) return 0;
  try {
    const inodes = new Set<string>();
    for (const r of tcpRows()) {
      if (r.state === STATE_LISTEN && r.localPort === port) inodes.add(r.inode);
    }
    const fds = fdsOf(inodes);
    if (fds.size === 0) return 0;
    const one = new Uint8Array(new Int32Array([1]).buffer);
    return withLibc((libc) => {
      let set = 0;
      for (const [inode, fd] of fds) {
        if (inodeOf(fd) !== inode) continue;
        if (libc.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, one, 4) === 0) set++;
      }
      return set;
    });
  } catch {
    return 0;
  }
}

/** A connection by its local port and its peer. */
export interface SocketTarget {
  readonly localPort: number;
  readonly remote: Deno.NetAddr;
}

/**
 * `shutdown(fd, SHUT_RDWR)` on this process's connections matching `targets` (see the module
 * comment: what a TLS connection closed during its handshake leaves behind).
 *
 * @returns How many sockets were shut down.
 */
export function shutdownSockets(targets: readonly SocketTarget[]): number {
  if (targets.length === 0 || !procSocketsAvailable()) return 0;
  try {
    const wanted = targets.map((t) => ({
      localPort: t.localPort,
      remotePort: t.remote.port,
      ip: parseIp(t.remote.hostname)?.bytes,
    }));
    const inodes = new Set<string>();
    for (const r of tcpRows()) {
      if (r.state === STATE_LISTEN) continue;
      if (
        wanted.some((w) =>
          w.localPort === r.localPort && w.remotePort === r.remotePort &&
          w.ip !== undefined && sameAddress(r.remote, w.ip)
        )
      ) inodes.add(r.inode);
    }
    const fds = fdsOf(inodes);
    if (fds.size === 0) return 0;
    return withLibc((libc) => {
      let done = 0;
      for (const [inode, fd] of fds) {
        if (inodeOf(fd) !== inode) continue;
        if (libc.shutdown(fd, SHUT_RDWR) === 0) done++;
      }
      return done;
    });
  } catch {
    return 0;
  }
}

/**
 * `TCP_NODELAY` of this process's established connections whose local port is `port`, by
 * file descriptor (what tests check: the accepted side inherits the listener's setting).
 */
export function connectionNoDelay(port: number): Map<number, boolean> {
  const out = new Map<number, boolean>();
  if (!procSocketsAvailable()) return out;
  const inodes = new Set<string>();
  for (const r of tcpRows()) {
    if (r.state === STATE_ESTABLISHED && r.localPort === port) {
      inodes.add(r.inode);
    }
  }
  const value = new Uint8Array(4);
  const length = new Uint8Array(new Uint32Array([4]).buffer);
  return withLibc((libc) => {
    for (const fd of fdsOf(inodes).values()) {
      if (libc.getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, value, length) === 0) {
        out.set(fd, new DataView(value.buffer).getInt32(0, true) !== 0);
      }
    }
    return out;
  });
}
