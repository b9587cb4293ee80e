/**
 * Console sign-in and the admin API's gate, in process: the cookie's attributes, a tampered or
 * expired cookie refused, the CSRF token required for changes (and refused cross-site), the
 * viewer role reading only, sign-out revoking the session, wrong sign-ins locked out, the
 * bearer token working as before.
 */
import assert from "node:assert/strict";
import { hashPassword } from "../../access/mod.ts";
import { createControlApp } from "../../control/mod.ts";
import { silentLogger } from "../../log/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import type { KvStore } from "../../store/mod.ts";
import { withStore } from "../store/_temp_store.ts";

const ADMIN_TOKEN = "auth-test-admin-token-0123456789";
const T0 = 1_700_000_000_000;
const VIEWER = { name: "ops.viewer", password: "viewer-password-123" };
const viewerHash = await hashPassword(VIEWER.password, 100_000);

interface Fixture {
  readonly store: KvStore;
  readonly clock: { now: number };
  req(
    path: string,
    init?: RequestInit & { ip?: string; url?: string },
  ): Promise<Response>;
}

function withApp(fn: (f: Fixture) => Promise<void>, secureCookies = false) {
  return withStore(async (store) => {
    const clock = { now: T0 };
    const app = createControlApp({
      servicePassword: "auth-test-service-pw",
      adminToken: ADMIN_TOKEN,
      defaultTokenDurationSeconds: 3600,
      defaultTokenUses: 0,
      lockout: { maxFailures: 3, windowSeconds: 60, lockSeconds: 300 },
      operators: [{ ...VIEWER, passwordHash: viewerHash, role: "viewer" }],
      sessionSeconds: 600,
      secureCookies,
    }, {
      store,
      metrics: new MetricsRegistry(),
      log: silentLogger,
      clock: () => clock.now,
    });
    await fn({
      store,
      clock,
      req: (path, init = {}) =>
        Promise.resolve(
          app.request(`${init.url ?? "http://localhost"}${path}`, init, {
            remoteAddr: {
              hostname: init.ip ?? "192.0.2.9",
              port: 40000,
              transport: "tcp",
            },
          }),
        ),
    });
  });
}

async function login(
  f: Fixture,
  body: unknown,
  extra: RequestInit & { url?: string; ip?: string } = {},
): Promise<{ res: Response; cookie: string; csrf: string }> {
  const res = await f.req("/console/login", {
    method: "POST",
    headers: { "Content-Type": "application/json", ...extra.headers },
    body: JSON.stringify(body),
    ...(extra.url ? { url: extra.url } : {}),
    ...(extra.ip ? { ip: extra.ip } : {}),
  });
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0]!;
  const csrf = res.status === 200 ? (await res.json()).csrf : "";
  return { res, cookie, csrf };
}

Deno.test("console sign-in: the admin token gives an admin session cookie, HttpOnly, SameSite=Strict, expiring", async () => {
  await withApp(async (f) => {
    const { res, cookie, csrf } = await login(f, { token: ADMIN_TOKEN });
    assert.equal(res.status, 200);
    const set = res.headers.get("set-cookie") ?? "";
    assert.match(set, /^meridian_session=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+; /);
    for (const a of ["Path=/", "HttpOnly", "SameSite=Strict", "Max-Age=600"]) {
      assert.ok(set.includes(a), a);
    }
    assert.ok(!set.includes("Secure"), "plain HTTP without secureCookies");
    assert.ok(!set.includes(ADMIN_TOKEN));
    assert.match(csrf, /^[A-Za-z0-9_-]{43}$/);
    const session = await f.req("/console/session", {
      headers: { Cookie: cookie },
    });
    assert.deepEqual(
      { ...(await session.json()), expiresAt: undefined },
      { name: "admin", role: "admin", csrf, expiresAt: undefined },
    );
    // Past its lifetime the cookie opens nothing.
    f.clock.now = T0 + 600_000;
    const late = await f.req("/admin/tokens", { headers: { Cookie: cookie } });
    assert.equal(late.status, 401);
    await late.body?.cancel();
  });
});

Deno.test("console sign-in: Secure under TLS, and always with secureCookies", async () => {
  await withApp(async (f) => {
    const { res } = await login(f, { token: ADMIN_TOKEN }, {
      url: "https://console.example",
    });
    assert.match(res.headers.get("set-cookie") ?? "", /; Secure/);
  });
  await withApp(async (f) => {
    const { res } = await login(f, { token: ADMIN_TOKEN });
    assert.match(res.headers.get("set-cookie") ?? "", /; Secure/);
  }, true);
});

