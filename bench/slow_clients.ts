/**
 * Slow clients against the origin's HTTP and RTMP ports (the audit's connection-level denial
 * of service, issue 12): N sockets from one address that send half a request head (HTTP) or
 * half a handshake (RTMP) and wait, then how long a fresh client takes to be served. Also how
 * long a head or handshake trickled at 1 byte per 100 ms lives under the default deadlines.
 *
 * Starts its own origin in this process (ports 0, the demo channel, loopback NOT trusted so
 * 127.0.0.1 is an ordinary client) once per scenario:
 * - `per_address`: the default limits; N slow sockets from 127.0.0.1, the fresh client from
 *   127.0.0.2 (Linux loopback is 127.0.0.0/8).
 * - `full`: `maxConnections` N/2, no per-address cap; N slow sockets and the fresh client from
 *   127.0.0.1 (it gets a slot by evicting the oldest pending socket).
 * - `trickle`: one client per port at 1 byte per 100 ms against the default deadlines.
 *
 * usage: deno run -A bench/slow_clients.ts [N=1000] [FRESH=20]
 * 127.0.0.1/127.0.0.2 only; every scenario is bounded (the trickle one by 15 s).
 *
 * @module
 */

import { type LimitsConfig, parseConfig } from "../config/mod.ts";
import { silentLogger } from "../log/mod.ts";
import { MetricsRegistry } from "../metrics/mod.ts";
import { startOrigin } from "../origin/mod.ts";
import { decodeCommand } from "../codec/rtmp/mod.ts";
import { RawClient } from "../tests/_helpers/rtmp_client.ts";
import { connectFrom, readUntil, trickle } from "../tests/_helpers/sockets.ts";

const n = Number(Deno.args[0] ?? 1000);
const fresh = Number(Deno.args[1] ?? 20);
const enc = (s: string) => new TextEncoder().encode(s);
const HEALTHZ = "GET /healthz HTTP/1.1\r\nHost: o\r\nConnection: close\r\n\r\n";

function c0c1(): Uint8Array {
  const b = new Uint8Array(1537);
  b[0] = 3;
  return b;
}

function limitsWith(patch: {
  http?: Partial<LimitsConfig["http"]>;
  rtmp?: Partial<LimitsConfig["rtmp"]>;
}): LimitsConfig {
  const d = parseConfig({}).limits;
  return {
    ...d,
    trustedNetworks: ["10.0.0.0/8"],
    http: { ...d.http, ...patch.http },
    rtmp: { ...d.rtmp, ...patch.rtmp },
  };
}

async function withOrigin<T>(
  limits: LimitsConfig,
  fn: (
    o: { http: number; rtmp: number; metrics: MetricsRegistry },
  ) => Promise<T>,
): Promise<T> {
  const metrics = new MetricsRegistry();
  const config = parseConfig({ origin: { rtmpPort: 0, httpPort: 0 } });
  const origin = await startOrigin(config.origin, {
    log: silentLogger,
    metrics,
    limits,
  });
  try {
    return await fn({ http: origin.httpPort, rtmp: origin.rtmpPort, metrics });
  } finally {
    await origin.close();
  }
}

/** Opens `count` sockets to `port` that each send `bytes` and then nothing. */
async function holdSlow(
  port: number,
  count: number,
  bytes: Uint8Array,
): Promise<Deno.Conn[]> {
  const held: Deno.Conn[] = [];
  for (let i = 0; i < count; i++) {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    held.push(c);
    await c.write(bytes).catch(() => {}); // refused ones may be closed already
  }
  return held;
}

function closeAll(conns: Deno.Conn[]): void {
  for (const c of conns) {
    try {
      c.close();
    } catch { /* closed by the server */ }
  }
}

function summary(ms: number[], ok: number): string {
  const s = [...ms].sort((a, b) => a - b);
  const p = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return `${ok}/${ms.length} served, p50 ${p(0.5)?.toFixed(1)} ms, max ${
    s.at(-1)?.toFixed(1)
  } ms`;
}

function metric(text: string, re: RegExp): string {
  return text.match(re)?.[1] ?? "0";
}

async function freshHttp(
  port: number,
  from?: string,
): Promise<number | undefined> {
  const t0 = performance.now();
  if (from) {
    const c = await connectFrom(from, port);
    try {
      await c.write(HEALTHZ);
      const r = await c.read(5000);
      return /^HTTP\/1\.1 200 /.test(r.text)
        ? performance.now() - t0
        : undefined;
    } finally {
      c.close();
    }
  }
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await c.write(enc(HEALTHZ));
    const r = await readUntil(c, 5000);
    return /^HTTP\/1\.1 200 /.test(r.text) ? performance.now() - t0 : undefined;
  } finally {
    closeAll([c]);
  }
}

