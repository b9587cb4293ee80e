/**
 * A TLS listener whose certificates change without a restart: `Deno.listenTls` generations on
 * one port, a handshake deadline on every connection, and `TCP_NODELAY` (`nodelay.ts`).
 *
 * What Deno 2.9 offers, and why this shape:
 * - `Deno.listenTls({ cert, key })` serves one certificate, fixed for the listener's life;
 *   there is no public way to change it, nor a server-side `Deno.startTls` to run TLS on a
 *   connection accepted by `Deno.listen`.
 * - Several certificates by SNI: `Deno.listenTls` takes a resolver callback, so far only under
 *   `Symbol.for("unstableSniResolver")` (2.9; newer releases name it `resolveCertificate`, and
 *   we pass both). Deno caches its answer per server name for the listener's life: the
 *   callback is asked once per name, so it cannot serve a reloaded certificate, and on 2.9 the
 *   cache has no bound (3,000 made-up names held 15 MiB, measured here).
 * - So a change of certificates opens a new generation: a second `Deno.listenTls` on the same
 *   port with `SO_REUSEPORT` (Linux spreads new connections over the bound sockets), then the
 *   old listener closes. Connections already accepted are untouched; the accept loop moves to
 *   the new listener. What the old one had queued but not accepted at that instant is reset by
 *   the kernel, unless `net.ipv4.tcp_migrate_req = 1` (Linux 5.14+) hands it to the new one.
 *   With several certificates, a generation that has resolved {@link MAX_RESOLVED_NAMES}
 *   distinct names is replaced the same way (at most once per {@link MIN_REBIND_INTERVAL_MS}),
 *   which bounds that cache. With one certificate the documented `cert`/`key` options are used
 *   and no resolver exists.
 * - Restarting on a fixed port would leave it closed for a moment (connections refused), and a
 *   TLS terminator in front (nginx, a TCP proxy to our own port) would cost a copy of every
 *   byte and a process to run.
 *
 * The handshake happens on the first read or write of an accepted connection; `accept()`
 * returns before it, so admission (the listener's `ConnGuard`) and the caller's own request
 * deadline see the connection at once. The handshake deadline is added here: a client that
 * opens TCP and never finishes the handshake is closed after `handshakeTimeoutMs`. Closing a
 * `Deno.TlsConn` during its handshake leaves its socket open in Deno 2.9 (`proc_sockets.ts`),
 * so a connection closed then (by this deadline, a guard's eviction, a server's own deadline)
 * has its socket shut down too, in batches every {@link ORPHAN_SWEEP_MS}.
 *
 * A fixed port is first bound once without `SO_REUSEPORT`, so another process already on it
 * (with or without the flag) is an `AddrInUse` error at start-up, not a silent share.
 *
 * @module
 */

import type { CertificateSet } from "./certificates.ts";
import { TlsError, TlsErrorCode } from "./errors.ts";
import {
  setListenerNoDelay,
  shutdownSockets,
  type SocketTarget,
} from "./proc_sockets.ts";
import type { TlsCertificates } from "./reload.ts";

/**
 * Distinct server names one generation resolves before it is replaced (several certificates
 * only): about 5 KiB each in Deno's cache, so about 5 MiB at most.
 */
export const MAX_RESOLVED_NAMES = 1000;
/** A generation replaced for its name count lives at least this long (ms). */
export const MIN_REBIND_INTERVAL_MS = 1000;

/**
 * Sockets of connections closed during their handshake are shut down in one pass this often
 * (ms): each pass reads `/proc`, so a flood of them costs a few passes a second, not one each.
 */
export const ORPHAN_SWEEP_MS = 100;

/** Deno 2.9's name for the SNI resolver option of `Deno.listenTls`. */
const SNI_RESOLVER = Symbol.for("unstableSniResolver");