Deno.test("admin gate: a change with the cookie needs the session's CSRF token; cross-site requests are refused", async () => {
  await withApp(async (f) => {
    const { cookie, csrf } = await login(f, { token: ADMIN_TOKEN });
    const post = (headers: Record<string, string>) =>
      f.req("/admin/tokens", {
        method: "POST",
        headers: {
          Cookie: cookie,
          "Content-Type": "application/json",
          ...headers,
        },
        body: "{}",
      });
    for (
      const headers of <Record<string, string>[]> [
        {},
        { "X-CSRF-Token": "x".repeat(43) },
        { "X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site" },
      ]
    ) {
      const r = await post(headers);
      assert.equal(r.status, 403, JSON.stringify(headers));
      assert.match(await r.text(), /Forbidden/);
    }
    assert.deepEqual(await f.store.listTokens(), []);
    const ok = await post({
      "X-CSRF-Token": csrf,
      "Sec-Fetch-Site": "same-origin",
    });
    assert.equal(ok.status, 201);
    await ok.body?.cancel();
    // Reads need no CSRF token.
    const list = await f.req("/admin/tokens", { headers: { Cookie: cookie } });
    assert.equal(list.status, 200);
    assert.equal((await list.json()).tokens.length, 1);
  });
});

Deno.test("admin gate: a tampered cookie is no session", async () => {
  await withApp(async (f) => {
    const { cookie } = await login(f, {
      name: VIEWER.name,
      password: VIEWER.password,
    });
    const [payload, mac] = cookie.split("=")[1]!.split(".");
    // Claim the admin role with the viewer's signature.
    const forged = btoa(
      JSON.stringify({
        ...JSON.parse(atob(payload!.replaceAll("-", "+").replaceAll("_", "/"))),
        r: "admin",
      }),
    ).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
    for (
      const c of [
        `meridian_session=${forged}.${mac}`,
        `meridian_session=${payload}.${"A".repeat(43)}`,
        "meridian_session=garbage",
      ]
    ) {
      const r = await f.req("/admin/tokens", { headers: { Cookie: c } });
      assert.equal(r.status, 401, c);
      await r.body?.cancel();
    }
  });
});

Deno.test("operators: a viewer reads (token values masked) and changes nothing; wrong passwords are refused", async () => {
  await withApp(async (f) => {
    await f.store.createToken({
      token: "AbCdEfGhIjKlMnOp",
      app: null,
      createdAtMs: T0,
      expiresAtMs: T0 + 3_600_000,
      maxUses: 0,
    });
    const bad = await login(f, {
      name: VIEWER.name,
      password: "wrong-password-000",
    });
    assert.equal(bad.res.status, 401);
    const unknown = await login(f, {
      name: "nobody",
      password: VIEWER.password,
    });
    assert.equal(unknown.res.status, 401);
    const { res, cookie, csrf } = await login(f, VIEWER);
    assert.equal(res.status, 200);
    const list =
      await (await f.req("/admin/tokens", { headers: { Cookie: cookie } }))
        .json();
    assert.equal(list.tokens[0].token, "AbCd" + "•".repeat(12));
    const del = await f.req("/admin/tokens/AbCdEfGhIjKlMnOp", {
      method: "DELETE",
      headers: { Cookie: cookie, "X-CSRF-Token": csrf },
    });
    assert.equal(del.status, 403);
    assert.match(await del.text(), /viewer role/);
    assert.ok(await f.store.getToken("AbCdEfGhIjKlMnOp"));
  });
});

Deno.test("console sign-out revokes the session; the bearer token is unaffected", async () => {
  await withApp(async (f) => {
    const { cookie, csrf } = await login(f, { token: ADMIN_TOKEN });
    const noCsrf = await f.req("/console/logout", {
      method: "POST",
      headers: { Cookie: cookie },
    });
    assert.equal(noCsrf.status, 403);
    await noCsrf.body?.cancel();
    const out = await f.req("/console/logout", {
      method: "POST",
      headers: { Cookie: cookie, "X-CSRF-Token": csrf },
    });
    assert.equal(out.status, 204);
    assert.match(out.headers.get("set-cookie") ?? "", /Max-Age=0/);
    const after = await f.req("/admin/tokens", { headers: { Cookie: cookie } });
    assert.equal(after.status, 401);
    await after.body?.cancel();
    const bearer = await f.req("/admin/tokens", {
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(bearer.status, 200);
    await bearer.body?.cancel();
  });
});

Deno.test("console sign-in: JSON only, wrong secrets lock the client out, the right one still passes", async () => {
  await withApp(async (f) => {
    const form = await f.req("/console/login", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: `token=${ADMIN_TOKEN}`,
    });
    assert.equal(form.status, 415);
    await form.body?.cancel();
    for (let i = 0; i < 3; i++) {
      assert.equal((await login(f, { token: `wrong-${i}` })).res.status, 401);
    }
    const locked = await login(f, { token: "wrong-again" });
    assert.equal(locked.res.status, 429);
    assert.ok(Number(locked.res.headers.get("retry-after")) > 0);
    // Another address is not locked; the right token passes even here.
    assert.equal(
      (await login(f, { token: "wrong" }, { ip: "192.0.2.77" })).res.status,
      401,
    );
    assert.equal((await login(f, { token: ADMIN_TOKEN })).res.status, 200);
  });
});
