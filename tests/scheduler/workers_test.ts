/**
 * `scheduler.dns.workers`: several threads answer on one UDP and TCP port (SO_REUSEPORT), each
 * with its own `id.server`, from the main thread's edge snapshots; and which UDP socket the
 * scheduler picks (`scheduler.dns.udpSocket`). Why the libc socket: server/udp_reuseport_test.ts.
 */
import assert from "node:assert/strict";
import { startScheduler } from "../../scheduler/mod.ts";
import { decodePacket, encodePacket } from "../../scheduler/dns/packet.ts";
import { frameMessage } from "../../scheduler/server/tcp_framing.ts";
import { startReusePortUdpServer } from "../../scheduler/server/udp_reuseport.ts";
import { EDGES, GEO, ManualHealth, testConfig } from "./_fixtures.ts";
import { ConfigEdgeSource } from "../../scheduler/edges.ts";
import { SnapshotView, takeSnapshot } from "../../scheduler/workers.ts";
import { streamKey } from "../../store/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { parseJsonLines } from "../_helpers/access_lines.ts";
import { waitFor } from "../_helpers/peers.ts";
import { parsePromText, sumOf } from "../_helpers/prom_text.ts";

const LINUX = Deno.build.os === "linux";

function query(
  id: number,
  name: string,
  type: "A" | "TXT",
  klass: "IN" | "CH",
): Uint8Array {
  return encodePacket({
    type: "query",
    id,
    flags: 0,
    questions: [{ name, type, class: klass }],
  });
}

/** Sends one query from a fresh socket (a new source port each time) and waits for the answer. */
async function ask(port: number, q: Uint8Array): Promise<Uint8Array | null> {
  const sock = Deno.listenDatagram({
    transport: "udp",
    hostname: "127.0.0.1",
    port: 0,
  });
  try {
    await sock.send(q, { transport: "udp", hostname: "127.0.0.1", port });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<null>((r) =>
      timer = setTimeout(() => r(null), 2000)
    );
    const got = await Promise.race([sock.receive().then(([m]) => m), timeout]);
    clearTimeout(timer);
    return got;
  } finally {
    sock.close();
  }
}

function txt(answer: Uint8Array): string {
  const p = decodePacket(answer);
  const data = p.answers?.[0]?.data as unknown;
  const parts = Array.isArray(data) ? data : [data];
  return parts.map((d) => new TextDecoder().decode(d as Uint8Array)).join("");
}

Deno.test({
  name:
    "startScheduler() with dns.workers 2 answers every query on one port from two threads",
  ignore: !LINUX,
  async fn() {
    const base = testConfig();
    const config = {
      ...base,
      dns: { ...base.dns, workers: 2 },
      edges: EDGES,
    };
    const s = await startScheduler(config, {
      geo: GEO,
      probe: () => Promise.resolve(),
    });
    try {
      const ids = new Map<string, number>();
      const N = 200;
      for (let i = 0; i < N; i++) {
        const r = await ask(s.dnsPort, query(i, "id.server", "TXT", "CH"));
        assert.ok(r, `query ${i} unanswered`);
        assert.equal((r[0]! << 8) | r[1]!, i);
        const id = txt(r);
        ids.set(id, (ids.get(id) ?? 0) + 1);
      }
      assert.deepEqual([...ids.keys()].sort(), ["sched-1-w0", "sched-1-w1"]);
      // Steered answers from both threads name a configured edge.
      const addresses = new Set(EDGES.map((e) => e.address));
      for (let i = 0; i < 50; i++) {
        const r = await ask(
          s.dnsPort,
          query(i, "live.meridian.test", "A", "IN"),
        );
        assert.ok(r, `A query ${i} unanswered`);
        const p = decodePacket(r);
        assert.ok(p.answers?.length, "an address");
        for (const a of p.answers!) assert.ok(addresses.has(a.data as string));
      }
      // TCP on the same port.
      const conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: s.dnsPort,
      });
      try {
        await conn.write(frameMessage(query(7, "id.server", "TXT", "CH")));
        const buf = new Uint8Array(512);
        let n = 0;
        while (n < 2 || n < 2 + ((buf[0]! << 8) | buf[1]!)) {
          const r = await conn.read(buf.subarray(n));
          assert.ok(r !== null, "tcp answer");
          n += r;
        }
        assert.match(txt(buf.subarray(2, n)), /^sched-1-w[01]$/);
      } finally {
        conn.close();
      }
      // Worker counters reach the main thread's stats within a second or so.
      const deadline = Date.now() + 3000;
      while (s.stats.total < N + 51 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(s.stats.total >= N + 51, `stats.total ${s.stats.total}`);
    } finally {
      await s.close();
    }
  },
});

