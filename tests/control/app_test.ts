import assert from "node:assert/strict";
import { createControlApp } from "../../control/mod.ts";
import { silentLogger } from "../../log/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { KvStore } from "../../store/mod.ts";
import { withTempDir } from "../store/_temp_store.ts";
import { mint, SERVICE_PASSWORD, withControlApp } from "./_control_app.ts";

Deno.test("GET /healthz reports the control role and whether the shared store is reachable", async () => {
  await withControlApp(async (f) => {
    f.clock.now += 5000;
    const res = await f.request("/healthz");
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.deepEqual({ ...body, store: { ...body.store, since: "" } }, {
      status: "ok",
      role: "control",
      uptimeSeconds: 5,
      store: { backend: "kv", up: true, since: "" },
    });
    assert.ok(!Number.isNaN(Date.parse(body.store.since)));
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

Deno.test("GET / is the web console page under a strict CSP (no inline code), its files served from this port", async () => {
  await withControlApp(async (f) => {
    const res = await f.request("/");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("Content-Type") ?? "", /^text\/html/);
    const csp = res.headers.get("Content-Security-Policy") ?? "";
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self';/);
    assert.match(csp, /style-src 'self';/);
    assert.match(csp, /connect-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.ok(!csp.includes("unsafe"), csp);
    const html = await res.text();
    assert.match(html, /<title>Meridian — control console<\/title>/);
    assert.match(html, /\/gettoken\?token=\{service password\}/);
    assert.ok(!html.includes("<!-- ENDPOINTS -->"));
    // No inline script or style, nothing from elsewhere.
    assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>/.test(html), "inline script");
    assert.ok(!/<style/.test(html), "inline style");
    assert.ok(!/\sstyle=/.test(html), "style attribute");
    assert.ok(!/\son[a-z]+=/.test(html), "inline handler");
    assert.ok(!/(src|href)="https?:/.test(html));
    for (
      const [path, type] of [
        ["/console/app.js", /^text\/javascript/],
        ["/console/app.css", /^text\/css/],
        ["/console/i18n.js", /^text\/javascript/],
        ["/console/i18n/zh.json", /^application\/json/],
        ["/console/vendor/uPlot.iife.min.js", /^text\/javascript/],
      ] as const
    ) {
      const r = await f.request(path);
      assert.equal(r.status, 200, path);
      assert.match(r.headers.get("Content-Type") ?? "", type, path);
      await r.body?.cancel();
    }
    const missing = await f.request("/console/../deno.json");
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  });
});

Deno.test("GET /api lists the endpoints as plain text", async () => {
  await withControlApp(async (f) => {
    const res = await f.request("/api");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("Content-Type") ?? "", /^text\/plain/);
    const text = await res.text();
    for (
      const route of [
        "GET    /gettoken?token={service password}",
        "POST   /admin/tokens",
        "POST   /admin/purge",
        "GET    /admin/edges",
        "GET    /admin/streams",
        "GET    /admin/config",
      ]
    ) assert.ok(text.includes(route), route);
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
