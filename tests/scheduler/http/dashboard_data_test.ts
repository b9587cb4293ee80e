import assert from "node:assert/strict";
import { MetricsRegistry } from "../../../metrics/mod.ts";
import { encodeEcsQuery } from "../../../scheduler/dns/packet.ts";
import { ConfigEdgeSource } from "../../../scheduler/edges.ts";
import { DnsHandler } from "../../../scheduler/answer/handler.ts";
import { HealthMonitor } from "../../../scheduler/health/monitor.ts";
import { HealthCheckError } from "../../../scheduler/health/probe.ts";
import { createSchedulerApp } from "../../../scheduler/http/app.ts";
import type { DashboardData } from "../../../scheduler/http/dashboard_data.ts";
import { RoutingStats } from "../../../scheduler/routing_stats.ts";
import { DnsStats } from "../../../scheduler/stats.ts";
import { Authority } from "../../../scheduler/zone.ts";
import { parseIp } from "../../../geo/mod.ts";
import { EDGES, GEO, testConfig } from "../_fixtures.ts";

/** A scheduler app over a real monitor with a hand-set probe and a manual clock. */
async function setup() {
  let now = 1_700_000_000_000;
  const clock = () => now;
  const config = testConfig();
  const edges = new ConfigEdgeSource(config);
  const failing = new Set<string>();
  const monitor = new HealthMonitor(edges, {
    ...config.health,
    intervalMs: 3_600_000,
  }, {
    now: clock,
    probe: (target) => {
      const id = EDGES.find((e) => target.includes(e.address))!.id;
      return failing.has(id)
        ? Promise.reject(new HealthCheckError(target, "HTTP 503"))
        : Promise.resolve();
    },
  });
  await monitor.start();
  const stats = new DnsStats(clock);
  const handler = new DnsHandler({
    authority: Authority.fromConfig(config),
    geo: GEO,
    edges,
    health: monitor,
    config,
    stats,
    routing: new RoutingStats(clock),
  });
  const app = createSchedulerApp({
    handler,
    edges,
    health: monitor,
    stats,
    metrics: new MetricsRegistry(),
    redirect: config.redirect,
    now: clock,
  });
  const query = (name: string, subnet: string) => {
    const q = encodeEcsQuery(name, "A", subnet, 7);
    assert.ok(handler.handleQuery(q, {
      address: parseIp("127.0.0.1")!.bytes,
      transport: "udp",
    }));
  };
  const dashboard = async (): Promise<DashboardData> => {
    const r = await app.request("/api/dashboard");
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("cache-control"), "no-store");
    return await r.json();
  };
  return {
    app,
    monitor,
    edges,
    failing,
    query,
    dashboard,
    advance: (ms: number) => (now += ms),
  };
}

