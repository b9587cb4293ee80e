import assert from "node:assert/strict";
import { MetricsRegistry } from "../../../metrics/mod.ts";
import { ConfigEdgeSource } from "../../../scheduler/edges.ts";
import { DnsHandler } from "../../../scheduler/answer/handler.ts";
import { createSchedulerApp } from "../../../scheduler/http/app.ts";
import { DnsStats } from "../../../scheduler/stats.ts";
import { Authority } from "../../../scheduler/zone.ts";
import { streamKey } from "../../../store/mod.ts";
import { GEO, ManualHealth, testConfig } from "../_fixtures.ts";

function setup() {
  const config = testConfig();
  const edges = new ConfigEdgeSource(config);
  const health = new ManualHealth();
  const stats = new DnsStats();
  const handler = new DnsHandler({
    authority: Authority.fromConfig(config),
    geo: GEO,
    edges,
    health,
    config,
    stats,
  });
  const app = createSchedulerApp({
    handler,
    edges,
    health,
    stats,
    metrics: new MetricsRegistry(),
    redirect: config.redirect,
  });
  const from = (ip: string) => ({
    remoteAddr: { hostname: ip, port: 5000, transport: "tcp" },
  });
  return { app, from, edges, health };
}

Deno.test("GET /{app}/{stream}.flv redirects to the nearest healthy edge, query kept", async () => {
  const { app, from, edges } = setup();
  const r = await app.request("/live/demo.flv?token=abc", {}, from("1.1.1.9"));
  assert.equal(r.status, 302);
  assert.equal(
    r.headers.get("location"),
    "http://192.0.2.3:8080/live/demo.flv?token=abc",
  );
  const eu = await app.request("/live/demo.m3u8", {}, from("81.2.69.7"));
  assert.equal(
    eu.headers.get("location"),
    "http://192.0.2.1:8080/live/demo.m3u8",
  );
  edges.setDraining("fra1", true);
  const drained = await app.request("/live/demo.m3u8", {}, from("81.2.69.7"));
  assert.equal(drained.headers.get("x-meridian-edge"), "iad1");
  assert.equal(
    (await app.request("/nothing", {}, from("1.1.1.9"))).status,
    404,
  );
});

Deno.test("GET /api/explain explains a subnet step by step", async () => {
  const { app, from } = setup();
  const j = await (await app.request(
    "/api/explain?subnet=8.8.8.0/24",
    {},
    from("127.0.0.1"),
  )).json();
  assert.deepEqual(j.answer.edgeIds, ["iad1", "fra1"]);
  assert.ok(j.steps.length >= 7);
  assert.match(j.attribution, /DB-IP/);
  assert.equal(
    (await app.request("/api/explain?ip=nope", {}, from("127.0.0.1"))).status,
    400,
  );
});

Deno.test("dashboard page, its JSON, /healthz and /metrics", async () => {
  const { app, from, health } = setup();
  health.set("sin1", false);
  const page = await (await app.request("/dashboard", {}, from("127.0.0.1")))
    .text();
  assert.match(page, /IP Geolocation by DB-IP/);
  assert.match(page, /api\/dashboard/);
  const d = await (await app.request("/api/dashboard", {}, from("127.0.0.1")))
    .json();
  assert.deepEqual(
    d.edges.map((e: { id: string; state: string }) => `${e.id}:${e.state}`),
    ["fra1:up", "iad1:up", "sin1:down"],
  );
  assert.ok(
    "ecsShare" in d.dns && "scopeHistogram" in d.dns && "rcodes" in d.dns,
  );
  assert.equal(await (await app.request("/healthz")).text(), "ok\n");
  assert.equal((await app.request("/metrics")).status, 200);
});

Deno.test("GET /api/explain?stream=app/name explains the answer for a viewer of that stream", async () => {
  const base = testConfig();
  const config = testConfig({
    zones: [{
      ...base.zones[0]!,
      steered: [{
        name: "live",
        ttlSeconds: 30,
        failoverTtlSeconds: 10,
        filters: [{ name: "geo_sort" }, { name: "stream_affinity" }],
      }],
    }],
  });
  const edges = new ConfigEdgeSource(config);
  edges.setStreams("iad1", [{ key: streamKey("live", "demo"), viewers: 2 }]);
  const handler = new DnsHandler({
    authority: Authority.fromConfig(config),
    geo: GEO,
    edges,
    health: new ManualHealth(),
    config,
  });
  const app = createSchedulerApp({
    handler,
    edges,
    health: new ManualHealth(),
    stats: new DnsStats(),
    metrics: new MetricsRegistry(),
    redirect: config.redirect,
  });
  const r = await (await app.request(
    "/api/explain?ip=8.8.8.8&stream=live/demo",
  )).json();
  assert.equal(r.stream, streamKey("live", "demo"));
  assert.ok(
    (r.steps as string[]).some((t) => /iad1 \(pulls it\)/.test(t)),
    r.steps.join("\n"),
  );
  const none = await (await app.request("/api/explain?ip=8.8.8.8")).json();
  assert.equal(none.stream, null);
  assert.ok(
    (none.steps as string[]).includes(
      "stream_affinity: no stream named, order kept",
    ),
  );
});
