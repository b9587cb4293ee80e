/**
 * Helpers of the HTTP/1.1 server's tests: a server for one test, and raw TCP clients that send
 * exact bytes and read what comes back until the server closes (each bounded in time).
 */
import {
  type Http1Handler,
  type Http1Server,
  type Http1ServerOptions,
  serveHttp1,
} from "../../../net/http1/mod.ts";

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** A whole keep-alive GET, and one asking the server to close after its answer. */
export const GET = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
export const CLOSE = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/** Runs `fn` against a server on a free loopback port, shut down afterwards. */
export async function withServer(
  handler: Http1Handler,
  fn: (port: number) => Promise<void>,
  options: Partial<Http1ServerOptions> = {},
): Promise<void> {
  const server = serveHttp1(
    { hostname: "127.0.0.1", port: 0, ...options },
    handler,
  );
  try {
    await fn(server.addr.port);
  } finally {
    await server.shutdown(1000);
  }
}

/** A server on a free loopback port; the caller shuts it down. */
export function start(
  handler: Http1Handler,
  options: Partial<Http1ServerOptions> = {},
): Http1Server {
  return serveHttp1({ hostname: "127.0.0.1", port: 0, ...options }, handler);
}

export function connect(server: Http1Server): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
}

export function closeAll(conns: Iterable<Deno.Conn>): void {
  for (const c of conns) {
    try {
      c.close();
    } catch { /* closed by the server */ }
  }
}

/** Sends `wire`, reads until the server closes (or `untilText` arrived, or 3 s passed). */
export async function exchange(
  port: number,
  wire: string | Uint8Array,
  opts: { untilText?: string } = {},
): Promise<{ text: string; closed: boolean }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const chunks: Uint8Array[] = [];
  let closed = false;
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch { /* closed */ }
  }, 3000);
  try {
    await conn.write(typeof wire === "string" ? enc(wire) : wire);
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) {
        closed = true;
        break;
      }
      chunks.push(buf.slice(0, n));
      if (opts.untilText && dec(concatAll(chunks)).includes(opts.untilText)) {
        break;
      }
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed */ }
  }
  return { text: dec(concatAll(chunks)), closed };
}

export function concatAll(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