/** Options of {@link listenTls}. */
export interface TlsListenOptions {
  readonly hostname: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** A connection whose handshake is not done this long after accept is closed (ms). */
  readonly handshakeTimeoutMs: number;
  /** ALPN protocols announced (`["http/1.1"]` for HTTPS); none by default. */
  readonly alpnProtocols?: string[];
  /**
   * With several certificates: distinct names a generation resolves before it is replaced.
   * @default MAX_RESOLVED_NAMES
   */
  readonly maxResolvedNames?: number;
}

/** What an accept loop needs of a listener (a `Deno.Listener` has it too). */
export interface AcceptSource {
  readonly addr: Deno.Addr;
  accept(): Promise<Deno.Conn>;
  close(): void;
}

/** One `Deno.listenTls` and the names its resolver answered. */
interface Generation {
  readonly listener: Deno.TlsListener;
  readonly openedAt: number;
  resolved: number;
}

/** A TLS listener that rebinds itself when its certificates change (see the module comment). */
export class ReloadingTlsListener implements AcceptSource {
  readonly addr: Deno.NetAddr;
  readonly #options: TlsListenOptions;
  readonly #certs: TlsCertificates;
  readonly #maxNames: number;
  readonly #unsubscribe: () => void;
  #gen: Generation;
  #closed = false;
  #rebindPending = false;
  #noDelayTold = false;
  #orphans: SocketTarget[] = [];
  #orphanTimer: ReturnType<typeof setTimeout> | undefined;

  /** @internal Made by {@link listenTls}. */
  constructor(options: TlsListenOptions, certs: TlsCertificates) {
    this.#options = options;
    this.#certs = certs;
    this.#maxNames = options.maxResolvedNames ?? MAX_RESOLVED_NAMES;
    if (options.port !== 0) {
      // Refuse a port someone holds before binding it with SO_REUSEPORT (see the module).
      Deno.listen({ hostname: options.hostname, port: options.port }).close();
    }
    this.#gen = this.#open(options.port, certs.current);
    this.addr = this.#gen.listener.addr;
    this.#noDelay();
    this.#unsubscribe = certs.onChange(() => this.#rebind("reload"));
  }

