/**
 * The scheduler on real sockets, driven by dig and kdig: geo steering with ECS, REFUSED,
 * NXDOMAIN/NODATA, TC then TCP, BADVERS, CHAOS, and an edge whose /healthz dies and returns.
 */
import assert from "node:assert/strict";
import { runPeer, waitFor } from "../_helpers/peers.ts";
import { assertPortFree, freeTcpPort, holdTcpPort } from "../_helpers/ports.ts";
import { NetError, TlsError } from "../../net/mod.ts";
import { createTestCa, haveOpenssl, tlsSection } from "../_helpers/tls.ts";
import { startReusePortUdpServer } from "../../scheduler/server/udp_reuseport.ts";
import { startScheduler } from "../../scheduler/mod.ts";
import { EDGES, GEO, testConfig } from "./_fixtures.ts";

async function has(cmd: string): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, {
      args: [cmd === "kdig" ? "-V" : "-v"],
      stdout: "null",
      stderr: "null",
    }).output()).success;
  } catch {
    return false;
  }
}
const HAVE_DIG = await has("dig");
const HAVE_KDIG = await has("kdig");
for (const [name, ok] of [["dig", HAVE_DIG], ["kdig", HAVE_KDIG]] as const) {
  if (!ok) {
    console.warn(
      `SKIP scheduler dig tests: '${name}' not on PATH (apt-get install bind9-dnsutils knot-dnsutils)`,
    );
  }
}

/** A tiny /healthz server that can be stopped and started again on the same port. */
class FakeEdge {
  server: Deno.HttpServer | undefined;
  port = 0;
  start(): void {
    this.server = Deno.serve({
      hostname: "127.0.0.1",
      port: this.port,
      onListen: () => {},
    }, () => new Response("ok"));
    this.port = (this.server.addr as Deno.NetAddr).port;
  }
  async stop(): Promise<void> {
    await this.server?.shutdown();
    this.server = undefined;
  }
}

async function withScheduler(
  fn: (dnsPort: number, edges: Map<string, FakeEdge>) => Promise<void>,
): Promise<void> {
  const fakes = new Map(EDGES.map((e) => [e.id, new FakeEdge()]));
  for (const f of fakes.values()) f.start();
  const config = testConfig({
    edges: EDGES.map((e) => ({
      ...e,
      healthUrl: `http://127.0.0.1:${fakes.get(e.id)!.port}/healthz`,
    })),
  });
  const s = await startScheduler(config, { geo: GEO });
  try {
    await fn(s.dnsPort, fakes);
  } finally {
    await s.close();
    for (const f of fakes.values()) await f.stop();
  }
}

async function dig(port: number, ...args: string[]): Promise<string> {
  const out = await runPeer("dig", [
    "@127.0.0.1",
    "-p",
    String(port),
    "+time=2",
    "+tries=1",
    ...args,
  ], 15_000);
  assert.equal(out.code, 0, `dig ${args.join(" ")}: ${out.stderr}`);
  return out.stdout;
}

Deno.test({
  name:
    "startScheduler() answers dig +subnet from three continents with the nearest edge",
  ignore: !HAVE_DIG,
  async fn() {
    await withScheduler(async (port) => {
      const first = async (subnet: string) =>
        (await dig(
          port,
          "live.meridian.test",
          "A",
          `+subnet=${subnet}`,
          "+short",
        )).trim().split("\n")[0];
      assert.equal(
        await first("81.2.69.0/24"),
        "192.0.2.1",
        "London → Frankfurt",
      );
      assert.equal(
        await first("8.8.8.0/24"),
        "192.0.2.2",
        "California → Virginia",
      );
      assert.equal(
        await first("1.1.1.0/24"),
        "192.0.2.3",
        "Sydney → Singapore",
      );
      assert.equal(
        await first("122.11.0.0/19"),
        "192.0.2.3",
        "Beijing → Singapore",
      );
      assert.equal(
        await first("200.1.0.0/22"),
        "192.0.2.2",
        "Caracas → Virginia",
      );
      const full = await dig(
        port,
        "live.meridian.test",
        "A",
        "+subnet=81.2.69.0/24",
      );
      assert.match(full, /CLIENT-SUBNET: 81\.2\.69\.0\/24\/24/);
      assert.match(full, /flags: qr aa rd;/);
      assert.match(full, /recursion requested but not available/);
    });
  },
});

