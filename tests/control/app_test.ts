import assert from "node:assert/strict";
import { createControlApp } from "../../control/mod.ts";
import { silentLogger } from "../../log/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { KvStore } from "../../store/mod.ts";
import { withTempDir } from "../store/_temp_store.ts";
import { mint, SERVICE_PASSWORD, withControlApp } from "./_control_app.ts";

Deno.test("GET /healthz reports the control role", async () => {
  await withControlApp(async (f) => {
    f.clock.now += 5000;
    const res = await f.request("/healthz");
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      status: "ok",
      role: "control",
      uptimeSeconds: 5,
    });
  });
});

Deno.test("GET /metrics renders Prometheus text with token-service counters", async () => {
  await withControlApp(async (f) => {
    await mint(f);
    const bad = await f.request("/gettoken?token=nope");
    await bad.body?.cancel();
    const res = await f.request("/metrics");
    assert.equal(res.status, 200);
    assert.match(
      res.headers.get("Content-Type") ?? "",
      /^text\/plain; version=0\.0\.4/,
    );
    const text = await res.text();
    assert.match(
      text,
      /meridian_control_gettoken_requests_total\{status="200"\} 1/,
    );
    assert.match(
      text,
      /meridian_control_gettoken_requests_total\{status="403"\} 1/,
    );
    assert.match(text, /meridian_control_lockout_clients 1/);
    assert.ok(!text.includes(SERVICE_PASSWORD));
  });
});

Deno.test("GET / is the console entry page listing the endpoints", async () => {
  await withControlApp(async (f) => {
    const res = await f.request("/");
    assert.equal(res.status, 200);
    assert.match(await res.text(), /\/gettoken\?token=\{service password\}/);
  });
});

Deno.test("createControlApp() answers 503 without details when the store fails", async () => {
  await withTempDir(async (_dir, kvPath) => {
    const store = await KvStore.open(kvPath);
    const app = createControlApp({
      servicePassword: SERVICE_PASSWORD,
      adminToken: "admin-token-0123456789",
      defaultTokenDurationSeconds: 60,
      defaultTokenUses: 0,
      lockout: { maxFailures: 5, windowSeconds: 60, lockSeconds: 300 },
    }, { store, metrics: new MetricsRegistry(), log: silentLogger });
    await store.close();
    const res = await app.request(
      `http://localhost/gettoken?token=${SERVICE_PASSWORD}`,
    );
    assert.equal(res.status, 503);
    assert.equal(await res.text(), "Token store unavailable");
  });
});
