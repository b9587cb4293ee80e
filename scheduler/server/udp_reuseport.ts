/**
 * A UDP listener on a socket opened through libc (FFI) with `SO_REUSEPORT`, so that several
 * threads or processes can bind the same port and the Linux kernel spreads datagrams over them
 * (by a hash of the 4-tuple).
 *
 * Why not `Deno.listenDatagram`: in Deno 2.9 its `reusePort` option is ignored for UDP (a
 * second bind fails with `AddrInUse`), `node:dgram`'s `reusePort` likewise, and `reuseAddress`
 * sets only `SO_REUSEADDR`, with which Linux delivers every datagram to the last socket bound
 * (checked in `tests/scheduler/server/udp_reuseport_test.ts`). A socket of our own also lets the
 * loop move datagrams in batches: `recvmmsg` takes up to {@link BATCH} queries per call and
 * `sendmmsg` sends every answer of a batch in one call.
 *
 * The loop reads without blocking (`MSG_DONTWAIT`) while datagrams are queued and waits on a
 * blocking `recvmmsg` run on Deno's FFI thread pool (`nonblocking: true`) when the queue is
 * empty; it also goes through that path every {@link YIELD_EVERY} batches so timers, TCP and
 * messages keep running under full load. `SO_RCVTIMEO` bounds each wait so `close()` is seen.
 *
 * In a DNS worker thread (`scheduler.dns.udpSocket: thread`) the loop instead blocks that thread
 * in a synchronous `recvmmsg`: no hop through the FFI thread pool and no event-loop wake-up per
 * batch, which is what a query costs at everyday rates, where almost every batch is one
 * datagram (41 µs against gdnsd's 16 µs at 20k qps before this mode; see BENCHMARKS.md). The
 * thread lets its messages (snapshots from the main thread, close) in every {@link YIELD_MS}
 * while busy, through a MessageChannel round trip (≈ 10 µs: a `setTimeout(0)` turn costs 2–5 ms
 * in a busy Deno worker, as timers are clamped), and lets its timers run once per
 * {@link TIMER_TURN_MS} and after every {@link BLOCK_WAIT_MS} wait while idle. Such a thread
 * serves nothing else (no TCP: the main thread keeps it).
 *
 * The same socket without `SO_REUSEPORT` is the default UDP listener on Linux with one worker
 * (`scheduler.dns.udpSocket: auto`): the batching alone answers several times the queries per
 * core of `Deno.listenDatagram` (see BENCHMARKS.md).
 *
 * Linux x86_64/aarch64 only (struct layouts of a 64-bit glibc).
 *
 * @module
 */

import { parseIp } from "../../geo/mod.ts";
import { SchedulerError, SchedulerErrorCode } from "../errors.ts";
import type { Logger } from "../../log/mod.ts";
import type { DnsStats } from "../stats.ts";
import {
  createResponseClass,
  rateLimited,
  type ResponseRateLimiter,
} from "./rate_limit.ts";
import type { QueryHandler, UdpServer } from "./udp.ts";

/** Datagrams moved per `recvmmsg`/`sendmmsg`. */
export const BATCH = 64;
/** Batches read without blocking before the loop yields to the event loop once. */
const YIELD_EVERY = 8;
/** Largest query read (bigger datagrams are truncated and answered FORMERR). */
const RX_SLOT = 4096;
/** Largest answer sent (`scheduler.dns.maxUdpPayloadBytes` is at most 4096). */
const TX_SLOT = 4096;
const NAME_SLOT = 28; // sizeof(struct sockaddr_in6)
const IOVEC = 16;
const MMSGHDR = 64; // struct msghdr (56) + msg_len (4) + padding

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_REUSEPORT = 15;
const SO_RCVTIMEO = 20;
const MSG_DONTWAIT = 0x40;
const MSG_WAITFORONE = 0x10000;
const EINTR = 4;
const EAGAIN = 11;
/** A blocking wait gives up after this long, so a closed server's loop ends. */
const WAIT_MS = 200;
/** A thread blocked in `recvmmsg` (`blockThread`) looks at its event loop at least this often. */
const BLOCK_WAIT_MS = 20;
/** A busy blocking thread takes its messages this often. */
const YIELD_MS = 5;
/** A busy blocking thread lets its timers run this often (the workers push stats each 1 s). */
const TIMER_TURN_MS = 500;

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  setsockopt: {
    parameters: ["i32", "i32", "i32", "buffer", "u32"],
    result: "i32",
  },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  recvmmsg: {
    parameters: ["i32", "buffer", "u32", "i32", "pointer"],
    result: "i32",
  },
  /** The same call blocking the calling thread (only in a worker: `blockThread`). */
  recvmmsgBlock: {
    name: "recvmmsg",
    parameters: ["i32", "buffer", "u32", "i32", "pointer"],
    result: "i32",
  },
  recvmmsgWait: {
    name: "recvmmsg",
    parameters: ["i32", "buffer", "u32", "i32", "pointer"],
    result: "i32",
    nonblocking: true,
  },
  sendmmsg: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  strerror: { parameters: ["i32"], result: "pointer" },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