Deno.test({
  name:
    "startScheduler() answers REFUSED, NXDOMAIN and NODATA with SOA, BADVERS and CHAOS to dig",
  ignore: !HAVE_DIG,
  async fn() {
    await withScheduler(async (port) => {
      const refused = await dig(
        port,
        "example.com",
        "A",
        "+subnet=81.2.69.0/24",
      );
      assert.match(refused, /status: REFUSED/);
      assert.match(refused, /CLIENT-SUBNET: 81\.2\.69\.0\/24\/0/);
      const nx = await dig(port, "nope.meridian.test", "A");
      assert.match(nx, /status: NXDOMAIN/);
      assert.match(nx, /AUTHORITY SECTION:\nmeridian\.test\.\s+60\s+IN\s+SOA/);
      const nodata = await dig(port, "mail.meridian.test", "AAAA");
      assert.match(nodata, /status: NOERROR/);
      assert.match(nodata, /ANSWER: 0, AUTHORITY: 1/);
      const badvers = await dig(
        port,
        "live.meridian.test",
        "A",
        "+edns=1",
        "+noednsneg",
      );
      assert.match(badvers, /status: BADVERS/);
      assert.match(
        await dig(port, "version.bind", "TXT", "CH", "+short"),
        /"Meridian test"/,
      );
      assert.match(
        await dig(port, "id.server", "TXT", "CH", "+short"),
        /"sched-1"/,
      );
      assert.match(
        await dig(port, "live.meridian.test", "ANY"),
        /HINFO\s+"RFC8482"/,
      );
    });
  },
});

Deno.test({
  name:
    "startScheduler() truncates over UDP and answers in full over TCP (dig and kdig)",
  ignore: !HAVE_DIG || !HAVE_KDIG,
  async fn() {
    await withScheduler(async (port) => {
      const udp = await dig(
        port,
        "big.meridian.test",
        "TXT",
        "+noedns",
        "+ignore",
      );
      assert.match(udp, /flags: qr aa tc rd;/);
      const retried = await dig(port, "big.meridian.test", "TXT", "+noedns");
      assert.match(retried, /Truncated, retrying in TCP mode/);
      assert.match(retried, /ANSWER: 12,/);
      const k = await runPeer("kdig", [
        "@127.0.0.1",
        "-p",
        String(port),
        "+tcp",
        "+keepopen",
        "big.meridian.test",
        "TXT",
        "live.meridian.test",
        "A",
        "+subnet=1.1.1.0/24",
      ], 15_000);
      assert.equal(k.code, 0, k.stderr);
      assert.match(k.stdout, /ANSWER: 12;|ANSWER: 12,/);
      assert.match(k.stdout, /192\.0\.2\.3/);
      assert.match(k.stdout, /CLIENT-SUBNET: 1\.1\.1\.0\/24\/24/);
    });
  },
});

Deno.test({
  name:
    "startScheduler() stops answering an edge whose /healthz dies, and takes it back",
  ignore: !HAVE_DIG,
  async fn() {
    await withScheduler(async (port, fakes) => {
      const answers = async () =>
        (await dig(
          port,
          "live.meridian.test",
          "A",
          "+subnet=81.2.69.0/24",
          "+short",
        )).trim().split("\n");
      assert.equal((await answers())[0], "192.0.2.1");
      const fra = fakes.get("fra1")!;
      await fra.stop();
      const started = Date.now();
      // fall (2) × interval (100 ms) + timeout (300 ms), with slack for a loaded machine
      await waitFor(
        "fra1 to leave the answers",
        async () => (await answers()).includes("192.0.2.1") ? undefined : true,
        5_000,
        50,
      );
      assert.ok(Date.now() - started < 5_000);
      const ttl = await dig(
        port,
        "live.meridian.test",
        "A",
        "+subnet=81.2.69.0/24",
        "+noall",
        "+answer",
      );
      assert.match(ttl, /\s10\s+IN\s+A/, "failover TTL");
      fra.start();
      await waitFor(
        "fra1 to come back",
        async () => (await answers())[0] === "192.0.2.1" ? true : undefined,
        5_000,
        50,
      );
    });
  },
});

