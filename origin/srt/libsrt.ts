/**
 * libsrt (Haivision's SRT library, 1.5) through Deno FFI: the handful of calls a listener and a
 * caller need, with the struct layouts of a 64-bit Linux (sockaddr_in/in6, SRT_EPOLL_EVENT).
 *
 * Why FFI: SRT's retransmission, pacing and AES key exchange are the library's; writing them
 * again is out of the question (no hand-written ARQ), and npm has no maintained binding that
 * loads in Deno without node-gyp (`@eyevinn/srt` is not published any more; `srt` on npm is a
 * subtitle parser). Debian ships the library as `libsrt1.5-gnutls` (ffmpeg depends on it).
 *
 * Blocking: every socket is put in non-blocking mode (SRTO_RCVSYN/SRTO_SNDSYN false) and read
 * or written from the main thread only when `srt_epoll_uwait` said so; that one wait runs on
 * Deno's FFI thread pool (`nonblocking: true`) with a timeout, so a closing server is noticed
 * within {@link EPOLL_WAIT_MS}. libsrt's error state is per thread, so errors are read only
 * right after a synchronous call.
 *
 * @module
 */

import { parseIp } from "../../geo/mod.ts";
import { CodedError } from "../../errors/mod.ts";

/** How long one epoll wait blocks a pool thread before the loop looks at its state again. */
export const EPOLL_WAIT_MS = 100;
/** Sockets reported per epoll wait. */
export const EPOLL_EVENTS = 64;

/** SRT_SOCKOPT values (srt.h of libsrt 1.5). */
export const SrtOpt = {
  SndSyn: 1,
  RcvSyn: 2,
  ReuseAddr: 15,
  State: 17,
  Latency: 23,
  Passphrase: 26,
  PbKeyLen: 27,
  KmState: 28,
  ConnTimeo: 36,
  PeerIdleTimeo: 55,
  StreamId: 46,
  PayloadSize: 49,
  TransType: 50,
} as const;

/** SRT_EPOLL_OPT flags. */
export const SrtEpoll = { In: 0x1, Out: 0x4, Err: 0x8 } as const;

/** SRT_SOCKSTATUS values. */
export const SrtSockState = {
  Init: 1,
  Opened: 2,
  Listening: 3,
  Connecting: 4,
  Connected: 5,
  Broken: 6,
  Closing: 7,
  Closed: 8,
  NonExist: 9,
} as const;

/** SRT error codes (SRT_ERRNO) the servers act on. */
export const SrtErrno = {
  /** SRT_EASYNCSND: the send buffer is full (a non-blocking send would block). */
  AsyncSnd: 6001,
  /** SRT_EASYNCRCV: nothing to read (or accept) now. */
  AsyncRcv: 6002,
  /** SRT_ETIMEOUT. */
  Timeout: 6003,
  /** SRT_ECONNLOST. */
  ConnLost: 2001,
  /** SRT_ENOCONN. */
  NoConn: 2002,
} as const;

/** The payload of one SRT live-mode message: seven TS packets (SRT_LIVE_DEF_PLSIZE). */
export const SRT_LIVE_PAYLOAD_BYTES = 1316;
/** Largest message libsrt delivers in live mode (SRT_LIVE_MAX_PLSIZE). */
export const SRT_LIVE_MAX_PAYLOAD_BYTES = 1456;

const AF_INET = 2;
const AF_INET6 = 10;
const SOCKADDR_STORAGE_BYTES = 128;
/** srt_setloglevel: LOG_CRIT. libsrt otherwise writes its own lines to stderr. */
const LOG_CRIT = 2;

