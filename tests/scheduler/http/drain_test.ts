import assert from "node:assert/strict";
import { MetricsRegistry } from "../../../metrics/mod.ts";
import { ConfigEdgeSource, type EdgeSource } from "../../../scheduler/edges.ts";
import { DnsHandler } from "../../../scheduler/answer/handler.ts";
import { createSchedulerApp } from "../../../scheduler/http/app.ts";
import { DnsStats } from "../../../scheduler/stats.ts";
import { Authority } from "../../../scheduler/zone.ts";
import { GEO, ManualHealth, testConfig } from "../_fixtures.ts";

const TOKEN = "drain-token-0123456789";

function setup(adminToken: string | undefined, edges?: EdgeSource) {
  const config = testConfig();
  const source = edges ?? new ConfigEdgeSource(config);
  const health = new ManualHealth();
  const handler = new DnsHandler({
    authority: Authority.fromConfig(config),
    geo: GEO,
    edges: source,
    health,
    config,
  });
  const app = createSchedulerApp({
    handler,
    edges: source,
    health,
    stats: new DnsStats(),
    metrics: new MetricsRegistry(),
    redirect: config.redirect,
    ...(adminToken === undefined ? {} : { adminToken }),
  });
  const call = (method: string, id: string, token?: string) =>
    app.request(`/api/edges/${id}/drain`, {
      method,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
  return { app, source, call };
}

Deno.test("drain endpoint: 403 without scheduler.adminToken, 401 with a wrong or missing bearer", async () => {
  for (const token of [undefined, ""]) {
    const { call } = setup(token);
    assert.equal((await call("POST", "fra1", "anything")).status, 403);
  }
  const { call } = setup(TOKEN);
  const missing = await call("POST", "fra1");
  assert.equal(missing.status, 401);
  assert.match(missing.headers.get("www-authenticate") ?? "", /^Bearer /);
  assert.equal((await call("POST", "fra1", TOKEN + "x")).status, 401);
  assert.equal((await call("DELETE", "fra1", "short")).status, 401);
});

Deno.test("drain endpoint: POST drains, DELETE undrains, unknown ids are 404", async () => {
  const { call, source } = setup(TOKEN);
  const drained = (id: string) =>
    source.list().find((s) => s.edge.id === id)?.draining;
  const r = await call("POST", "fra1", TOKEN);
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { id: "fra1", draining: true });
  assert.equal(drained("fra1"), true);
  assert.equal(drained("iad1"), false);
  assert.equal((await call("DELETE", "fra1", TOKEN)).status, 200);
  assert.equal(drained("fra1"), false);
  const unknown = await call("POST", "nope", TOKEN);
  assert.equal(unknown.status, 404);
  assert.match((await unknown.json()).error, /Unknown edge: "nope"/);
});

Deno.test("drain endpoint: 501 when the edge source has no drain flag", async () => {
  const fixed: EdgeSource = { version: 1, list: () => [] };
  const { call } = setup(TOKEN, fixed);
  assert.equal((await call("POST", "fra1", TOKEN)).status, 501);
});