Deno.test({
  name:
    "startScheduler() with dns.workers 2: the workers' queries, answers per edge, latency samples and access lines reach the main thread's /metrics and log",
  ignore: !LINUX,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "meridian-workers-" });
    const logPath = `${dir}/dns.log`;
    const base = testConfig();
    const metrics = new MetricsRegistry();
    const s = await startScheduler({
      ...base,
      dns: { ...base.dns, workers: 2 },
      accessLog: {
        enabled: true,
        format: "json",
        destination: logPath,
        dnsSampleRate: 1,
      },
    }, { geo: GEO, metrics, probe: () => Promise.resolve() });
    const N = 100;
    try {
      const threads = new Set<string>();
      for (let i = 0; i < 40; i++) {
        const r = await ask(s.dnsPort, query(i, "id.server", "TXT", "CH"));
        if (r) threads.add(txt(r));
      }
      assert.equal(threads.size, 2, "both threads answered");
      for (let i = 0; i < N; i++) {
        assert.ok(
          await ask(s.dnsPort, query(i, "live.meridian.test", "A", "IN")),
        );
      }
      const scrape = () => parsePromText(metrics.render());
      await waitFor(
        "the workers' counters",
        () =>
          sumOf(scrape(), "meridian_dns_queries_total", {
            qtype: "A",
            rcode: "NOERROR",
          }) === N,
        5_000,
        100,
      );
      const m = scrape();
      assert.equal(sumOf(m, "meridian_dns_answers_total"), N);
      // Each thread times one query in 16 of its own.
      assert.ok(
        sumOf(m, "meridian_dns_answer_duration_seconds_count") >=
          Math.floor((N + 40) / 16) - 2,
      );
    } finally {
      await s.close();
    }
    try {
      const lines = parseJsonLines(await Deno.readTextFile(logPath));
      assert.equal(
        lines.filter((l) => l.qname === "live.meridian.test.").length,
        N,
      );
      assert.equal(lines.filter((l) => l.qtype === "TXT").length, 40);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "startScheduler() with dns.workers 2 sends drains to the workers",
  ignore: !LINUX,
  async fn() {
    const base = testConfig();
    const s = await startScheduler({
      ...base,
      dns: { ...base.dns, workers: 2 },
    }, {
      geo: GEO,
      probe: () => Promise.resolve(),
    });
    try {
      for (const e of EDGES) {
        if (e.id !== "fra1") await s.edges.setDraining!(e.id, true);
      }
      await new Promise((r) => setTimeout(r, 400)); // > SNAPSHOT_POLL_MS
      for (let i = 0; i < 60; i++) {
        const r = await ask(
          s.dnsPort,
          query(i, "live.meridian.test", "A", "IN"),
        );
        assert.ok(r);
        const got = decodePacket(r).answers!.map((a) => a.data);
        assert.deepEqual(got, ["192.0.2.1"], `answer ${i}`);
      }
    } finally {
      await s.close();
    }
  },
});

Deno.test({
  name:
    "startScheduler() with one worker uses the batching libc socket without SO_REUSEPORT",
  ignore: !LINUX,
  async fn() {
    const s = await startScheduler(testConfig(), {
      geo: GEO,
      probe: () => Promise.resolve(),
    });
    try {
      const r = await ask(s.dnsPort, query(1, "id.server", "TXT", "CH"));
      assert.ok(r);
      assert.equal(txt(r), "sched-1");
      // Without SO_REUSEPORT nobody can join the port (a second scheduler fails to start).
      assert.throws(() =>
        startReusePortUdpServer("127.0.0.1", s.dnsPort, () => undefined, {})
      );
    } finally {
      await s.close();
    }
  },
});