const SYMBOLS = {
  srt_startup: { parameters: [], result: "i32" },
  srt_cleanup: { parameters: [], result: "i32" },
  srt_getversion: { parameters: [], result: "u32" },
  srt_setloglevel: { parameters: ["i32"], result: "void" },
  srt_create_socket: { parameters: [], result: "i32" },
  srt_setsockflag: {
    parameters: ["i32", "i32", "buffer", "i32"],
    result: "i32",
  },
  srt_getsockflag: {
    parameters: ["i32", "i32", "buffer", "buffer"],
    result: "i32",
  },
  srt_bind: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  srt_listen: { parameters: ["i32", "i32"], result: "i32" },
  srt_accept: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  srt_connect_nb: {
    name: "srt_connect",
    parameters: ["i32", "buffer", "i32"],
    result: "i32",
    nonblocking: true,
  },
  srt_close: { parameters: ["i32"], result: "i32" },
  srt_recvmsg: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  srt_sendmsg: {
    parameters: ["i32", "buffer", "i32", "i32", "i32"],
    result: "i32",
  },
  srt_getsockstate: { parameters: ["i32"], result: "i32" },
  srt_getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  srt_getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  srt_getlasterror: { parameters: ["pointer"], result: "i32" },
  srt_getlasterror_str: { parameters: [], result: "pointer" },
  srt_getrejectreason: { parameters: ["i32"], result: "i32" },
  srt_rejectreason_str: { parameters: ["i32"], result: "pointer" },
  srt_epoll_create: { parameters: [], result: "i32" },
  srt_epoll_add_usock: {
    parameters: ["i32", "i32", "buffer"],
    result: "i32",
  },
  srt_epoll_remove_usock: { parameters: ["i32", "i32"], result: "i32" },
  srt_epoll_uwait_nb: {
    name: "srt_epoll_uwait",
    parameters: ["i32", "buffer", "i32", "i64"],
    result: "i32",
    nonblocking: true,
  },
  srt_epoll_release: { parameters: ["i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The shared objects tried when `origin.srt.library` is "" (Debian's first). */
export const LIBSRT_CANDIDATES: readonly string[] = [
  "libsrt-gnutls.so.1.5",
  "libsrt-openssl.so.1.5",
  "libsrt.so.1.5",
  "libsrt.so",
];

/** Stable codes of {@link SrtError}. */
export const SrtErrorCode = {
  /** libsrt could not be loaded (missing, or FFI not allowed). */
  Unavailable: "SRT_UNAVAILABLE",
  /** A libsrt call failed; the message names it and libsrt's reason. */
  Call: "SRT_CALL",
} as const;

/** A libsrt failure. */
export class SrtError extends CodedError<
  (typeof SrtErrorCode)[keyof typeof SrtErrorCode]
> {
  override name = "SrtError";
  constructor(
    code: (typeof SrtErrorCode)[keyof typeof SrtErrorCode],
    message: string,
    readonly srtErrno = 0,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
  }
}

type Symbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let loaded:
  | { lib: Deno.DynamicLibrary<typeof SYMBOLS>; name: string; users: number }
  | undefined;

/**
 * Loads libsrt (and calls `srt_startup`) for one user; the last {@link Libsrt.release}
 * calls `srt_cleanup` and unloads it, so a process (or a test) that stops its SRT servers
 * holds no library and no libsrt thread.
 *
 * @param library A file name or path; "" tries {@link LIBSRT_CANDIDATES}.
 * @throws {SrtError} `SRT_UNAVAILABLE` when no candidate loads.
 */
export function loadLibsrt(library: string): Libsrt {
  if (!loaded) {
    const names = library === "" ? LIBSRT_CANDIDATES : [library];
    const reasons: string[] = [];
    let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;
    let name = "";
    for (const n of names) {
      try {
        lib = Deno.dlopen(n, SYMBOLS);
        name = n;
        break;
      } catch (e) {
        reasons.push(`${n}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (!lib) {
      throw new SrtError(
        SrtErrorCode.Unavailable,
        `Cannot load libsrt: tried ${names.join(", ")} (${
          reasons[0] ?? "no candidate"
        })`,
      );
    }
    lib.symbols.srt_setloglevel(LOG_CRIT);
    if (lib.symbols.srt_startup() < 0) {
      lib.close();
      throw new SrtError(
        SrtErrorCode.Unavailable,
        "Cannot start libsrt: srt_startup failed",
      );
    }
    loaded = { lib, name, users: 0 };
  }
  loaded.users++;
  return new Libsrt(loaded.lib.symbols, loaded.name);
}

function releaseLibsrt(): void {
  if (!loaded || --loaded.users > 0) return;
  const l = loaded;
  loaded = undefined;
  l.lib.symbols.srt_cleanup();
  l.lib.close();
}

/** A peer's or our own address. */
export interface SrtAddress {
  readonly hostname: string;
  readonly port: number;
}

function int32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

/** Encodes `hostname:port` as a sockaddr_in or sockaddr_in6. */
export function encodeSockaddr(hostname: string, port: number): Uint8Array {
  const host = hostname === "localhost" ? "127.0.0.1" : hostname;
  const ip = parseIp(host);
  if (!ip) {
    throw new SrtError(
      SrtErrorCode.Call,
      `Cannot bind SRT: expected an IP address, got '${hostname}'`,
    );
  }
  const out = new Uint8Array(ip.family === 4 ? 16 : 28);
  const v = new DataView(out.buffer);
  v.setUint16(0, ip.family === 4 ? AF_INET : AF_INET6, true);
  v.setUint16(2, port, false);
  out.set(ip.bytes, ip.family === 4 ? 4 : 8);
  return out;
}

/** Decodes a sockaddr_in/in6. */
export function decodeSockaddr(b: Uint8Array): SrtAddress | undefined {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const family = v.getUint16(0, true);
  const port = v.getUint16(2, false);
  if (family === AF_INET) {
    return { hostname: [...b.subarray(4, 8)].join("."), port };
  }
  if (family === AF_INET6) {
    const parts: string[] = [];
    for (let i = 0; i < 8; i++) parts.push(v.getUint16(8 + 2 * i).toString(16));
    return {
      hostname: parts.join(":").replace(/(^|:)0(:0)+(:|$)/, "::"),
      port,
    };
  }
  return undefined;
}

/** The calls, with errors turned into {@link SrtError}s. */
export class Libsrt {
  readonly #s: Symbols;
  readonly name: string;

  #released = false;

  constructor(symbols: Symbols, name: string) {
    this.#s = symbols;
    this.name = name;
  }

  /** This user is done with libsrt (its sockets closed); idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    releaseLibsrt();
  }

  /** libsrt's version, e.g. `1.5.1`. */
  get version(): string {
    const v = this.#s.srt_getversion();
    return `${v >> 16}.${(v >> 8) & 0xff}.${v & 0xff}`;
  }

  /** The calling thread's last SRT error code. */
  lastErrno(): number {
    return this.#s.srt_getlasterror(null);
  }

  #fail(what: string): SrtError {
    const code = this.#s.srt_getlasterror(null);
    const p = this.#s.srt_getlasterror_str();
    const text = p ? Deno.UnsafePointerView.getCString(p) : `error ${code}`;
    return new SrtError(SrtErrorCode.Call, `Cannot ${what}: ${text}`, code);
  }

  createSocket(): number {
    const s = this.#s.srt_create_socket();
    if (s < 0) throw this.#fail("create an SRT socket");
    return s;
  }

  setInt(sock: number, opt: number, value: number, what: string): void {
    if (this.#s.srt_setsockflag(sock, opt, int32(value), 4) < 0) {
      throw this.#fail(`set ${what}`);
    }
  }

  setBool(sock: number, opt: number, value: boolean, what: string): void {
    // libsrt reads bool options as int-sized or bool-sized; 4 bytes covers both.
    this.setInt(sock, opt, value ? 1 : 0, what);
  }

  setString(sock: number, opt: number, value: string, what: string): void {
    const b = new TextEncoder().encode(value);
    if (this.#s.srt_setsockflag(sock, opt, b, b.byteLength) < 0) {
      throw this.#fail(`set ${what}`);
    }
  }

  getString(sock: number, opt: number, maxBytes: number): string {
    const buf = new Uint8Array(maxBytes + 1);
    const len = int32(maxBytes);
    if (this.#s.srt_getsockflag(sock, opt, buf, len) < 0) return "";
    const n = new DataView(len.buffer).getInt32(0, true);
    return new TextDecoder().decode(
      buf.subarray(0, Math.max(0, Math.min(n, maxBytes))),
    );
  }

  getInt(sock: number, opt: number): number {
    const buf = new Uint8Array(8);
    const len = int32(4);
    if (this.#s.srt_getsockflag(sock, opt, buf, len) < 0) return -1;
    return new DataView(buf.buffer).getInt32(0, true);
  }

  bind(sock: number, hostname: string, port: number): void {
    const a = encodeSockaddr(hostname, port);
    if (this.#s.srt_bind(sock, a, a.byteLength) < 0) {
      throw this.#fail(`bind SRT to ${hostname}:${port}`);
    }
  }

  listen(sock: number, backlog: number): void {
    if (this.#s.srt_listen(sock, backlog) < 0) {
      throw this.#fail("listen for SRT");
    }
  }

  /** A pending connection, or `undefined` when none waits (non-blocking listener). */
  accept(
    sock: number,
  ): { sock: number; peer: SrtAddress | undefined } | undefined {
    const a = new Uint8Array(SOCKADDR_STORAGE_BYTES);
    const len = int32(SOCKADDR_STORAGE_BYTES);
    const s = this.#s.srt_accept(sock, a, len);
    if (s < 0) {
      if (this.lastErrno() === SrtErrno.AsyncRcv) return undefined;
      throw this.#fail("accept an SRT connection");
    }
    return { sock: s, peer: decodeSockaddr(a) };
  }

  /**
   * Connects a caller socket (blocking, on the FFI thread pool; bounded by SRTO_CONNTIMEO).
   * @returns 0, or -1 (then {@link rejectReason} tells why).
   */
  connect(sock: number, hostname: string, port: number): Promise<number> {
    const a = encodeSockaddr(hostname, port);
    return this.#s.srt_connect_nb(sock, a, a.byteLength);
  }

  /** Why a caller's connection was rejected (e.g. a wrong passphrase: `BADSECRET`). */
  rejectReason(sock: number): string {
    const r = this.#s.srt_getrejectreason(sock);
    const p = this.#s.srt_rejectreason_str(r);
    return p ? Deno.UnsafePointerView.getCString(p) : `reason ${r}`;
  }

  peerName(sock: number): SrtAddress | undefined {
    const a = new Uint8Array(SOCKADDR_STORAGE_BYTES);
    const len = int32(SOCKADDR_STORAGE_BYTES);
    return this.#s.srt_getpeername(sock, a, len) < 0
      ? undefined
      : decodeSockaddr(a);
  }

  sockName(sock: number): SrtAddress | undefined {
    const a = new Uint8Array(SOCKADDR_STORAGE_BYTES);
    const len = int32(SOCKADDR_STORAGE_BYTES);
    return this.#s.srt_getsockname(sock, a, len) < 0
      ? undefined
      : decodeSockaddr(a);
  }

  close(sock: number): void {
    this.#s.srt_close(sock);
  }

  state(sock: number): number {
    return this.#s.srt_getsockstate(sock);
  }

  /**
   * One message into `buf`.
   * @returns Its length, 0 when nothing waits, -1 when the connection is gone.
   */
  recv(sock: number, buf: Uint8Array): number {
    const n = this.#s.srt_recvmsg(sock, buf, buf.byteLength);
    if (n >= 0) return n;
    return this.lastErrno() === SrtErrno.AsyncRcv ? 0 : -1;
  }

  /**
   * Sends one message (at most {@link SRT_LIVE_MAX_PAYLOAD_BYTES}).
   * @returns true when queued; false when the send buffer is full; throws when gone.
   */
  send(sock: number, msg: Uint8Array): boolean {
    if (this.#s.srt_sendmsg(sock, msg, msg.byteLength, -1, 0) >= 0) return true;
    if (this.lastErrno() === SrtErrno.AsyncSnd) return false;
    throw this.#fail("send on SRT");
  }

  epollCreate(): number {
    const e = this.#s.srt_epoll_create();
    if (e < 0) throw this.#fail("create an SRT epoll");
    return e;
  }

  epollAdd(eid: number, sock: number, events: number): void {
    if (this.#s.srt_epoll_add_usock(eid, sock, int32(events)) < 0) {
      throw this.#fail("watch an SRT socket");
    }
  }

  epollRemove(eid: number, sock: number): void {
    this.#s.srt_epoll_remove_usock(eid, sock);
  }

  /**
   * Waits up to `timeoutMs` on a pool thread.
   * @param events Room for {@link EPOLL_EVENTS} SRT_EPOLL_EVENT {int fd; int events} pairs;
   *   kept alive by the caller until the promise settles.
   * @returns How many were reported (0 on timeout, negative on error).
   */
  epollWait(
    eid: number,
    events: Uint8Array,
    timeoutMs: number,
  ): Promise<number> {
    return this.#s.srt_epoll_uwait_nb(
      eid,
      events,
      events.byteLength / 8,
      BigInt(timeoutMs),
    );
  }

  epollRelease(eid: number): void {
    this.#s.srt_epoll_release(eid);
  }
}
