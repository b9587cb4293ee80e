import assert from "node:assert/strict";
import { SCHEDULER_DEFAULTS } from "../../../config/scheduler_schema.ts";
import { ConfigEdgeSource } from "../../../scheduler/edges.ts";
import { HealthMonitor } from "../../../scheduler/health/monitor.ts";
import { HealthCheckError } from "../../../scheduler/health/probe.ts";
import { EDGES } from "../_fixtures.ts";

Deno.test("HealthMonitor primes every edge on start and applies rise/fall per round", async () => {
  const failing = new Set(["iad1"]);
  const source = new ConfigEdgeSource({
    edges: EDGES,
    health: SCHEDULER_DEFAULTS.health,
  });
  const m = new HealthMonitor(source, {
    ...SCHEDULER_DEFAULTS.health,
    intervalMs: 3_600_000,
    rise: 2,
    fall: 2,
  }, {
    probe: (target) => {
      const id = EDGES.find((e) => target.includes(e.address))!.id;
      return failing.has(id)
        ? Promise.reject(new HealthCheckError(target, "test"))
        : Promise.resolve();
    },
  });
  await m.start();
  try {
    assert.deepEqual(EDGES.map((e) => m.isUp(e.id)), [true, false, true]);
    assert.match(m.state("iad1")!.lastError, /test/);
    failing.add("fra1");
    await m.checkAll();
    assert.equal(m.isUp("fra1"), true, "one failure is not enough");
    const v = m.version;
    await m.checkAll();
    assert.equal(m.isUp("fra1"), false);
    assert.ok(m.version > v);
  } finally {
    await m.close();
  }
});

Deno.test("HealthMonitor's http probe checks a real /healthz and a closed port", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (r) =>
      new URL(r.url).pathname === "/healthz"
        ? new Response("ok")
        : new Response("no", { status: 503 }),
  );
  const port = (server.addr as Deno.NetAddr).port;
  const source = new ConfigEdgeSource({
    edges: [
      { ...EDGES[0]!, healthUrl: `http://127.0.0.1:${port}/healthz` },
      { ...EDGES[1]!, healthUrl: `http://127.0.0.1:${port}/other` },
    ],
    health: SCHEDULER_DEFAULTS.health,
  });
  const m = new HealthMonitor(source, {
    ...SCHEDULER_DEFAULTS.health,
    intervalMs: 3_600_000,
    timeoutMs: 2000,
  });
  try {
    await m.start();
    assert.equal(m.isUp("fra1"), true);
    assert.equal(m.isUp("iad1"), false);
    assert.match(m.state("iad1")!.lastError, /HTTP 503/);
  } finally {
    await m.close();
    await server.shutdown();
  }
});
