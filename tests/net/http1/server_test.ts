/**
 * serveHttp1()'s listener over real sockets: shutdown, the request and idle deadlines the
 * timeout sweep keeps (silent and trickled heads, idle keep-alive connections), and admission
 * by a guard (a listener full of pending sockets, one address holding many, trusted networks,
 * established responses that must survive all of it).
 */
import assert from "node:assert/strict";
import {
  type Http1Server,
  liveResponse,
  type LiveSink,
  serveHttp1,
} from "../../../net/http1/mod.ts";
import { silentLogger } from "../../../log/mod.ts";
import { TlsCertificates } from "../../../net/tls/mod.ts";
import { createTestCa, haveOpenssl, type TestCa } from "../../_helpers/tls.ts";
import {
  ConnGuard,
  parseTrustedNetworks,
  registerConnGuard,
} from "../../../net/mod.ts";
import { MetricsRegistry } from "../../../metrics/mod.ts";
import { runPeer, waitFor } from "../../_helpers/peers.ts";
import { connectFrom, readUntil, trickle } from "../../_helpers/sockets.ts";
import {
  CLOSE,
  closeAll,
  connect,
  dec,
  enc,
  exchange,
  GET,
  start,
  withServer,
} from "./_exchange.ts";

Deno.test("serveHttp1() shutdown closes idle keep-alive connections and waits for a running response", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const server = serveHttp1({ hostname: "127.0.0.1", port: 0 }, async (req) => {
    if (new URL(req.url).pathname === "/slow") await gate;
    return new Response("done");
  });
  const port = server.addr.port;
  const idle = await Deno.connect({ hostname: "127.0.0.1", port });
  await idle.write(enc("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  const buf = new Uint8Array(4096);
  await idle.read(buf);
  const slow = exchange(port, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(server.connections, 2);
  const down = server.shutdown(5000);
  // The idle connection is closed at once.
  assert.equal(await idle.read(buf).catch(() => null), null);
  idle.close();
  release();
  const r = await slow;
  assert.ok(r.text.endsWith("done"), r.text);
  assert.match(r.text, /connection: close/);
  assert.equal(r.closed, true);
  await down;
  assert.equal(server.connections, 0);
});

Deno.test("serveHttp1() answers a head that never completes with 408 at headTimeoutMs", async () => {
  await withServer(() => new Response("x"), async (port) => {
    const t0 = Date.now();
    const r = await exchange(port, "GET / HT"); // a head that never completes
    const waited = Date.now() - t0;
    assert.match(r.text, /^HTTP\/1\.1 408 /);
    assert.equal(r.closed, true);
    assert.ok(waited >= 150 && waited < 2500, `closed after ${waited} ms`);
  }, { headTimeoutMs: 200 });
});

Deno.test("serveHttp1() cuts a head trickled at 1 byte per 100 ms at headTimeoutMs, with 408", async () => {
  // The idle timeout is long: only the one head deadline can cut this client.
  const server = start(() => new Response("x"), {
    headTimeoutMs: 600,
    idleTimeoutMs: 60_000,
  });
  const conn = await connect(server);
  try {
    const r = await trickle(
      conn,
      `GET /${"a".repeat(200)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      100,
      4000,
    );
    assert.equal(r.closed, true, `not cut after ${r.ms} ms (${r.sent} bytes)`);
    assert.ok(r.ms >= 500 && r.ms < 1500, `cut after ${r.ms} ms`);
    assert.match(r.text, /^HTTP\/1\.1 408 /);
  } finally {
    closeAll([conn]);
    await server.shutdown(500);
  }
});

Deno.test("serveHttp1() closes a connection that sends nothing at headTimeoutMs", async () => {
  const server = start(() => new Response("x"), {
    headTimeoutMs: 300,
    idleTimeoutMs: 60_000,
  });
  const conn = await connect(server);
  try {
    const r = await readUntil(conn, 3000);
    assert.equal(r.closed, true);
    assert.equal(r.bytes, 0, "nothing begun, nothing answered");
    assert.ok(r.ms >= 250 && r.ms < 1300, `closed after ${r.ms} ms`);
  } finally {
    closeAll([conn]);
    await server.shutdown(500);
  }
});

Deno.test("serveHttp1() closes an idle keep-alive connection at idleTimeoutMs, not at the head deadline", async () => {
  const server = start(() => new Response("x"), {
    headTimeoutMs: 200,
    idleTimeoutMs: 900,
  });
  const conn = await connect(server);
  try {
    await conn.write(enc(GET));
    const first = await readUntil(conn, 2000, "\r\n\r\nx");
    assert.match(first.text, /^HTTP\/1\.1 200 /);
    const r = await readUntil(conn, 4000);
    assert.equal(r.closed, true);
    assert.ok(r.ms >= 800 && r.ms < 2000, `idle closed after ${r.ms} ms`);
  } finally {
    closeAll([conn]);
    await server.shutdown(500);
  }
});

Deno.test("serveHttp1() with a guard: a full listener of slow pending sockets still serves a fresh client, never evicting established responses", async () => {
  const metrics = new MetricsRegistry();
  const guard = new ConnGuard({
    maxConnections: 6,
    maxPerAddress: 0,
    trusted: [],
  });
  registerConnGuard(metrics, "test_http", guard);
  // A live viewer (written by the server from its source) and a long response being written.
  const sinks: LiveSink[] = [];
  let longChunks = 0;
  const server = start((req) => {
    const path = new URL(req.url).pathname;
    if (path === "/live") {
      return liveResponse(
        new Response(new ReadableStream({}, { highWaterMark: 0 })),
        {
          maxQueueBytes: 1 << 20,
          open: (sink) => sinks.push(sink),
          gone: () => {},
        },
      );
    }
    if (path === "/long") {
      const timer = setInterval(() => {
        try {
          ctrl.enqueue(enc(`chunk ${longChunks++}\n`));
        } catch {
          clearInterval(timer);
        }
      }, 50);
      let ctrl!: ReadableStreamDefaultController<Uint8Array>;
      return new Response(
        new ReadableStream<Uint8Array>({
          start: (c) => void (ctrl = c),
          cancel: () => clearInterval(timer),
        }),
      );
    }
    return new Response("fresh");
  }, { guard, headTimeoutMs: 30_000, idleTimeoutMs: 30_000 });
  const held: Deno.Conn[] = [];
  try {
    const live = await connect(server);
    held.push(live);
    await live.write(enc("GET /live HTTP/1.1\r\nHost: x\r\n\r\n"));
    await waitFor("the live viewer", () => sinks.length === 1 || undefined);
    const long = await connect(server);
    held.push(long);
    await long.write(enc("GET /long HTTP/1.1\r\nHost: x\r\n\r\n"));
    await waitFor("the long response", () => longChunks > 0 || undefined);

    // Fill the rest, and far more, with sockets that trickle a head and never finish it.
    const slow: Deno.Conn[] = [];
    for (let i = 0; i < 12; i++) {
      const c = await connect(server);
      slow.push(c);
      held.push(c);
      await c.write(enc("GET /slo"));
    }
    await waitFor("evictions", () => guard.stats.evicted >= 8 || undefined);
    assert.equal(guard.open, 6);

    // A fresh client is served at once: one more pending socket goes for it.
    const t0 = Date.now();
    const fresh = await connect(server);
    held.push(fresh);
    await fresh.write(enc(CLOSE));
    const f = await readUntil(fresh, 3000);
    assert.match(f.text, /^HTTP\/1\.1 200 [^]*fresh$/);
    const freshMs = Date.now() - t0;
    assert.ok(freshMs < 1000, `fresh client waited ${freshMs} ms`);
    assert.equal(guard.stats.evicted, 9);

    // The oldest slow sockets were the ones closed.
    const firstSlow = await readUntil(slow[0]!, 2000);
    assert.equal(firstSlow.closed, true);

    // The viewer and the long response go on.
    const before = longChunks;
    sinks[0]!.write(enc("frame-1"));
    const liveRead = await readUntil(live, 2000, "frame-1");
    assert.match(liveRead.text, /frame-1/);
    await waitFor(
      "the long response to go on",
      () => longChunks > before + 2 || undefined,
    );
    const longRead = await readUntil(long, 2000, `chunk ${before + 1}`);
    assert.match(longRead.text, /chunk/);

    // Idle keep-alive connections go next: fill the free slots with finished requests.
    closeAll(slow);
    await waitFor("slow sockets released", () => guard.open === 2 || undefined);
    for (let i = 0; i < 4; i++) {
      const c = await connect(server);
      held.push(c);
      await c.write(enc("GET /x HTTP/1.1\r\nHost: x\r\n\r\n"));
      assert.match((await readUntil(c, 2000, "fresh")).text, /200 OK/);
    }
    assert.equal(guard.open, 6);
    const next = await connect(server);
    held.push(next);
    await next.write(enc(CLOSE));
    assert.match((await readUntil(next, 3000)).text, /fresh$/);
    assert.equal(guard.stats.evicted, 10);
    assert.match(
      metrics.render(),
      /meridian_connections_evicted_total\{listener="test_http"\} 10\n/,
    );
    assert.equal(sinks.length, 1);
    sinks[0]!.write(enc("frame-2"));
    assert.match((await readUntil(live, 2000, "frame-2")).text, /frame-2/);
  } finally {
    for (const s of sinks) s.end(true);
    closeAll(held);
    await server.shutdown(500);
  }
});

Deno.test("serveHttp1() with a guard refuses with 503 when every slot is active", async () => {
  const metrics = new MetricsRegistry();
  const guard = new ConnGuard({
    maxConnections: 1,
    maxPerAddress: 0,
    trusted: [],
  });
  registerConnGuard(metrics, "test_http", guard);
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  let running = false;
  const server = start(async () => {
    running = true;
    await gate;
    return new Response("done");
  }, { guard });
  const busy = await connect(server);
  try {
    await busy.write(enc(GET));
    await waitFor("the busy request", () => running || undefined);
    const c = await connect(server);
    await c.write(enc(GET));
    const r = await readUntil(c, 3000);
    closeAll([c]);
    assert.match(r.text, /^HTTP\/1\.1 503 /);
    assert.match(r.text, /retry-after: 1/);
    assert.equal(r.closed, true);
    assert.match(
      metrics.render(),
      /meridian_connections_refused_total\{listener="test_http",reason="total"\} 1\n/,
    );
    release();
    const ok = await readUntil(busy, 3000, "done");
    assert.match(ok.text, /done$/);
  } finally {
    release();
    closeAll([busy]);
    await server.shutdown(500);
  }
});

Deno.test("serveHttp1() with a guard refuses the N+1th socket of one address with 429, while another address is served", async () => {
  const metrics = new MetricsRegistry();
  const guard = new ConnGuard({
    maxConnections: 100,
    maxPerAddress: 3,
    // Loopback is not trusted here, so 127.0.0.1 is an ordinary client.
    trusted: parseTrustedNetworks(["10.0.0.0/8"]),
  });
  registerConnGuard(metrics, "test_http", guard);
  const server = start(() => new Response("ok"), { guard });
  const held: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const c = await connect(server);
      held.push(c);
      await c.write(enc("GET /slo"));
    }
    await waitFor("three held", () => guard.open === 3 || undefined);
    const fourth = await connect(server);
    held.push(fourth);
    await fourth.write(enc(GET));
    const r = await readUntil(fourth, 3000);
    assert.match(r.text, /^HTTP\/1\.1 429 /);
    assert.match(r.text, /Too many connections from your address/);
    assert.equal(r.closed, true);

    const other = await connectFrom("127.0.0.2", server.addr.port);
    try {
      await other.write(GET);
      const o = await other.read(3000, "\r\n\r\nok");
      assert.match(o.text, /^HTTP\/1\.1 200 /);
    } finally {
      other.close();
    }
    assert.match(
      metrics.render(),
      /meridian_connections_refused_total\{listener="test_http",reason="per_address"\} 1\n/,
    );
  } finally {
    closeAll(held);
    await server.shutdown(500);
  }
});

Deno.test("serveHttp1() with a guard exempts trusted networks from the per-address cap", async () => {
  const guard = new ConnGuard({
    maxConnections: 100,
    maxPerAddress: 2,
    trusted: parseTrustedNetworks(["127.0.0.0/8"]),
  });
  const server = start(() => new Response("ok"), { guard });
  const held: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 6; i++) {
      const c = await connect(server);
      held.push(c);
      await c.write(enc(GET));
      assert.match((await readUntil(c, 3000, "\r\n\r\nok")).text, /200 OK/);
    }
    assert.equal(guard.stats.refusedPerAddress, 0);
  } finally {
    closeAll(held);
    await server.shutdown(500);
  }
});

// ---- HTTPS (the `tls` option): certificates made by openssl at test time -------------------

const haveCurl = await runPeer("curl", ["--version"], 10_000).then(
  (o) => o.code === 0,
  () => false,
);

/** A test CA and an HTTPS server over one certificate for `localhost` and 127.0.0.1. */
async function startHttps(
  handler: Parameters<typeof start>[0],
  options: Parameters<typeof start>[1] = {},
  handshakeTimeoutMs = 5_000,
): Promise<{ server: Http1Server; ca: TestCa; close(): Promise<void> }> {
  const ca = await createTestCa();
  const c = await ca.issue("server", { names: ["localhost"] });
  const certificates = await TlsCertificates.open(
    { port: 0, ...c, certificates: [] },
    { reloadCheckMs: 0 },
    silentLogger,
  );
  const server = start(handler, {
    ...options,
    tls: { certificates, handshakeTimeoutMs },
  });
  return {
    server,
    ca,
    async close() {
      await server.shutdown(500);
      certificates.close();
      await ca.close();
    },
  };
}

/** A TLS client to the server, trusting the test CA. */
async function connectHttps(
  server: Http1Server,
  ca: TestCa,
): Promise<Deno.TlsConn> {
  const tcp = await Deno.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  return Deno.startTls(tcp, { hostname: "localhost", caCerts: [ca.caPem] });
}

Deno.test({
  name:
    "serveHttp1() with tls serves HTTPS to curl --cacert, keep-alive, and request URLs say https",
  ignore: !haveOpenssl || !haveCurl,
  async fn() {
    const https = await startHttps((req) => new Response(req.url));
    try {
      const port = https.server.addr.port;
      const out = await runPeer("curl", [
        "-sS",
        "--cacert",
        https.ca.caFile,
        "--resolve",
        `localhost:${port}:127.0.0.1`,
        `https://localhost:${port}/live/a.m3u8?x=1`,
        `https://localhost:${port}/second`,
        "-w",
        " %{http_version} %{num_connects}\n",
      ], 15_000);
      assert.equal(out.code, 0, out.stderr);
      const lines = out.stdout.trim().split("\n");
      assert.equal(lines[0], `https://localhost:${port}/live/a.m3u8?x=1 1.1 1`);
      // The second URL reused the connection (no new connect).
      assert.equal(lines[1], `https://localhost:${port}/second 1.1 0`);
      // Plain HTTP on the TLS port is not served as HTTP.
      const plain = await exchange(port, GET);
      assert.doesNotMatch(plain.text, /^HTTP\/1\.1 200/);
    } finally {
      await https.close();
    }
  },
});