// Start-up that fails half-way: what it opened is closed again. Sanitizers (opt-in in Deno 2.9)
// on, so a health-check timer or socket left behind fails the test too. libc, once opened, stays
// loaded for the process (udp_reuseport.ts): open it here, outside the tests, so that it is not
// taken for a leak of the first test that binds a libc socket.
if (Deno.build.os === "linux") {
  await startReusePortUdpServer("127.0.0.1", 0, () => undefined, {}).close();
}
for (const udpSocket of ["libc", "deno"] as const) {
  Deno.test({
    name:
      `startScheduler() whose DNS TCP port is taken names it and frees the UDP port it bound (udpSocket ${udpSocket})`,
    ignore: udpSocket === "libc" && Deno.build.os !== "linux",
    sanitizeOps: true,
    sanitizeResources: true,
    async fn() {
      const held = holdTcpPort();
      try {
        const base = testConfig({ dnsPort: held.port });
        await assert.rejects(
          startScheduler({ ...base, dns: { ...base.dns, udpSocket } }, {
            geo: GEO,
            probe: () => Promise.resolve(),
          }),
          (e) =>
            e instanceof NetError && e.code === "NET_LISTEN" &&
            e.message ===
              `Cannot listen for DNS TCP on 127.0.0.1:${held.port}: the address is in use`,
        );
        assertPortFree(held.port, "udp");
      } finally {
        held.close();
      }
    },
  });
}

Deno.test({
  name:
    "startScheduler() whose HTTP port is taken names it and closes DNS UDP and TCP",
  sanitizeOps: true,
  sanitizeResources: true,
  async fn() {
    const held = holdTcpPort();
    const dnsPort = freeTcpPort();
    try {
      await assert.rejects(
        startScheduler(testConfig({ dnsPort, httpPort: held.port }), {
          geo: GEO,
          probe: () => Promise.resolve(),
        }),
        (e) =>
          e instanceof NetError &&
          e.message ===
            `Cannot listen for HTTP on 127.0.0.1:${held.port}: the address is in use`,
      );
      assertPortFree(dnsPort, "udp");
      assertPortFree(dnsPort, "tcp");
    } finally {
      held.close();
    }
  },
});

Deno.test({
  name:
    "startScheduler() with scheduler.tls answers the 302 scheduler over HTTPS; a bad certificate stops start-up and frees its ports",
  ignore: !haveOpenssl,
  sanitizeOps: true,
  sanitizeResources: true,
  async fn() {
    const ca = await createTestCa();
    const cert = await ca.issue("scheduler", { names: ["localhost"] });
    const client = Deno.createHttpClient({ caCerts: [ca.caPem] });
    try {
      const s = await startScheduler(
        { ...testConfig(), tls: tlsSection(cert) },
        { geo: GEO, probe: () => Promise.resolve() },
      );
      try {
        assert.ok(s.httpsPort);
        const res = await fetch(
          `https://localhost:${s.httpsPort}/live/demo.m3u8`,
          { client, redirect: "manual" },
        );
        await res.body?.cancel();
        assert.equal(res.status, 302);
        assert.match(res.headers.get("location") ?? "", /\/live\/demo\.m3u8$/);
      } finally {
        await s.close();
      }
      // A certificate file that is not one: start-up fails naming it, nothing stays bound.
      const dnsPort = freeTcpPort();
      const httpPort = freeTcpPort();
      await assert.rejects(
        startScheduler(
          {
            ...testConfig({ dnsPort, httpPort }),
            tls: { ...tlsSection(cert), certFile: `${ca.dir}/missing.crt` },
          },
          { geo: GEO, probe: () => Promise.resolve() },
        ),
        (e) => e instanceof TlsError && /missing\.crt/.test(e.message),
      );
      assertPortFree(dnsPort, "udp");
      assertPortFree(dnsPort, "tcp");
      assertPortFree(httpPort, "tcp");
    } finally {
      client.close();
      await ca.close();
    }
  },
});
