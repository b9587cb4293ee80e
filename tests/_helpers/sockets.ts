/**
 * Raw TCP clients for abuse tests: slow ("trickled") writers, sockets held open, and a second
 * client address on one machine.
 *
 * Why `node:net` for {@link connectFrom}: `Deno.connect` cannot choose its source address, and a
 * connection to any 127.x address leaves from 127.0.0.1 (the loopback route's `src`). Linux's
 * loopback is all of 127.0.0.0/8, so binding 127.0.0.2 as the source gives a server a second
 * client address; `node:net`'s `localAddress` does that bind.
 *
 * @module
 */
import net from "node:net";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** What a client read before the server closed (or the wait ended). */
export interface ReadResult {
  readonly text: string;
  readonly bytes: number;
  /** The server closed the connection (EOF or reset). */
  readonly closed: boolean;
  /** Milliseconds from the start of the wait to the close (or to the end of the wait). */
  readonly ms: number;
}

/**
 * Reads from `conn` until the server closes it, `untilText` has arrived, or `ms` passed.
 * A reset counts as closed.
 */
export async function readUntil(
  conn: Deno.Conn,
  ms: number,
  untilText?: string,
): Promise<ReadResult> {
  const t0 = Date.now();
  const parts: Uint8Array[] = [];
  let bytes = 0;
  let closed = false;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn.close();
    } catch { /* closed */ }
  }, ms);
  const buf = new Uint8Array(65536);
  try {
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) {
        closed = !timedOut;
        break;
      }
      parts.push(buf.slice(0, n));
      bytes += n;
      if (untilText && dec(join(parts)).includes(untilText)) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return { text: dec(join(parts)), bytes, closed, ms: Date.now() - t0 };
}

/**
 * Writes `wire` one byte every `stepMs` until it is all sent, the server closes the connection,
 * or `maxMs` passed; then reads what the server answered.
 *
 * @returns When the server cut the connection (`ms` from the first byte), what it sent, and how
 *   many bytes got out.
 */
export async function trickle(
  conn: Deno.Conn,
  wire: string | Uint8Array,
  stepMs: number,
  maxMs: number,
): Promise<ReadResult & { sent: number }> {
  const bytes = typeof wire === "string" ? enc(wire) : wire;
  const t0 = Date.now();
  let sent = 0;
  // The server's answer (a 408, a close) is read while writing.
  const reading = readUntil(conn, maxMs);
  while (sent < bytes.length && Date.now() - t0 < maxMs) {
    try {
      await conn.write(bytes.subarray(sent, sent + 1));
    } catch {
      break; // cut
    }
    sent++;
    const done = await Promise.race([
      reading.then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), stepMs)),
    ]);
    if (done) break;
  }
  const r = await reading;
  return { ...r, ms: Date.now() - t0, sent };
}

/** A connection from a chosen source address (see the module comment). */
export interface SourcedConn {
  write(bytes: string | Uint8Array): Promise<void>;
  /**
   * Reads until the server closes, `until` arrives (a text, or a count of bytes) or `ms`
   * passed; returns everything read on the connection so far.
   */
  read(ms: number, until?: string | number): Promise<ReadResult>;
  close(): void;
}

/**
 * Connects to `hostname:port` from `localAddress` (e.g. `127.0.0.2`).
 *
 * @throws {Error} When the connection fails.
 */
export function connectFrom(
  localAddress: string,
  port: number,
  hostname = "127.0.0.1",
): Promise<SourcedConn> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: hostname, port, localAddress });
    const parts: Uint8Array[] = [];
    let closed = false;
    let wake: (() => void) | undefined;
    const poke = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    sock.on("data", (d: Uint8Array) => {
      parts.push(new Uint8Array(d));
      poke();
    });
    sock.on("close", () => {
      closed = true;
      poke();
    });
    sock.on("error", (e: Error) => {
      if (!closed) reject(e);
    });
    sock.on("connect", () =>
      resolve({
        write: (b) =>
          new Promise((ok, fail) =>
            sock.write(typeof b === "string" ? enc(b) : b, (e?: Error | null) =>
              e ? fail(e) : ok())
          ),
        async read(ms, until) {
          const t0 = Date.now();
          const arrived = () =>
            typeof until === "number"
              ? join(parts).length >= until
              : until !== undefined && dec(join(parts)).includes(until);
          while (!closed && Date.now() - t0 < ms && !arrived()) {
            await new Promise<void>((r) => {
              const timer = setTimeout(r, Math.max(1, ms - (Date.now() - t0)));
              wake = () => {
                clearTimeout(timer);
                r();
              };
            });
          }
          const all = join(parts);
          return {
            text: dec(all),
            bytes: all.length,
            closed,
            ms: Date.now() - t0,
          };
        },
        close: () =>
          sock.destroy(),
      }));
  });
}

function join(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
