/**
 * DNS over TCP under the audit's attack (issue 12): one host holding many connections open and
 * trickling bytes into them. A client from another /24 (dig and kdig bound to 127.0.1.x and
 * 127.0.2.x with `-b`; the drippers connect from 127.0.0.1) must still get its answer, and a
 * trickled message is cut at the per-message deadline. Loopback is not trusted here
 * (`limits.trustedNetworks: []`), so it is subject to the per-network cap like any resolver.
 */
import assert from "node:assert/strict";
import { DEFAULTS } from "../../config/mod.ts";
import type { SchedulerConfig } from "../../config/scheduler_schema.ts";
import type { SchedulerHandle } from "../../scheduler/mod.ts";
import {
  hasDnsPeer,
  rawQuery,
  readTcpMessage,
  wireName,
} from "../_helpers/dns_wire.ts";
import { runPeer, waitFor } from "../_helpers/peers.ts";
import { testConfig } from "../scheduler/_fixtures.ts";
import { decodePacket } from "../../scheduler/dns/packet.ts";
import { frameMessage } from "../../scheduler/server/tcp_framing.ts";
import { withGeoDns } from "./_geodns.ts";

const HAVE_DIG = await hasDnsPeer("dig");
const HAVE_KDIG = await hasDnsPeer("kdig");
if (!HAVE_DIG || !HAVE_KDIG) {
  console.warn(
    "SKIP geodns TCP tests: dig or kdig not on PATH (apt-get install bind9-dnsutils knot-dnsutils)",
  );
}

function tcpLimits(
  dns: Partial<SchedulerConfig["dns"]>,
): Partial<SchedulerConfig> {
  return { dns: { ...testConfig().dns, ...dns } };
}

/** `count` connections from 127.0.0.1, each fed one byte of a length prefix now and then. */
async function drip(port: number, count: number): Promise<{
  conns: Deno.Conn[];
  closed: () => number;
  isClosed: (i: number) => boolean;
  stop: () => void;
}> {
  const conns: Deno.Conn[] = [];
  const dead = new Set<Deno.Conn>();
  for (let i = 0; i < count; i++) {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    conns.push(c);
    // A read that ends when the server closes this connection (refused, evicted, cut).
    c.read(new Uint8Array(16)).catch(() => null).then(() => dead.add(c));
    c.write(new Uint8Array([0x01])).catch(() => dead.add(c));
  }
  const ticker = setInterval(() => {
    for (const c of conns) {
      if (!dead.has(c)) {
        c.write(new Uint8Array([0x00])).catch(() => dead.add(c));
      }
    }
  }, 250);
  return {
    conns,
    closed: () => dead.size,
    isClosed: (i) => dead.has(conns[i]!),
    stop: () => {
      clearInterval(ticker);
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // closed already
        }
      }
    },
  };
}

async function digTcpFrom(port: number, source: string): Promise<string> {
  const out = await runPeer("dig", [
    "@127.0.0.1",
    "-p",
    String(port),
    "-b",
    source,
    "+tcp",
    "+time=3",
    "+tries=1",
    "live.meridian.test",
    "A",
  ], 15_000);
  assert.equal(out.code, 0, `dig -b ${source}: ${out.stdout}${out.stderr}`);
  return out.stdout;
}

async function kdigTcpFrom(port: number, source: string): Promise<string> {
  const out = await runPeer("kdig", [
    "@127.0.0.1",
    "-p",
    String(port),
    "-b",
    source,
    "+tcp",
    "+time=3",
    "+retry=0",
    "mail.meridian.test",
    "A",
  ], 15_000);
  assert.equal(out.code, 0, `kdig -b ${source}: ${out.stdout}${out.stderr}`);
  return out.stdout;
}

const OPEN = /^meridian_connections_open\{listener="scheduler_dns_tcp"\}/;