  #open(port: number, set: CertificateSet): Generation {
    const base = {
      hostname: this.#options.hostname,
      port,
      reusePort: true,
      ...(this.#options.alpnProtocols
        ? { alpnProtocols: this.#options.alpnProtocols }
        : {}),
    };
    if (set.certificates.length === 1) {
      const only = set.certificates[0]!;
      return {
        listener: Deno.listenTls({ ...base, cert: only.cert, key: only.key }),
        openedAt: Date.now(),
        resolved: 0,
      };
    }
    const gen: { resolved: number } = { resolved: 0 };
    const resolve = (serverName: string) => {
      gen.resolved++;
      if (gen.resolved > this.#maxNames) this.#rebindSoon();
      const c = set.select(serverName);
      return { cert: c.cert, key: c.key };
    };
    let listener: Deno.TlsListener;
    try {
      listener = Deno.listenTls(
        {
          ...base,
          [SNI_RESOLVER]: resolve,
          resolveCertificate: resolve,
        } as unknown as Deno.ListenTlsOptions & Deno.TlsCertifiedKeyPem,
      );
    } catch (cause) {
      if (
        cause instanceof TypeError && /key and certificate/i.test(cause.message)
      ) {
        throw new TlsError(
          TlsErrorCode.NoSni,
          `Cannot serve ${set.certificates.length} TLS certificates by SNI: this Deno (${Deno.version.deno}) has no certificate resolver; configure one certificate per listener`,
          { cause },
        );
      }
      throw cause;
    }
    return Object.assign(gen, { listener, openedAt: Date.now() });
  }

  #noDelay(): void {
    if (setListenerNoDelay(this.addr.port) > 0 || this.#noDelayTold) return;
    this.#noDelayTold = true;
    this.#certs.log.warn("TLS connections keep Nagle's algorithm", {
      port: this.addr.port,
      why: "TCP_NODELAY needs Linux, --allow-ffi and read access to /proc",
    });
  }

  /** A generation full of names is replaced once it has lived its minimum. */
  #rebindSoon(): void {
    if (this.#rebindPending || this.#closed) return;
    this.#rebindPending = true;
    const wait = Math.max(
      0,
      this.#gen.openedAt + MIN_REBIND_INTERVAL_MS - Date.now(),
    );
    const t = setTimeout(() => {
      this.#rebindPending = false;
      if (this.#gen.resolved > this.#maxNames) this.#rebind("sniNames");
    }, wait);
    Deno.unrefTimer(t);
  }

  /** Opens the next generation on the same port, then closes the current one. */
  #rebind(why: "reload" | "sniNames"): void {
    if (this.#closed) return;
    const old = this.#gen;
    try {
      this.#gen = this.#open(this.addr.port, this.#certs.current);
    } catch (e) {
      // The port cannot be bound again (out of descriptors): keep serving what was.
      this.#certs.stats.reloadErrors++;
      this.#certs.log.error(
        "TLS listener not rebound: the old certificates stay",
        {
          port: this.addr.port,
          error: e instanceof Error ? e.message : String(e),
        },
      );
      return;
    }
    this.#certs.stats.rebinds[why]++;
    this.#noDelay();
    try {
      old.listener.close(); // its pending accept rejects; accept() moves on
    } catch {
      // already closed
    }
  }

  /** The next connection, its handshake under the deadline. */
  async accept(): Promise<Deno.TlsConn> {
    for (;;) {
      const gen = this.#gen;
      let conn: Deno.TlsConn;
      try {
        conn = await gen.listener.accept();
      } catch (e) {
        if (!this.#closed && gen !== this.#gen) continue; // replaced meanwhile
        throw e;
      }
      this.#watchHandshake(conn);
      return conn;
    }
  }

  #watchHandshake(conn: Deno.TlsConn): void {
    const stats = this.#certs.stats;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      stats.handshakeTimeouts++;
      try {
        conn.close();
      } catch {
        // closed by its owner already
      }
    }, this.#options.handshakeTimeoutMs);
    conn.handshake().then(
      () => void stats.handshakes++,
      (e) => {
        if (!timedOut) stats.handshakeErrors++;
        // Closed by us (deadline, eviction) before the handshake ended: Deno keeps the socket.
        if (e instanceof Deno.errors.Interrupted) this.#orphaned(conn);
      },
    ).finally(() => clearTimeout(timer));
  }

  #orphaned(conn: Deno.TlsConn): void {
    this.#orphans.push({
      localPort: (conn.localAddr as Deno.NetAddr).port,
      remote: conn.remoteAddr as Deno.NetAddr,
    });
    this.#orphanTimer ??= setTimeout(() => {
      this.#orphanTimer = undefined;
      const batch = this.#orphans;
      this.#orphans = [];
      shutdownSockets(batch);
    }, ORPHAN_SWEEP_MS);
  }

  /** Stops listening; accepted connections are their owners' to close. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    this.#gen.listener.close();
    if (this.#orphanTimer !== undefined) {
      clearTimeout(this.#orphanTimer);
      this.#orphanTimer = undefined;
      shutdownSockets(this.#orphans);
      this.#orphans = [];
    }
  }
}

/**
 * Listens for TLS on `hostname:port` with `certs`, rebinding when they change.
 *
 * @throws {Deno.errors.AddrInUse} When the port is taken (and other listen errors).
 * @throws {TlsError} `TLS_NO_SNI` when several certificates are configured and this Deno has
 *   no certificate resolver.
 */
export function listenTls(
  options: TlsListenOptions,
  certs: TlsCertificates,
): ReloadingTlsListener {
  return new ReloadingTlsListener(options, certs);
}
