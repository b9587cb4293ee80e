/**
 * A loopback TCP relay standing between one store and Redis, so a test can cut that one node
 * off while Redis and the other nodes go on (a partition), then let it back.
 *
 * @module
 */

/** Relays 127.0.0.1:`port` to 127.0.0.1:`targetPort` while not cut. */
export class TcpRelay {
  readonly port: number;
  readonly #listener: Deno.TcpListener;
  readonly #targetPort: number;
  readonly #open = new Set<Deno.Conn>();
  readonly #pipes = new Set<Promise<void>>();
  #cut = false;
  #accepting: Promise<void>;

  constructor(targetPort: number) {
    this.#targetPort = targetPort;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#accepting = this.#accept();
  }

  async #accept(): Promise<void> {
    for await (const conn of this.#listener) {
      if (this.#cut) {
        conn.close();
        continue;
      }
      const p = this.#relay(conn);
      this.#pipes.add(p);
      p.finally(() => this.#pipes.delete(p));
    }
  }

  async #relay(client: Deno.Conn): Promise<void> {
    let server: Deno.Conn;
    try {
      server = await Deno.connect({
        hostname: "127.0.0.1",
        port: this.#targetPort,
      });
    } catch {
      client.close();
      return;
    }
    this.#open.add(client);
    this.#open.add(server);
    const pump = async (from: Deno.Conn, to: Deno.Conn) => {
      const buf = new Uint8Array(64 * 1024);
      try {
        while (true) {
          const n = await from.read(buf);
          if (n === null) break;
          let off = 0;
          while (off < n) off += await to.write(buf.subarray(off, n));
        }
      } catch {
        // either side closed
      }
      for (const c of [from, to]) {
        if (this.#open.delete(c)) {
          try {
            c.close();
          } catch {
            // already closed
          }
        }
      }
    };
    await Promise.all([pump(client, server), pump(server, client)]);
  }

  /** Drops every relayed connection and refuses new ones until {@link restore}. */
  cut(): void {
    this.#cut = true;
    for (const c of [...this.#open]) {
      this.#open.delete(c);
      try {
        c.close();
      } catch {
        // already closed
      }
    }
  }

  /** Relays new connections again. */
  restore(): void {
    this.#cut = false;
  }

  async close(): Promise<void> {
    this.cut();
    this.#listener.close();
    await this.#accepting.catch(() => {});
    await Promise.allSettled([...this.#pipes]);
  }
}
