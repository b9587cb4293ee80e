/**
 * The scheduler's series and access log through a real scheduler on loopback: raw DNS over
 * UDP and TCP (steered, static, refused, malformed, with ECS), the 302 scheduler, an edge whose
 * checks fail and come back.
 */
import assert from "node:assert/strict";
import { encodeEcsQuery } from "../../scheduler/dns/packet.ts";
import { startScheduler } from "../../scheduler/mod.ts";
import {
  DNS_LATENCY_SAMPLE_EVERY,
  DnsStats,
  qtypeLabel,
  rcodeLabel,
} from "../../scheduler/stats.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { parseCombinedLine } from "../_helpers/access_lines.ts";
import { rawQuery, tcpAsk, udpAsk, wireName } from "../_helpers/dns_wire.ts";
import { waitFor } from "../_helpers/peers.ts";
import {
  hasPromtool,
  parsePromText,
  promtoolCheckMetrics,
  samplesOf,
  sumOf,
} from "../_helpers/prom_text.ts";
import { GEO, testConfig } from "./_fixtures.ts";

const A = 1;
const TXT = 16;

Deno.test("DnsStats.record() counts by transport, qtype and rcode in one array; unknown types are 'other'", () => {
  const s = new DnsStats();
  s.record(0, "udp", undefined, A);
  s.record(0, "udp", undefined, A);
  s.record(3, "tcp", undefined, 28);
  s.record(5, "udp", undefined, 4242);
  s.record(1, "udp", undefined, 0);
  s.record(23, "udp", undefined, A);
  assert.deepEqual([...s.queryRows()].sort(), [
    ["tcp", "AAAA", "NXDOMAIN", 1],
    ["udp", "A", "NOERROR", 2],
    ["udp", "A", "other", 1],
    ["udp", "other", "FORMERR", 1],
    ["udp", "other", "REFUSED", 1],
  ]);
  assert.equal(qtypeLabel(65), "HTTPS");
  assert.equal(qtypeLabel(99), "other");
  assert.equal(rcodeLabel(2), "SERVFAIL");
});