async function metric(s: SchedulerHandle, line: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${s.httpPort}/metrics`))
    .text();
  const m = text.split("\n").find((l) => line.test(l));
  return m ? Number(m.split(" ").at(-1)) : NaN;
}

Deno.test({
  name:
    "scheduler DNS/TCP: 256 dripping connections from one /24 leave room for dig and kdig from other networks",
  ignore: !HAVE_DIG || !HAVE_KDIG,
  async fn() {
    // The listener's defaults (256 connections, 32 per /24); deadlines long enough that only
    // admission can make room.
    const limits = tcpLimits({
      tcpMessageTimeoutMs: 60_000,
      tcpIdleTimeoutMs: 60_000,
    });
    assert.equal(limits.dns!.maxTcpConnections, 256);
    assert.equal(limits.dns!.maxTcpConnectionsPerNetwork, 32);
    await withGeoDns(limits, async (s) => {
      const d = await drip(s.dnsPort, 256);
      try {
        // The 256 connections were established before dig's: the listener has taken them
        // (admitted or refused) by the time it accepts dig's.
        assert.match(
          await digTcpFrom(s.dnsPort, "127.0.1.7"),
          /status: NOERROR[\s\S]*ANSWER: 2,/,
        );
        assert.match(
          await kdigTcpFrom(s.dnsPort, "127.0.2.7"),
          /status: NOERROR[\s\S]*192\.0\.2\.25/,
        );
        await waitFor(
          "the refusals",
          () => d.closed() >= 224 || undefined,
          10_000,
          50,
        );
        assert.equal(await metric(s, OPEN), 32, "the /24's share is held");
        assert.equal(
          d.closed(),
          224,
          "one /24 keeps its 32, the rest are refused at once",
        );
        assert.equal(
          await metric(
            s,
            /^meridian_connections_refused_total\{listener="scheduler_dns_tcp",reason="per_address"\}/,
          ),
          224,
        );
      } finally {
        d.stop();
      }
    }, { limits: { ...DEFAULTS.limits, trustedNetworks: [] } });
  },
});

Deno.test({
  name:
    "scheduler DNS/TCP: a listener full of dripping connections evicts the oldest pending one for a new client (RFC 7766 §6.2.3)",
  ignore: !HAVE_DIG,
  async fn() {
    const limits = tcpLimits({
      tcpMessageTimeoutMs: 60_000,
      tcpIdleTimeoutMs: 60_000,
      maxTcpConnections: 16,
      maxTcpConnectionsPerNetwork: 0, // one /24 may fill the listener
    });
    await withGeoDns(limits, async (s) => {
      const d = await drip(s.dnsPort, 16);
      try {
        await waitFor(
          "16 slots held",
          async () => (await metric(s, OPEN)) === 16 || undefined,
          5000,
          20,
        );
        assert.equal(d.closed(), 0);
        assert.match(
          await digTcpFrom(s.dnsPort, "127.0.1.7"),
          /status: NOERROR/,
        );
        await waitFor(
          "a dripper evicted",
          () => d.closed() >= 1 || undefined,
          5000,
          20,
        );
        assert.equal(
          await metric(
            s,
            /^meridian_connections_evicted_total\{listener="scheduler_dns_tcp"\}/,
          ),
          1,
        );
        assert.ok(d.isClosed(0), "the oldest dripper was the one evicted");
        assert.equal(d.closed(), 1);
      } finally {
        d.stop();
      }
    }, { limits: { ...DEFAULTS.limits, trustedNetworks: [] } });
  },
});

Deno.test("scheduler DNS/TCP: a query trickled a byte at a time is cut at tcpMessageTimeoutMs, unanswered", async () => {
  await withGeoDns(
    tcpLimits({ tcpMessageTimeoutMs: 500, tcpIdleTimeoutMs: 60_000 }),
    async (s) => {
      const conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: s.dnsPort,
      });
      try {
        const framed = frameMessage(
          rawQuery(wireName(["live", "meridian", "test"]), 1),
        );
        const started = Date.now();
        let closedAt = 0;
        const reply = readTcpMessage(conn).catch(() => undefined).then((m) => {
          closedAt = Date.now();
          return m;
        });
        let sent = 0;
        while (sent < framed.length && !closedAt) {
          try {
            await conn.write(framed.subarray(sent, sent + 1));
          } catch {
            break;
          }
          sent++;
          await new Promise((r) => setTimeout(r, 60)); // the trickle's pace: 36 bytes, 2.2 s
        }
        assert.equal(await reply, undefined, "no answer");
        assert.ok(
          sent < framed.length,
          `cut after ${sent} of ${framed.length} bytes`,
        );
        const at = closedAt - started;
        assert.ok(at >= 400 && at < 1500, `cut at the deadline (${at} ms)`);
        // The same query sent whole is answered on a new connection.
        const c2 = await Deno.connect({
          hostname: "127.0.0.1",
          port: s.dnsPort,
        });
        try {
          await c2.write(framed);
          assert.equal(
            decodePacket((await readTcpMessage(c2))!).answers!.length,
            2,
          );
        } finally {
          c2.close();
        }
      } finally {
        conn.close();
      }
    },
    { limits: { ...DEFAULTS.limits, trustedNetworks: [] } },
  );
});

Deno.test("scheduler DNS/TCP: trusted networks (limits.trustedNetworks, loopback by default) are not capped per network", async () => {
  await withGeoDns(tcpLimits({ maxTcpConnectionsPerNetwork: 4 }), async (s) => {
    const conns: Deno.Conn[] = [];
    try {
      const q = frameMessage(
        rawQuery(wireName(["mail", "meridian", "test"]), 1),
      );
      for (let i = 0; i < 10; i++) {
        conns.push(
          await Deno.connect({ hostname: "127.0.0.1", port: s.dnsPort }),
        );
      }
      for (const c of conns) await c.write(q);
      for (const c of conns) {
        assert.equal(decodePacket((await readTcpMessage(c))!).rcode, "NOERROR");
      }
    } finally {
      for (const c of conns) c.close();
    }
  });
});
