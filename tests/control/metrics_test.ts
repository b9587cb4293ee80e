/**
 * The control role's series (tokens minted, revoked, refused; admin requests by route and
 * status; lockouts) through its app, and its access log through a real port.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../../config/mod.ts";
import { startControl } from "../../control/mod.ts";
import { adminRouteOf } from "../../control/metrics.ts";
import { silentLogger } from "../../log/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { openStore } from "../../store/mod.ts";
import { parseJsonLines } from "../_helpers/access_lines.ts";
import {
  hasPromtool,
  parsePromText,
  promtoolCheckMetrics,
  sumOf,
} from "../_helpers/prom_text.ts";
import { withTempDir } from "../store/_temp_store.ts";
import {
  ADMIN_TOKEN,
  mint,
  SERVICE_PASSWORD,
  withControlApp,
} from "./_control_app.ts";

Deno.test("adminRouteOf() names routes by pattern, never by the token or edge id in the path", () => {
  assert.equal(adminRouteOf("/admin/tokens"), "/admin/tokens");
  assert.equal(
    adminRouteOf("/admin/tokens/AbCdEfGh12345678"),
    "/admin/tokens/:token",
  );
  assert.equal(
    adminRouteOf("/admin/edges/fra1/drain"),
    "/admin/edges/:id/drain",
  );
  assert.equal(adminRouteOf("/admin/whatever/x"), "other");
});

Deno.test("control: tokens minted by way, revoked, refused by reason, admin requests by route and status, lockouts", async () => {
  await withControlApp(async (f) => {
    const token = await mint(f);
    await mint(f, "&app=live");
    const admin = (path: string, init: RequestInit = {}, auth = ADMIN_TOKEN) =>
      f.request(path, {
        ...init,
        headers: { authorization: `Bearer ${auth}` },
      });
    const created = await admin("/admin/tokens", {
      method: "POST",
      body: JSON.stringify({ duration: 60 }),
    });
    assert.equal(created.status, 201);
    assert.equal(
      (await admin(`/admin/tokens/${token}`, { method: "DELETE" })).status,
      204,
    );
    assert.equal(
      (await admin("/admin/tokens", {}, "wrong-token-0123456789")).status,
      401,
    );
    assert.equal((await f.request("/gettoken?token=nope&x=1")).status, 403);
    assert.equal(
      (await f.request(`/gettoken?token=${SERVICE_PASSWORD}&duration=-5`))
        .status,
      400,
    );
    // Five wrong passwords from one address lock it out (control.lockout.maxFailures).
    for (let i = 0; i < 5; i++) {
      await f.request("/gettoken?token=bad", {}, "198.51.100.9");
    }
    assert.equal(
      (await f.request("/gettoken?token=bad", {}, "198.51.100.9")).status,
      429,
    );

    const text = f.metrics.render();
    const s = parsePromText(text);
    assert.ok(!text.includes(token), "no token in any label");
    assert.equal(
      sumOf(s, "meridian_control_tokens_minted_total", { via: "gettoken" }),
      2,
    );
    assert.equal(
      sumOf(s, "meridian_control_tokens_minted_total", { via: "admin" }),
      1,
    );
    assert.equal(sumOf(s, "meridian_control_tokens_revoked_total"), 1);
    assert.equal(
      sumOf(s, "meridian_control_token_refusals_total", {
        reason: "wrong_password",
      }),
      6,
    );
    assert.equal(
      sumOf(s, "meridian_control_token_refusals_total", {
        reason: "bad_request",
      }),
      1,
    );
    assert.equal(
      sumOf(s, "meridian_control_token_refusals_total", {
        reason: "locked_out",
      }),
      1,
    );
    const adm = (route: string, status: string) =>
      sumOf(s, "meridian_control_admin_requests_total", { route, status });
    assert.equal(adm("/admin/tokens", "201"), 1);
    assert.equal(adm("/admin/tokens/:token", "204"), 1);
    assert.equal(adm("/admin/tokens", "401"), 1);
    assert.equal(sumOf(s, "meridian_control_lockouts_total"), 1);
    if (await hasPromtool()) assert.equal(await promtoolCheckMetrics(text), "");
  });
});

Deno.test("startControl(): the access log has every request, the service password redacted", async () => {
  await withTempDir(async (dir) => {
    const store = await openStore({ path: "" }, dir);
    const logPath = `${dir}/control.log`;
    const config = {
      ...parseConfig({}).control,
      port: 0,
      servicePassword: "service-password-xyz",
      adminToken: "admin-token-0123456789abcdef",
      accessLog: {
        enabled: true,
        format: "json" as const,
        destination: logPath,
      },
    };
    const c = await startControl(config, {
      store,
      dataDir: dir,
      log: silentLogger,
      metrics: new MetricsRegistry(),
    });
    try {
      const r = await fetch(
        `${c.url}gettoken?token=service-password-xyz&app=live`,
      );
      assert.equal(r.status, 200);
      await r.body?.cancel();
      const a = await fetch(`${c.url}admin/tokens`, {
        headers: { authorization: "Bearer admin-token-0123456789abcdef" },
      });
      await a.body?.cancel();
    } finally {
      await c.close();
      await store.close();
    }
    const text = await Deno.readTextFile(logPath);
    assert.ok(!text.includes("service-password-xyz"), text);
    assert.ok(!text.includes("admin-token-0123456789abcdef"), text);
    const lines = parseJsonLines(text);
    assert.deepEqual(lines.map((l) => [l.method, l.path, l.status, l.role]), [
      ["GET", "/gettoken?token=<redacted>&app=live", 200, "control"],
      ["GET", "/admin/tokens", 200, "control"],
    ]);
  });
});
