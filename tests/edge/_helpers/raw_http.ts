/**
 * Raw HTTP/1.1 over a socket, for tests that must see exactly what the edge writes (every
 * field line, repeated fields, interim responses) and send what `fetch` would normalise.
 */
import type { EdgeHandle } from "../../../edge/mod.ts";
import { edgeConfig, startTestEdge } from "./fixtures.ts";

/** One response as read from the wire. */
export interface RawResponse {
  /** The final status line, e.g. `HTTP/1.1 200 OK`. */
  readonly status: string;
  readonly code: number;
  /** Field values by lower-case name, one entry per field line. */
  readonly fields: Map<string, string[]>;
  readonly body: Uint8Array;
  /** Status codes of interim (1xx) responses before the final one. */
  readonly interim: number[];
}

const HEAD_END = [13, 10, 13, 10];

function indexOfHeadEnd(all: Uint8Array, from: number): number {
  for (let i = from; i + 3 < all.length; i++) {
    if (
      all[i] === HEAD_END[0] && all[i + 1] === HEAD_END[1] &&
      all[i + 2] === HEAD_END[2] && all[i + 3] === HEAD_END[3]
    ) return i;
  }
  return -1;
}

/**
 * Sends one request with `Connection: close` and reads the whole answer (bounded by
 * `timeoutMs`). `head` is the request line and fields without the final CRLF CRLF, e.g.
 * `GET /a HTTP/1.1\r\nHost: x`.
 */
export async function rawRequest(
  port: number,
  head: string,
  timeoutMs = 10_000,
): Promise<RawResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), timeoutMs);
  const parts: Uint8Array[] = [];
  try {
    await conn.write(
      new TextEncoder().encode(`${head}\r\nConnection: close\r\n\r\n`),
    );
    const buf = new Uint8Array(65536);
    for (;;) {
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch {
        break; // closed by the timer
      }
      if (n === null) break;
      parts.push(buf.slice(0, n));
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // already closed by the timer
    }
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  const interim: number[] = [];
  let start = 0;
  for (;;) {
    const end = indexOfHeadEnd(all, start);
    if (end < 0) throw new Error(`No response head from port ${port}`);
    const lines = new TextDecoder().decode(all.subarray(start, end)).split(
      "\r\n",
    );
    const status = lines[0]!;
    const code = Number(status.split(" ")[1]);
    if (code >= 100 && code < 200) {
      interim.push(code);
      start = end + 4;
      continue;
    }
    const fields = new Map<string, string[]>();
    for (const l of lines.slice(1)) {
      const i = l.indexOf(":");
      const k = l.slice(0, i).toLowerCase();
      fields.set(k, [...fields.get(k) ?? [], l.slice(i + 1).trim()]);
    }
    return { status, code, fields, body: all.subarray(end + 4), interim };
  }
}

/** `GET path` with optional extra field lines (each ending in CRLF). */
export function rawGet(
  port: number,
  path: string,
  extra = "",
): Promise<RawResponse> {
  return rawRequest(
    port,
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1${
      extra ? `\r\n${extra.replace(/\r\n$/, "")}` : ""
    }`,
  );
}

/** The edge's two HTTP servers (`edge.httpServer`), which must answer alike. */
export const HTTP_SERVERS = ["http1", "deno"] as const;

/**
 * Runs `fn` against a fresh edge on each HTTP server, in turn, pulling from `originUrl`; the
 * edge is closed afterwards whatever happens.
 */
export async function withEachServer(
  originUrl: string,
  fn: (edge: EdgeHandle, server: typeof HTTP_SERVERS[number]) => Promise<void>,
  patch: Parameters<typeof edgeConfig>[1] = {},
): Promise<void> {
  for (const httpServer of HTTP_SERVERS) {
    const edge = await startTestEdge({
      ...edgeConfig([originUrl], patch),
      httpServer,
    });
    try {
      await fn(edge, httpServer);
    } finally {
      await edge.close();
    }
  }
}