Deno.test({
  name:
    "udpSocket thread: every UDP answer comes from a Worker blocked in recvmmsg (the main thread left the port's group), a burst from one socket is answered whole, drains reach the threads, their counters reach the main thread",
  ignore: !LINUX,
  async fn() {
    const base = testConfig();
    for (const workers of [1, 2]) {
      const s = await startScheduler({
        ...base,
        dns: { ...base.dns, workers, udpSocket: "thread" },
        edges: EDGES,
      }, { geo: GEO, probe: () => Promise.resolve() });
      try {
        const ids = new Set<string>();
        for (let i = 0; i < 80; i++) {
          const r = await ask(s.dnsPort, query(i, "id.server", "TXT", "CH"));
          assert.ok(r, `workers ${workers}: query ${i} unanswered`);
          ids.add(txt(r));
        }
        const want = Array.from(
          { length: workers },
          (_, i) => `sched-1-w${i + 1}`,
        );
        assert.deepEqual([...ids].sort(), want, `workers ${workers}`);
        // Bursts of 100 queries from one socket (more than one recvmmsg batch each, fewer than
        // the sockets' default buffers hold): the thread reads and answers them all.
        const sock = Deno.listenDatagram({
          transport: "udp",
          hostname: "127.0.0.1",
          port: 0,
        });
        const B = 100;
        try {
          for (let round = 0; round < 3; round++) {
            for (let i = 0; i < B; i++) {
              await sock.send(query(i, "live.meridian.test", "A", "IN"), {
                transport: "udp",
                hostname: "127.0.0.1",
                port: s.dnsPort,
              });
            }
            const seen = new Set<number>();
            while (seen.size < B) {
              let timer: ReturnType<typeof setTimeout> | undefined;
              const got = await Promise.race([
                sock.receive().then(([m]) => m),
                new Promise<null>((r) =>
                  timer = setTimeout(() => r(null), 2000)
                ),
              ]);
              clearTimeout(timer);
              if (!got) break;
              seen.add((got[0]! << 8) | got[1]!);
            }
            assert.equal(seen.size, B, `workers ${workers}: burst ${round}`);
          }
        } finally {
          sock.close();
        }
        // TCP still answers (main thread and workers share it).
        const conn = await Deno.connect({
          hostname: "127.0.0.1",
          port: s.dnsPort,
        });
        try {
          await conn.write(frameMessage(query(7, "id.server", "TXT", "CH")));
          const buf = new Uint8Array(512);
          let n = 0;
          while (n < 2 || n < 2 + ((buf[0]! << 8) | buf[1]!)) {
            const r = await conn.read(buf.subarray(n));
            assert.ok(r !== null, "tcp answer");
            n += r;
          }
          assert.match(txt(buf.subarray(2, n)), /^sched-1(-w\d)?$/);
        } finally {
          conn.close();
        }
        // A drain made on the main thread reaches the blocked threads.
        for (const e of EDGES) {
          if (e.id !== "fra1") await s.edges.setDraining!(e.id, true);
        }
        await waitFor(
          "the drain in the threads' answers",
          async () => {
            const r = await ask(
              s.dnsPort,
              query(1, "live.meridian.test", "A", "IN"),
            );
            return !!r &&
              decodePacket(r).answers!.map((a) => a.data).join() ===
                "192.0.2.1";
          },
          5_000,
          100,
        );
        await waitFor(
          "the threads' counters",
          () => s.stats.total >= 80 + 3 * B,
          5_000,
          100,
        );
      } finally {
        await s.close();
      }
    }
  },
});

Deno.test("udpSocket deno keeps Deno.listenDatagram", async () => {
  const base = testConfig();
  const s = await startScheduler({
    ...base,
    dns: { ...base.dns, udpSocket: "deno" },
  }, { geo: GEO, probe: () => Promise.resolve() });
  try {
    const r = await ask(s.dnsPort, query(2, "id.server", "TXT", "CH"));
    assert.ok(r);
    assert.equal(txt(r), "sched-1");
  } finally {
    await s.close();
  }
});

Deno.test("takeSnapshot() carries the edges' streams to a worker's SnapshotView", () => {
  const edges = new ConfigEdgeSource(testConfig());
  const key = streamKey("live", "demo");
  edges.setStreams("fra1", [{ key, viewers: 4 }]);
  edges.setStreams("sin1", [{ key, viewers: 1 }]);
  const view = new SnapshotView(takeSnapshot(edges, new ManualHealth(), 1));
  assert.deepEqual([...view.streams.holders(key)!].sort(), [
    ["fra1", 4],
    ["sin1", 1],
  ]);
  edges.setStreams("sin1", []);
  view.apply(takeSnapshot(edges, new ManualHealth(), 2));
  assert.deepEqual([...view.streams.holders(key)!], [["fra1", 4]]);
});
