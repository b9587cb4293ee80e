import assert from "node:assert/strict";
import { Hono } from "hono";
import { createAdminGate, FailureLockout } from "../../../net/mod.ts";
import { silentLogger } from "../../../log/mod.ts";

Deno.test("createAdminGate(): 403 when no token is configured, 401 without or with a wrong bearer token, next() with it", async () => {
  const app = new Hono();
  app.use(
    "/on/*",
    createAdminGate("a-long-admin-token-1", { log: silentLogger }),
  );
  app.use("/off/*", createAdminGate("", { log: silentLogger }));
  app.post("*", (c) => c.text("ok"));
  const post = (path: string, authorization?: string) =>
    app.request(path, {
      method: "POST",
      headers: authorization ? { authorization } : {},
    });
  assert.equal((await post("/off/x", "Bearer ")).status, 403);
  const none = await post("/on/x");
  assert.equal(none.status, 401);
  assert.match(none.headers.get("www-authenticate") ?? "", /^Bearer realm=/);
  assert.equal((await post("/on/x", "Basic a-long-admin-token-1")).status, 401);
  assert.equal(
    (await post("/on/x", "Bearer a-long-admin-token-2")).status,
    401,
  );
  const ok = await post("/on/x", "Bearer a-long-admin-token-1");
  assert.equal(ok.status, 200);
  assert.equal(await ok.text(), "ok");
});

Deno.test("createAdminGate() locks out wrong tokens after repeated ones (429 with Retry-After); the right token passes", async () => {
  const app = new Hono();
  const lockout = new FailureLockout({
    maxFailures: 3,
    windowSeconds: 60,
    lockSeconds: 30,
  });
  app.use(
    "/admin/*",
    createAdminGate("a-long-admin-token-1", { log: silentLogger, lockout }),
  );
  app.get("/admin/x", (c) => c.text("ok"));
  const get = (token: string) =>
    app.request("/admin/x", { headers: { authorization: `Bearer ${token}` } });
  for (let i = 0; i < 3; i++) {
    assert.equal((await get("wrong-token-000000")).status, 401);
  }
  const locked = await get("wrong-token-000001");
  assert.equal(locked.status, 429);
  assert.ok(Number(locked.headers.get("retry-after")) > 0);
  const right = await get("a-long-admin-token-1");
  assert.equal(right.status, 200, "the right token is never locked out");
  assert.equal(await right.text(), "ok");
});