let libc: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

function lib(): Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] {
  if (Deno.build.os !== "linux") {
    throw new SchedulerError(
      SchedulerErrorCode.Platform,
      `Cannot open a libc UDP socket: scheduler.dns.workers > 1 needs Linux (SO_REUSEPORT through libc), got ${Deno.build.os}`,
    );
  }
  libc ??= Deno.dlopen("libc.so.6", SYMBOLS);
  return libc.symbols;
}

/** The calling thread's errno as an error (only valid right after a synchronous call). */
function errnoError(what: string): SchedulerError {
  const c = lib();
  const p = c.__errno_location();
  const code = p ? new Deno.UnsafePointerView(p).getInt32() : 0;
  const s = c.strerror(code);
  const text = s ? Deno.UnsafePointerView.getCString(s) : `errno ${code}`;
  return new SchedulerError(
    SchedulerErrorCode.Socket,
    `Cannot ${what}: ${text} (errno ${code})`,
  );
}

function ptr(buf: ArrayBuffer, offset: number): bigint {
  const p = Deno.UnsafePointer.of(new Uint8Array(buf, offset));
  return BigInt(Deno.UnsafePointer.value(p));
}

/** A socket address for `bind`. */
function sockaddr(hostname: string, port: number): Uint8Array {
  const ip = parseIp(hostname === "localhost" ? "127.0.0.1" : hostname);
  if (!ip) {
    throw new SchedulerError(
      SchedulerErrorCode.Platform,
      `Cannot open a libc UDP socket: scheduler.dns.workers > 1 needs an IP address as scheduler.hostname, got '${hostname}'`,
    );
  }
  const out = new Uint8Array(ip.family === 4 ? 16 : 28);
  const v = new DataView(out.buffer);
  v.setUint16(0, ip.family === 4 ? AF_INET : AF_INET6, true);
  v.setUint16(2, port, false);
  out.set(ip.bytes, ip.family === 4 ? 4 : 8);
  return out;
}

/**
 * True when {@link startReusePortUdpServer} can serve `hostname` here: Linux, FFI permission
 * granted, and an IP address literal to bind.
 */
export function libcUdpAvailable(hostname: string): boolean {
  if (Deno.build.os !== "linux") return false;
  if (hostname !== "localhost" && !parseIp(hostname)) return false;
  try {
    return Deno.permissions.querySync({ name: "ffi" }).state === "granted";
  } catch {
    return false;
  }
}

/**
 * Binds `hostname:port` (0: ephemeral) and serves until closed. Same contract as
 * {@link startUdpServer}. With `reusePort` (the default) the socket carries `SO_REUSEPORT` and
 * another call for the same port (any thread or process of the same user) joins the group;
 * without it, a second bind fails with `EADDRINUSE` like any listener.
 *
 * @throws {SchedulerError} `SCHEDULER_SOCKET` when the socket cannot be created or bound
 *   (message from `strerror`); `SCHEDULER_PLATFORM` off Linux or for a host name.
 */
