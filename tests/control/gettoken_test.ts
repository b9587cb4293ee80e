import assert from "node:assert/strict";
import { renderToken } from "../../control/mod.ts";
import { checkAccess } from "../../access/mod.ts";
import { mint, SERVICE_PASSWORD, T0, withControlApp } from "./_control_app.ts";

const TOKEN_RE = /^[A-Za-z0-9]{16}$/;

Deno.test("renderToken() gives the exact bytes and content type of each format", () => {
  const t = "AbCdEfGh12345678";
  assert.deepEqual(renderToken(t, "plain"), {
    body: "AbCdEfGh12345678",
    contentType: "text/plain; charset=utf-8",
  });
  assert.deepEqual(renderToken(t, "xml"), {
    body:
      '<?xml version="1.0" encoding="UTF-8"?>\n<Token>AbCdEfGh12345678</Token>',
    contentType: "application/xml; charset=utf-8",
  });
  assert.deepEqual(renderToken(t, "json"), {
    body: '{"Token":"AbCdEfGh12345678"}',
    contentType: "application/json",
  });
});

Deno.test("GET /gettoken answers a bare 16-character token as text/plain by default", async () => {
  await withControlApp(async (f) => {
    const res = await f.request(`/gettoken?token=${SERVICE_PASSWORD}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("Content-Type"), "text/plain; charset=utf-8");
    assert.equal(res.headers.get("Cache-Control"), "no-store");
    const body = await res.text();
    assert.match(body, TOKEN_RE);
    const stored = await f.store.getToken(body);
    assert.deepEqual(stored, {
      token: body,
      app: null,
      createdAtMs: T0,
      expiresAtMs: T0 + 3600_000,
      maxUses: 0,
      usesSpent: 0,
    });
  });
});

Deno.test("GET /gettoken&format=xml answers an XML declaration then <Token>…</Token>", async () => {
  await withControlApp(async (f) => {
    const res = await f.request(
      `/gettoken?token=${SERVICE_PASSWORD}&format=xml`,
    );
    assert.equal(res.status, 200);
    assert.equal(
      res.headers.get("Content-Type"),
      "application/xml; charset=utf-8",
    );
    const body = await res.text();
    const m =
      /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<Token>([A-Za-z0-9]{16})<\/Token>$/
        .exec(body);
    assert.ok(m, body);
    assert.ok(await f.store.getToken(m[1]!));
  });
});

Deno.test('GET /gettoken&format=json answers {"Token":"…"}', async () => {
  await withControlApp(async (f) => {
    const res = await f.request(
      `/gettoken?token=${SERVICE_PASSWORD}&format=json`,
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("Content-Type"), "application/json");
    const body = await res.text();
    const m = /^\{"Token":"([A-Za-z0-9]{16})"\}$/.exec(body);
    assert.ok(m, body);
    assert.deepEqual(JSON.parse(body), { Token: m[1] });
  });
});

Deno.test("GET /gettoken mints distinct tokens", async () => {
  await withControlApp(async (f) => {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add(await mint(f));
    assert.equal(seen.size, 20);
  });
});

Deno.test("GET /gettoken&app= scopes the token to that app; without app it opens every app", async () => {
  await withControlApp(async (f) => {
    const scoped = await mint(f, "&app=live");
    const any = await mint(f);
    const now = T0 + 1000;
    assert.equal(
      (await checkAccess(f.store, { token: scoped, app: "live", now })).ok,
      true,
    );
    assert.deepEqual(
      await checkAccess(f.store, { token: scoped, app: "vod", now }),
      { ok: false, reason: "wrong_app" },
    );
    for (const app of ["live", "vod", "other"]) {
      assert.equal(
        (await checkAccess(f.store, { token: any, app, now })).ok,
        true,
        app,
      );
    }
  });
});

Deno.test("GET /gettoken&duration= expires the token after that many seconds", async () => {
  await withControlApp(async (f) => {
    const token = await mint(f, "&duration=10");
    const at = (ms: number) =>
      checkAccess(f.store, { token, app: "live", now: T0 + ms });
    assert.equal((await at(9_999)).ok, true);
    assert.deepEqual(await at(10_000), { ok: false, reason: "expired" });
  });
});

Deno.test("GET /gettoken&limit= ends the token after that many uses", async () => {
  await withControlApp(async (f) => {
    const token = await mint(f, "&limit=2&duration=60");
    const use = () => checkAccess(f.store, { token, app: "live", now: T0 });
    assert.deepEqual(await use(), {
      ok: true,
      scope: null,
      expiresAtMs: T0 + 60_000,
      usesLeft: 1,
    });
    assert.equal((await use()).ok, true);
    assert.deepEqual(await use(), { ok: false, reason: "used_up" });
  });
});

Deno.test("GET /gettoken without limit uses the configured default (0: unlimited)", async () => {
  await withControlApp(async (f) => {
    const token = await mint(f);
    for (let i = 0; i < 5; i++) {
      const r = await checkAccess(f.store, { token, app: "live", now: T0 });
      assert.ok(r.ok && r.usesLeft === null);
    }
  });
  await withControlApp(async (f) => {
    const token = await mint(f);
    assert.equal((await f.store.getToken(token))?.maxUses, 3);
  }, { defaultTokenUses: 3 });
});

Deno.test("GET /gettoken answers 400 with a clear message for invalid parameters", async () => {
  await withControlApp(async (f) => {
    const cases: [string, RegExp][] = [
      [
        "&duration=abc",
        /^Invalid duration: got "abc", expected an integer 1\.\.315360000 \(seconds\)$/,
      ],
      ["&duration=0", /^Invalid duration: got "0"/],
      ["&duration=-5", /^Invalid duration: got "-5"/],
      ["&duration=1.5", /^Invalid duration: got "1\.5"/],
      ["&duration=", /^Invalid duration: got ""/],
      ["&duration=999999999999", /^Invalid duration/],
      [
        "&limit=x",
        /^Invalid limit: got "x", expected an integer 0\.\.1000000000 \(uses, 0 for unlimited\)$/,
      ],
      ["&limit=-1", /^Invalid limit/],
      ["&format=yaml", /^Invalid format: got "yaml", expected xml or json/],
      ["&app=../etc", /^Invalid app: got "\.\.\/etc"/],
      ["&app=", /^Invalid app: got ""/],
    ];
    for (const [query, re] of cases) {
      const res = await f.request(
        `/gettoken?token=${SERVICE_PASSWORD}${query}`,
      );
      assert.equal(res.status, 400, query);
      assert.equal(
        res.headers.get("Content-Type"),
        "text/plain; charset=utf-8",
      );
      assert.match(await res.text(), re, query);
    }
    assert.equal((await f.store.listTokens()).length, 0);
  });
});

Deno.test("GET /gettoken answers 403 to a wrong or missing service password, never echoing it", async () => {
  await withControlApp(async (f) => {
    for (
      const q of [
        "?token=wrong-password",
        "?token=",
        "",
        `?token=${SERVICE_PASSWORD}x`,
      ]
    ) {
      const res = await f.request(
        `/gettoken${q}`,
        undefined,
        `198.51.100.${q.length}`,
      );
      assert.equal(res.status, 403, q);
      const body = await res.text();
      assert.equal(body, "Forbidden: wrong service password");
    }
    assert.equal((await f.store.listTokens()).length, 0);
  });
});

Deno.test("GET /gettoken answers wrong passwords 429 with Retry-After after repeated ones; the right password still passes", async () => {
  await withControlApp(async (f) => {
    const ip = "203.0.113.7";
    for (let i = 0; i < 5; i++) {
      const res = await f.request("/gettoken?token=guess" + i, undefined, ip);
      assert.equal(res.status, 403);
      await res.body?.cancel();
    }
    // Locked: a wrong password is refused without being counted...
    const locked = await f.request("/gettoken?token=guess9", undefined, ip);
    assert.equal(locked.status, 429);
    assert.equal(locked.headers.get("Retry-After"), "300");
    assert.match(await locked.text(), /retry in 300 seconds/);
    // ...but whoever shares the address with the right password is not locked out.
    const right = await f.request(
      `/gettoken?token=${SERVICE_PASSWORD}`,
      undefined,
      ip,
    );
    assert.equal(right.status, 200);
    await right.body?.cancel();
    f.clock.now += 200_000;
    const later = await f.request("/gettoken?token=guess10", undefined, ip);
    assert.equal(later.status, 429, "the right password did not lift the lock");
    assert.equal(later.headers.get("Retry-After"), "100");
    await later.body?.cancel();
    f.clock.now += 100_000;
    const after = await f.request("/gettoken?token=guess11", undefined, ip);
    assert.equal(after.status, 403, "counted again after the lock");
    await after.body?.cancel();
  });
});