Deno.test("GET /api/dashboard fills the routing table from handled queries, by client country and edge", async () => {
  const s = await setup();
  try {
    // Cache hits count too: 3 London answers (one decision), 2 Virginia-bound, 1 Sydney.
    for (let i = 0; i < 3; i++) s.query("a.cdn.meridian.test", "81.2.69.0/24");
    for (let i = 0; i < 2; i++) s.query("b.cdn.meridian.test", "8.8.8.0/24");
    s.query("a.cdn.meridian.test", "1.1.1.0/24");
    s.query("a.cdn.meridian.test", "10.1.2.0/24"); // private: the resolver decides, unknown
    s.advance(2000);
    const d = await s.dashboard();
    assert.deepEqual(
      d.routing.routes.map((r) => [r.region, r.edgeId, r.queries]),
      [["GB", "fra1", 3], ["US", "iad1", 2], ["??", "fra1", 1], [
        "AU",
        "sin1",
        1,
      ]],
    );
    assert.equal(d.routing.queries, 7);
    const gb = d.routing.routes[0]!;
    assert.equal(gb.share, 0.4286);
    assert.equal(gb.continent, "EU");
    assert.deepEqual([gb.latitude, gb.longitude], [51.51, -0.09]);
    const unknown = d.routing.routes.find((r) => r.region === "??")!;
    assert.equal(unknown.latitude, null);

    // Everything the page shows is in the JSON.
    const fra = d.edges.find((e) => e.id === "fra1")!;
    assert.equal(fra.region, "eu-central");
    assert.equal(fra.address, "192.0.2.1");
    assert.equal(fra.state, "up");
    assert.equal(fra.hitRatio, null, "config edges report no hit ratio");
    assert.equal(fra.capacity, 100);
    assert.deepEqual([fra.latitude, fra.longitude], [50.11, 8.68]);
    assert.match(fra.lastCheck, /^\d{4}-\d\d-\d\dT/);
    assert.equal(d.dns["total"], 7);
    assert.deepEqual(d.dns["rcodes"], { NOERROR: 7 });
    assert.equal(d.dns["ecsShare"], 1);
    assert.deepEqual(d.dns["scopeHistogram"], { "/0": 1, "/24": 6 });
    assert.equal(d.dns.rateHistory.length, 299);
    assert.equal(d.dns.rateHistory.at(-2), 7, "the queries' second");
    assert.match(d.attribution, /DB-IP/);
    assert.equal(d.timeline.toMs - d.timeline.fromMs, 15 * 60_000);

    // The 302 scheduler counts as routing too.
    const r = await s.app.request("/live/demo.flv", {}, {
      remoteAddr: { hostname: "8.8.8.8", port: 5000, transport: "tcp" },
    });
    assert.equal(r.status, 302);
    const after = await s.dashboard();
    assert.equal(
      after.routing.routes.find((x) => x.region === "US")!.queries,
      3,
    );
  } finally {
    await s.monitor.close();
  }
});

Deno.test("GET /api/dashboard: an edge that goes down shows the transition in its timeline", async () => {
  const s = await setup();
  try {
    s.advance(60_000);
    s.failing.add("sin1");
    await s.monitor.checkAll();
    s.advance(1000);
    await s.monitor.checkAll(); // fall = 2: down now
    const downAt = s.advance(0);
    s.advance(30_000);
    s.edges.setDraining("iad1", true);
    await s.monitor.checkAll();
    s.advance(5000);
    const d = await s.dashboard();
    const sin = d.edges.find((e) => e.id === "sin1")!;
    assert.equal(sin.state, "down");
    assert.match(sin.lastError, /HTTP 503/);
    assert.deepEqual(sin.timeline.map((t) => t.state), [
      "unknown",
      "up",
      "down",
    ]);
    assert.equal(sin.timeline[2]!.fromMs, downAt);
    assert.equal(sin.timeline.at(-1)!.toMs, d.generatedAtMs);
    const iad = d.edges.find((e) => e.id === "iad1")!;
    assert.equal(iad.state, "draining");
    assert.deepEqual(iad.timeline.map((t) => t.state), [
      "unknown",
      "up",
      "draining",
    ]);
    assert.deepEqual(
      d.edges.find((e) => e.id === "fra1")!.timeline.map((t) => t.state),
      ["unknown", "up"],
    );
    // Answers route around the down edge: Sydney now goes to its next nearest.
    s.query("a.cdn.meridian.test", "1.1.1.0/24");
    const after = await s.dashboard();
    assert.deepEqual(
      after.routing.routes.map((r) => `${r.region}>${r.edgeId}`),
      ["AU>fra1"],
    );
  } finally {
    await s.monitor.close();
  }
});

Deno.test("GET /dashboard serves the page with the map, the explain box and the attribution", async () => {
  const s = await setup();
  try {
    const page = await (await s.app.request("/dashboard")).text();
    assert.match(page, /IP Geolocation by DB-IP/);
    assert.match(page, /<svg id="map" viewBox="0 10 360 140"/);
    assert.match(page, /<path class="land" d="M/);
    assert.match(page, /id="ex"/);
    assert.match(page, /\/api\/dashboard/);
    assert.doesNotMatch(page, /src=|<link[^>]+href="https?:/, "no assets");
  } finally {
    await s.monitor.close();
  }
});
