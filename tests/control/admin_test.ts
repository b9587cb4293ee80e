import assert from "node:assert/strict";
import { toAdminView } from "../../control/mod.ts";
import { checkAccess } from "../../access/mod.ts";
import { ADMIN_TOKEN, mint, T0, withControlApp } from "./_control_app.ts";

const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };

Deno.test("toAdminView() shows state, uses left and ISO times", () => {
  const base = {
    token: "AbCdEfGh12345678",
    app: "live",
    createdAtMs: 0,
    expiresAtMs: 60_000,
    maxUses: 2,
    usesSpent: 2,
  };
  assert.deepEqual(toAdminView(base, 1000), {
    token: "AbCdEfGh12345678",
    app: "live",
    createdAt: "1970-01-01T00:00:00.000Z",
    expiresAt: "1970-01-01T00:01:00.000Z",
    maxUses: 2,
    usesSpent: 2,
    usesLeft: 0,
    state: "used_up",
  });
  assert.equal(toAdminView(base, 60_000).state, "expired");
  assert.equal(toAdminView({ ...base, maxUses: 0 }, 1000).usesLeft, null);
  assert.equal(toAdminView({ ...base, maxUses: 0 }, 1000).state, "active");
});

Deno.test("GET /admin/tokens lists minted tokens with their use counts", async () => {
  await withControlApp(async (f) => {
    const a = await mint(f, "&app=live&limit=3&duration=60");
    f.clock.now += 1000;
    const b = await mint(f);
    await checkAccess(f.store, { token: a, app: "live", now: f.clock.now });
    const res = await f.request("/admin/tokens", { headers: auth });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("Cache-Control"), "no-store");
    const { tokens } = await res.json();
    assert.deepEqual(tokens, [
      {
        token: a,
        app: "live",
        createdAt: new Date(T0).toISOString(),
        expiresAt: new Date(T0 + 60_000).toISOString(),
        maxUses: 3,
        usesSpent: 1,
        usesLeft: 2,
        state: "active",
      },
      {
        token: b,
        app: null,
        createdAt: new Date(T0 + 1000).toISOString(),
        expiresAt: new Date(T0 + 1000 + 3600_000).toISOString(),
        maxUses: 0,
        usesSpent: 0,
        usesLeft: null,
        state: "active",
      },
    ]);
  });
});

Deno.test("DELETE /admin/tokens/{token} revokes it; unknown tokens answer 404", async () => {
  await withControlApp(async (f) => {
    const t = await mint(f);
    const del = await f.request(`/admin/tokens/${t}`, {
      method: "DELETE",
      headers: auth,
    });
    assert.equal(del.status, 204);
    assert.deepEqual(
      await checkAccess(f.store, { token: t, app: "live", now: f.clock.now }),
      { ok: false, reason: "revoked" },
    );
    for (
      const path of [
        `/admin/tokens/${t}`,
        "/admin/tokens/ZZZZZZZZZZZZZZZZ",
        "/admin/tokens/short",
      ]
    ) {
      const res = await f.request(path, { method: "DELETE", headers: auth });
      assert.equal(res.status, 404, path);
      assert.equal(await res.text(), "Token not found");
    }
    const list = await (await f.request("/admin/tokens", { headers: auth }))
      .json();
    assert.deepEqual(list, { tokens: [] });
  });
});

Deno.test("DELETE /admin/tokens/{token} needs the admin token", async () => {
  await withControlApp(async (f) => {
    const t = await mint(f);
    const res = await f.request(`/admin/tokens/${t}`, { method: "DELETE" });
    assert.equal(res.status, 401);
    await res.body?.cancel();
    assert.ok(await f.store.getToken(t));
  });
});
