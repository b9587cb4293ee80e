/**
 * Upstreams that misbehave, on loopback: a TCP server that answers with seeded garbage, one
 * that accepts and never answers, one that closes at once; HTTP servers with a handler of the
 * test's choosing. Each records its connections and is closed by the test.
 *
 * @module
 */
import { createPrng, randomBytes } from "../../_helpers/prng.ts";

/** A raw TCP upstream. */
export interface RawUpstream {
  readonly url: string;
  readonly port: number;
  connections: number;
  close(): Promise<void>;
}

/**
 * `garbage`: seeded random bytes after any input (optionally after a valid-looking S0);
 * `silent`: reads and ignores; `close`: closes each connection at once.
 */
export function startRawUpstream(
  mode: "garbage" | "silent" | "close",
  options: { seed?: number; s0?: boolean } = {},
): RawUpstream {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const conns = new Set<Deno.Conn>();
  const next = createPrng(options.seed ?? 7);
  const state = { connections: 0 };
  const serve = async (conn: Deno.Conn) => {
    conns.add(conn);
    state.connections++;
    try {
      if (mode === "close") return;
      const buf = new Uint8Array(4096);
      let answered = false;
      while (true) {
        const n = await conn.read(buf);
        if (n === null) return;
        if (mode === "garbage" && !answered) {
          answered = true;
          const junk = randomBytes(next, 8192);
          if (options.s0) junk[0] = 3;
          await conn.write(junk);
        }
      }
    } catch {
      // the client went away
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // closed
      }
    }
  };
  const accepting = (async () => {
    try {
      for await (const conn of listener) void serve(conn);
    } catch {
      // listener closed
    }
  })();
  return {
    url: `rtmp://127.0.0.1:${port}`,
    port,
    get connections() {
      return state.connections;
    },
    set connections(n: number) {
      state.connections = n;
    },
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // closed
        }
      }
      await accepting;
    },
  };
}

/** An HTTP upstream answering with `handler`. */
export function startHttpUpstream(
  handler: (req: Request) => Response | Promise<Response>,
): { readonly url: string; close(): Promise<void> } {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    handler,
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    close: () => server.shutdown(),
  };
}