Deno.test("scheduler: queries by transport/qtype/rcode, sampled answer latency, ECS scope, answers per edge, health flaps, 302s, and sampled DNS access lines", async () => {
  const dir = await Deno.makeTempDir({ prefix: "meridian-sched-metrics-" });
  const logPath = `${dir}/scheduler.log`;
  let iadDown = false;
  const metrics = new MetricsRegistry();
  const s = await startScheduler(
    {
      ...testConfig(),
      accessLog: {
        enabled: true,
        format: "combined",
        destination: logPath,
        dnsSampleRate: 0.5,
      },
    },
    {
      geo: GEO,
      metrics,
      probe: (target) =>
        // iad1 is 192.0.2.2 (its health target is derived from the address).
        iadDown && target.includes("192.0.2.2")
          ? Promise.reject(new Error("connection refused"))
          : Promise.resolve(),
    },
  );
  const scrape = () => parsePromText(metrics.render());
  let sent = 0;
  try {
    const live = wireName(["live", "meridian", "test"]);
    for (let i = 0; i < 20; i++, sent++) {
      await udpAsk(s.dnsPort, rawQuery(live, A, { id: i }));
    }
    for (let i = 0; i < 4; i++, sent++) {
      await tcpAsk(s.dnsPort, rawQuery(live, A, { id: 100 + i }));
    }
    await udpAsk(s.dnsPort, rawQuery(wireName(["meridian", "test"]), TXT));
    await udpAsk(s.dnsPort, rawQuery(wireName(["example", "com"]), A));
    await udpAsk(
      s.dnsPort,
      rawQuery(wireName(["nope", "meridian", "test"]), A),
    );
    // ECS from a German /24: a steered answer with a scope.
    await udpAsk(
      s.dnsPort,
      encodeEcsQuery("live.meridian.test", "A", "81.2.69.0/24"),
    );
    // A header and half a question: FORMERR.
    await udpAsk(
      s.dnsPort,
      new Uint8Array([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 4]),
    );
    sent += 5;

    let m = scrape();
    const q = (labels: Record<string, string>) =>
      sumOf(m, "meridian_dns_queries_total", labels);
    assert.equal(q({ transport: "udp", qtype: "A", rcode: "NOERROR" }), 21);
    assert.equal(q({ transport: "tcp", qtype: "A", rcode: "NOERROR" }), 4);
    assert.equal(q({ transport: "udp", qtype: "TXT", rcode: "NOERROR" }), 1);
    assert.equal(q({ qtype: "A", rcode: "REFUSED" }), 1);
    assert.equal(q({ qtype: "A", rcode: "NXDOMAIN" }), 1);
    assert.equal(q({ qtype: "other", rcode: "FORMERR" }), 1);
    assert.equal(q({}), sent);
    assert.equal(
      sumOf(m, "meridian_dns_answer_duration_seconds_count"),
      Math.floor(sent / DNS_LATENCY_SAMPLE_EVERY),
    );
    assert.equal(sumOf(m, "meridian_dns_ecs_queries_total"), 1);
    assert.equal(sumOf(m, "meridian_dns_ecs_scope_prefix_length_count"), 1);
    assert.equal(
      sumOf(m, "meridian_dns_ecs_scope_prefix_length_bucket", { le: "128" }),
      1,
    );
    // Every steered answer names one edge first.
    assert.equal(sumOf(m, "meridian_dns_answers_total"), 25);
    assert.ok(
      samplesOf(m, "meridian_dns_answers_total").every((x) => x.labels.edge),
    );
    assert.equal(
      sumOf(m, "meridian_scheduler_edge_health_state", {
        edge: "iad1",
        state: "up",
      }),
      1,
    );

    // The 302 scheduler counts by the edge it sends to.
    const r = await fetch(`http://127.0.0.1:${s.httpPort}/live/demo.flv`, {
      redirect: "manual",
    });
    await r.body?.cancel();
    m = scrape();
    const edge = r.headers.get("x-meridian-edge") ?? "none";
    assert.equal(sumOf(m, "meridian_scheduler_redirects_total", { edge }), 1);

    // iad1's checks fail: down after `fall` checks, one flap; back up, a second.
    iadDown = true;
    await waitFor(
      "iad1 down",
      () =>
        sumOf(scrape(), "meridian_scheduler_edge_health_state", {
          edge: "iad1",
          state: "down",
        }) === 1,
      5_000,
    );
    iadDown = false;
    await waitFor(
      "iad1 up again",
      () =>
        sumOf(scrape(), "meridian_scheduler_edge_up", { edge: "iad1" }) === 1,
      5_000,
    );
    m = scrape();
    assert.equal(
      sumOf(m, "meridian_scheduler_edge_flaps_total", { edge: "iad1" }),
      2,
    );
    assert.equal(
      sumOf(m, "meridian_scheduler_edge_flaps_total", { edge: "fra1" }),
      0,
    );
    if (await hasPromtool()) {
      assert.equal(await promtoolCheckMetrics(metrics.render()), "");
    }
  } finally {
    await s.close();
  }
  try {
    const lines = (await Deno.readTextFile(logPath)).trim().split("\n").map(
      parseCombinedLine,
    );
    const dns = lines.filter((l) => l.request.startsWith("QUERY "));
    const httpLines = lines.filter((l) => l.request.startsWith("GET "));
    // Every second query (dnsSampleRate 0.5).
    assert.equal(dns.length, Math.floor(sent / 2));
    assert.ok(
      dns.some((l) =>
        l.request === "QUERY live.meridian.test. A UDP" &&
        l.status === "NOERROR"
      ),
    );
    assert.ok(dns.some((l) => l.request === "QUERY live.meridian.test. A TCP"));
    assert.ok(dns.every((l) => l.client === "127.0.0.1"));
    assert.equal(httpLines.length, 1);
    assert.equal(httpLines[0]!.request, "GET /live/demo.flv HTTP/1.1");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