/** A fresh RTMP client: from 127.0.0.2, until the handshake answer; from 127.0.0.1, through connect. */
async function freshRtmp(
  port: number,
  from?: string,
): Promise<number | undefined> {
  const t0 = performance.now();
  if (from) {
    const c = await connectFrom(from, port);
    try {
      await c.write(c0c1());
      const r = await c.read(5000, 3073); // S0 + S1 + S2
      return r.bytes >= 3073 ? performance.now() - t0 : undefined;
    } finally {
      c.close();
    }
  }
  let client: RawClient | undefined;
  try {
    client = await RawClient.connect(port);
    await client.send("connect", 1, { app: "live" }, []);
    await client.until(
      (m) => m.typeId === 20 && decodeCommand(m.payload, 20).name === "_result",
      5000,
    );
    return performance.now() - t0;
  } catch {
    return undefined;
  } finally {
    if (client) closeAll([client.conn]);
  }
}

async function measure(
  what: string,
  once: () => Promise<number | undefined>,
): Promise<void> {
  const ms: number[] = [];
  let ok = 0;
  for (let i = 0; i < fresh; i++) {
    const t = await once();
    if (t !== undefined) {
      ok++;
      ms.push(t);
    } else ms.push(5000);
  }
  console.log(`  ${what}: ${summary(ms, ok)}`);
}

console.log(`slow clients: N=${n} slow sockets, ${fresh} fresh clients each`);

/** Connections open on both ports, and refused and evicted so far, from `/metrics`. */
function counts(metrics: MetricsRegistry): string {
  const t = metrics.render();
  const of = (l: string) =>
    `open ${
      metric(t, new RegExp(`connections_open\\{listener="${l}"\\} (\\d+)`))
    }, ` +
    `refused per_address ${
      metric(
        t,
        new RegExp(
          `refused_total\\{listener="${l}",reason="per_address"\\} (\\d+)`,
        ),
      )
    }, evicted ${
      metric(t, new RegExp(`evicted_total\\{listener="${l}"\\} (\\d+)`))
    }`;
  return `http: ${of("origin_http")}; rtmp: ${of("origin_rtmp")}`;
}

console.log(`per_address (default limits, loopback untrusted):`);
await withOrigin(limitsWith({}), async ({ http, rtmp, metrics }) => {
  const t0 = performance.now();
  const a = await holdSlow(http, n, enc("GET /api/str"));
  const b = await holdSlow(rtmp, n, c0c1().subarray(0, 100));
  try {
    console.log(
      `  held in ${(performance.now() - t0).toFixed(0)} ms: ${counts(metrics)}`,
    );
    await measure(
      "HTTP fresh from 127.0.0.2",
      () => freshHttp(http, "127.0.0.2"),
    );
    await measure(
      "RTMP fresh from 127.0.0.2",
      () => freshRtmp(rtmp, "127.0.0.2"),
    );
    console.log(`  after: ${counts(metrics)}`);
  } finally {
    closeAll(a);
    closeAll(b);
  }
});

const half = Math.max(1, Math.floor(n / 2));
console.log(`full (maxConnections ${half}, no per-address cap):`);
await withOrigin(
  limitsWith({
    http: { maxConnections: half, maxConnectionsPerAddress: 0 },
    rtmp: { maxConnections: half, maxConnectionsPerAddress: 0 },
  }),
  async ({ http, rtmp, metrics }) => {
    const t0 = performance.now();
    const a = await holdSlow(http, n, enc("GET /api/str"));
    const b = await holdSlow(rtmp, n, c0c1().subarray(0, 100));
    try {
      console.log(
        `  held in ${(performance.now() - t0).toFixed(0)} ms: ${
          counts(metrics)
        }`,
      );
      await measure("HTTP fresh from 127.0.0.1", () => freshHttp(http));
      await measure("RTMP fresh from 127.0.0.1", () => freshRtmp(rtmp));
      console.log(`  after: ${counts(metrics)}`);
    } finally {
      closeAll(a);
      closeAll(b);
    }
  },
);

console.log(`trickle (1 byte per 100 ms, default deadlines):`);
await withOrigin(limitsWith({}), async ({ http, rtmp }) => {
  const h = await Deno.connect({ hostname: "127.0.0.1", port: http });
  const r = await Deno.connect({ hostname: "127.0.0.1", port: rtmp });
  try {
    const [th, tr] = await Promise.all([
      trickle(
        h,
        `GET /${"a".repeat(400)} HTTP/1.1\r\nHost: o\r\n\r\n`,
        100,
        15_000,
      ),
      trickle(r, c0c1(), 100, 15_000),
    ]);
    console.log(
      `  HTTP head: ${
        th.closed ? "cut after" : "NOT cut in"
      } ${th.ms} ms, ${th.sent} bytes sent, answer ${
        th.text.slice(0, th.text.indexOf("\r\n")) || "none"
      }`,
    );
    console.log(
      `  RTMP handshake: ${
        tr.closed ? "cut after" : "NOT cut in"
      } ${tr.ms} ms, ${tr.sent} bytes sent`,
    );
  } finally {
    closeAll([h, r]);
  }
});