export function startReusePortUdpServer(
  hostname: string,
  port: number,
  handle: QueryHandler,
  deps: {
    readonly rateLimiter?: ResponseRateLimiter;
    readonly stats?: DnsStats;
    readonly log?: Logger;
  },
  options: {
    readonly reusePort?: boolean;
    /**
     * Block the calling thread in `recvmmsg` instead of waiting on the FFI thread pool: for a
     * Worker that does nothing else (it would stall a main thread's other roles for up to
     * {@link BLOCK_WAIT_MS}).
     */
    readonly blockThread?: boolean;
  } = {},
): UdpServer {
  const blockThread = options.blockThread ?? false;
  const c = lib();
  const addr = sockaddr(hostname, port);
  const family = addr.length === 16 ? AF_INET : AF_INET6;
  const fd = c.socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw errnoError("create a UDP socket");
  try {
    const one = new Int32Array([1]);
    if (
      (options.reusePort ?? true) &&
      c.setsockopt(
          fd,
          SOL_SOCKET,
          SO_REUSEPORT,
          new Uint8Array(one.buffer),
          4,
        ) <
        0
    ) {
      throw errnoError("set SO_REUSEPORT");
    }
    const tv = new BigInt64Array([
      0n,
      BigInt((blockThread ? BLOCK_WAIT_MS : WAIT_MS) * 1000),
    ]);
    if (
      c.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, new Uint8Array(tv.buffer), 16) <
        0
    ) {
      throw errnoError("set SO_RCVTIMEO");
    }
    if (c.bind(fd, addr, addr.length) < 0) {
      throw errnoError(`bind DNS UDP port on ${hostname}:${port}`);
    }
  } catch (e) {
    c.close(fd);
    throw e;
  }
  const bound = new Uint8Array(NAME_SLOT);
  const boundLen = new Uint32Array([NAME_SLOT]);
  c.getsockname(fd, bound, new Uint8Array(boundLen.buffer));
  const boundPort = new DataView(bound.buffer).getUint16(2, false);

  // One off-heap buffer (never moved by the GC) for every region the kernel reads or writes.
  const rxData = 0;
  const rxName = rxData + BATCH * RX_SLOT;
  const rxIov = rxName + BATCH * NAME_SLOT;
  const rxHdr = rxIov + BATCH * IOVEC;
  const txData = rxHdr + BATCH * MMSGHDR;
  const txIov = txData + BATCH * TX_SLOT;
  const txHdr = txIov + BATCH * IOVEC;
  const size = txHdr + BATCH * MMSGHDR;
  const mem = new ArrayBuffer(size);
  const bytes = new Uint8Array(mem);
  const view = new DataView(mem);
  const base = ptr(mem, 0);
  for (let i = 0; i < BATCH; i++) {
    // Receive: iovec → rx slot i; msghdr → name i, iovec i.
    view.setBigUint64(
      rxIov + i * IOVEC,
      base + BigInt(rxData + i * RX_SLOT),
      true,
    );
    view.setBigUint64(rxIov + i * IOVEC + 8, BigInt(RX_SLOT), true);
    const h = rxHdr + i * MMSGHDR;
    view.setBigUint64(h, base + BigInt(rxName + i * NAME_SLOT), true);
    view.setUint32(h + 8, NAME_SLOT, true);
    view.setBigUint64(h + 16, base + BigInt(rxIov + i * IOVEC), true);
    view.setBigUint64(h + 24, 1n, true);
    // Send: iovec → tx slot i (length set per answer); msghdr name set per answer.
    view.setBigUint64(
      txIov + i * IOVEC,
      base + BigInt(txData + i * TX_SLOT),
      true,
    );
    const t = txHdr + i * MMSGHDR;
    view.setBigUint64(t + 16, base + BigInt(txIov + i * IOVEC), true);
    view.setBigUint64(t + 24, 1n, true);
  }
  // Peer-name pointers as two 32-bit halves: writing them per answer then needs no BigInt.
  const namePtr = new Uint32Array(BATCH * 2);
  for (let i = 0; i < BATCH; i++) {
    const p = base + BigInt(rxName + i * NAME_SLOT);
    namePtr[i * 2] = Number(p & 0xffffffffn);
    namePtr[i * 2 + 1] = Number(p >> 32n);
  }
  const rxVec = new Uint8Array(mem, rxHdr, BATCH * MMSGHDR);
  const txVec = new Uint8Array(mem, txHdr, BATCH * MMSGHDR);

  const v4Cache = new Map<number, Uint8Array>();
  const v6Cache = new Map<string, Uint8Array>();
  const peerAddress = (i: number): Uint8Array => {
    const n = rxName + i * NAME_SLOT;
    const fam = view.getUint16(n, true);
    let v4 = -1;
    if (fam === AF_INET) v4 = view.getUint32(n + 4, false);
    else if (
      view.getUint32(n + 8, false) === 0 &&
      view.getUint32(n + 12, false) === 0 &&
      view.getUint32(n + 16, false) === 0xffff
    ) v4 = view.getUint32(n + 20, false); // v4-mapped
    if (v4 >= 0) {
      let a = v4Cache.get(v4);
      if (!a) {
        a = new Uint8Array([
          v4 >>> 24,
          (v4 >>> 16) & 255,
          (v4 >>> 8) & 255,
          v4 & 255,
        ]);
        if (v4Cache.size > 10_000) v4Cache.clear();
        v4Cache.set(v4, a);
      }
      return a;
    }
    const key = String.fromCharCode(...bytes.subarray(n + 8, n + 24));
    let a = v6Cache.get(key);
    if (!a) {
      a = bytes.slice(n + 8, n + 24);
      if (v6Cache.size > 10_000) v6Cache.clear();
      v6Cache.set(key, a);
    }
    return a;
  };

  let closed = false;
  let failures = 0;
  const cls = createResponseClass();
  const serveBatch = (n: number) => {
    let out = 0;
    for (let i = 0; i < n; i++) {
      const h = rxHdr + i * MMSGHDR;
      const len = view.getUint32(h + 56, true);
      const nameLen = view.getUint32(h + 8, true);
      view.setUint32(h + 8, NAME_SLOT, true); // the kernel wrote the peer's length
      const query = bytes.subarray(
        rxData + i * RX_SLOT,
        rxData + i * RX_SLOT + len,
      );
      try {
        const address = peerAddress(i);
        const answer = handle(query, { address, transport: "udp" }, cls);
        if (!answer) continue;
        const reply = rateLimited(answer, address, deps, cls);
        if (!reply || reply.length > TX_SLOT) continue;
        bytes.set(reply, txData + out * TX_SLOT);
        // 64-bit little-endian fields written as two halves (the high half of a length is 0).
        view.setUint32(txIov + out * IOVEC + 8, reply.length, true);
        view.setUint32(txIov + out * IOVEC + 12, 0, true);
        const t = txHdr + out * MMSGHDR;
        view.setUint32(t, namePtr[i * 2]!, true);
        view.setUint32(t + 4, namePtr[i * 2 + 1]!, true);
        view.setUint32(t + 8, nameLen, true);
        out++;
      } catch (e) {
        deps.log?.warn("udp query failed", { bytes: len, error: String(e) });
      }
    }
    for (let sent = 0; sent < out;) {
      const r = c.sendmmsg(
        fd,
        sent ? txVec.subarray(sent * MMSGHDR) : txVec,
        out - sent,
        MSG_DONTWAIT,
      );
      if (r <= 0) break; // buffer full or peer gone: UDP answers may be lost
      sent += r;
    }
  };

  // EAGAIN (the SO_RCVTIMEO wait ran out) or EINTR: not a failure. errno is this thread's,
  // read right after the synchronous call.
  const errnoAt = c.__errno_location();
  const waitEnded = () => {
    const e = errnoAt ? new Deno.UnsafePointerView(errnoAt).getInt32() : 0;
    return e === EAGAIN || e === EINTR;
  };
  // A turn of the event loop for messages (a macrotask, not only microtasks), and one for timers.
  const channel = blockThread ? new MessageChannel() : undefined;
  let woke: (() => void) | undefined;
  if (channel) channel.port1.onmessage = () => woke?.();
  const messageTurn = () =>
    new Promise<void>((r) => {
      woke = r;
      channel!.port2.postMessage(0);
    });
  const timerTurn = () => new Promise<void>((r) => setTimeout(r, 0));
  const blockingLoop = async () => {
    let lastTurn = performance.now();
    let lastTimers = lastTurn;
    while (!closed) {
      const n = c.recvmmsgBlock(fd, rxVec, BATCH, MSG_WAITFORONE, null);
      if (n > 0) serveBatch(n);
      else if (n < 0 && !waitEnded() && ++failures % 10_000 === 0) {
        deps.log?.warn("udp recvmmsg keeps failing", { failures });
      }
      const now = performance.now();
      if (n <= 0 || now - lastTimers >= TIMER_TURN_MS) {
        await timerTurn();
        lastTimers = lastTurn = performance.now();
      } else if (now - lastTurn >= YIELD_MS) {
        await messageTurn();
        lastTurn = performance.now();
      }
    }
    channel!.port1.close();
    channel!.port2.close();
  };

  const loop = blockThread ? blockingLoop() : (async () => {
    let spins = 0;
    while (!closed) {
      let n = -1;
      if (++spins < YIELD_EVERY) {
        n = c.recvmmsg(fd, rxVec, BATCH, MSG_DONTWAIT, null);
      }
      if (n <= 0) {
        spins = 0;
        n = await c.recvmmsgWait(fd, rxVec, BATCH, MSG_WAITFORONE, null);
        if (n <= 0) {
          // EAGAIN after WAIT_MS with nothing queued, or an error: look at `closed` again.
          if (n < 0 && ++failures % 10_000 === 0) {
            deps.log?.warn("udp recvmmsg keeps failing", { failures });
          }
          continue;
        }
      }
      serveBatch(n);
    }
  })();

  return {
    port: boundPort,
    async close() {
      if (closed) return;
      closed = true;
      await loop;
      c.close(fd);
    },
  };
}