Deno.test({
  name:
    "serveHttp1() with tls cuts a client that never finishes the TLS handshake before the head deadline",
  ignore: !haveOpenssl,
  async fn() {
    const https = await startHttps(() => new Response("x"), {
      headTimeoutMs: 10_000,
    }, 300);
    try {
      const silent = await connect(https.server);
      const r = await readUntil(silent, 5_000);
      assert.equal(r.closed, true);
      assert.ok(r.ms >= 250 && r.ms < 3_000, `closed after ${r.ms} ms`);
      await waitFor(
        "the connection released",
        () => https.server.connections === 0,
      );
    } finally {
      await https.close();
    }
  },
});

Deno.test({
  name:
    "serveHttp1() with tls answers a head that never completes with 408 at headTimeoutMs, over TLS",
  ignore: !haveOpenssl,
  async fn() {
    const https = await startHttps(() => new Response("x"), {
      headTimeoutMs: 400,
    });
    try {
      const conn = await connectHttps(https.server, https.ca);
      await conn.write(enc("GET / HT"));
      const r = await readUntil(conn, 5_000);
      assert.match(r.text, /^HTTP\/1\.1 408 /);
      assert.equal(r.closed, true);
    } finally {
      await https.close();
    }
  },
});

Deno.test({
  name:
    "serveHttp1() with tls and a guard: the per-address cap refuses over TLS with 429, and a silent TLS socket evicted for a newcomer is really closed",
  ignore: !haveOpenssl,
  async fn() {
    const guard = new ConnGuard({
      maxConnections: 3,
      maxPerAddress: 2,
      trusted: parseTrustedNetworks(["10.0.0.0/8"]),
    });
    const https = await startHttps(() => new Response("ok"), { guard });
    const held: Deno.Conn[] = [];
    try {
      const a = await connectHttps(https.server, https.ca);
      const b = await connectHttps(https.server, https.ca);
      held.push(a, b);
      // Each answered once: idle keep-alive connections, evicted only after pending ones.
      for (const c of [a, b]) {
        await c.write(enc(GET));
        const buf = new Uint8Array(4096);
        assert.match(
          dec(buf.subarray(0, await c.read(buf) ?? 0)),
          /^HTTP\/1\.1 200 /,
        );
      }
      await waitFor("two held", () => guard.open === 2 || undefined);
      const third = await connectHttps(https.server, https.ca);
      held.push(third);
      await third.write(enc(GET));
      const r = await readUntil(third, 3_000);
      assert.match(r.text, /^HTTP\/1\.1 429 /);

      // From another address: a silent TCP socket (pending, no handshake) fills the listener;
      // a newcomer evicts it, and the kernel socket goes too (not only the server's slot).
      const silent = await connectFrom("127.0.0.2", https.server.addr.port);
      try {
        await waitFor("three held", () => guard.open === 3 || undefined);
        const closedSilent = silent.read(5_000);
        const tcp = await connectFrom("127.0.0.3", https.server.addr.port);
        tcp.close();
        const s = await closedSilent;
        assert.equal(s.closed, true, "the evicted socket is closed");
        assert.ok(s.ms < 3_000, `closed after ${s.ms} ms`);
      } finally {
        silent.close();
      }
      assert.ok(guard.stats.evicted >= 1);
    } finally {
      closeAll(held);
      await https.close();
    }
  },
});
