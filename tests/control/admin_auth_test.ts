import assert from "node:assert/strict";
import { ADMIN_TOKEN, withControlApp } from "./_control_app.ts";

const bearer = (t: string) => ({ headers: { Authorization: `Bearer ${t}` } });

Deno.test("admin API answers 401 with a Bearer challenge without credentials", async () => {
  await withControlApp(async (f) => {
    const res = await f.request("/admin/tokens");
    assert.equal(res.status, 401);
    assert.equal(
      res.headers.get("WWW-Authenticate"),
      'Bearer realm="meridian"',
    );
    assert.equal(await res.text(), "Unauthorized: bearer token required");
  });
});

Deno.test("admin API answers 401 invalid_token to a wrong token or scheme, without echoing it", async () => {
  await withControlApp(async (f) => {
    for (
      const header of [
        "Bearer wrong-token",
        `Basic ${ADMIN_TOKEN}`,
        `Bearer ${ADMIN_TOKEN}x`,
        "Bearer",
      ]
    ) {
      const res = await f.request("/admin/tokens", {
        headers: { Authorization: header },
      }, "192.0.2.50");
      assert.equal(res.status, 401, header);
      assert.equal(
        res.headers.get("WWW-Authenticate"),
        'Bearer realm="meridian", error="invalid_token"',
      );
      const body = await res.text();
      assert.ok(!body.includes("wrong-token") && !body.includes(ADMIN_TOKEN));
    }
  });
});

Deno.test("admin API answers 200 with the admin token (scheme case-insensitive)", async () => {
  await withControlApp(async (f) => {
    assert.equal(
      (await f.request("/admin/tokens", bearer(ADMIN_TOKEN))).status,
      200,
    );
    const res = await f.request("/admin/tokens", {
      headers: { Authorization: `bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  });
});

Deno.test("admin API locks out wrong tokens after repeated ones, never the admin token", async () => {
  await withControlApp(async (f) => {
    const ip = "192.0.2.99";
    for (let i = 0; i < 3; i++) {
      const r = await f.request("/admin/tokens", bearer(`nope${i}`), ip);
      assert.equal(r.status, 401);
      await r.body?.cancel();
    }
    const res = await f.request("/admin/tokens", bearer("nope3"), ip);
    assert.equal(res.status, 429);
    assert.equal(res.headers.get("Retry-After"), "300");
    await res.body?.cancel();
    const none = await f.request("/admin/tokens", undefined, ip);
    assert.equal(none.status, 429, "no token at all waits too");
    await none.body?.cancel();
    const admin = await f.request("/admin/tokens", bearer(ADMIN_TOKEN), ip);
    assert.equal(
      admin.status,
      200,
      "the admin shares the address, not the lock",
    );
    await admin.body?.cancel();
  }, { maxFailures: 3 });
});
