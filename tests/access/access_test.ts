import assert from "node:assert/strict";
import {
  checkAccess,
  checkSession,
  importSessionKey,
  loadSessionKey,
  sessionExpiresAt,
  signSession,
  TokenError,
} from "../../access/mod.ts";
import { KvStore } from "../../store/mod.ts";
import { withStore, withTempDir } from "../store/_temp_store.ts";

const T0 = 1_700_000_000_000;

Deno.test("checkAccess() refuses missing and malformed tokens without a store round trip", async () => {
  const noStore = {
    isRevoked: () => false,
    spendTokenUse: () => Promise.reject(new Error("no round trip expected")),
  } as unknown as KvStore;
  assert.deepEqual(
    await checkAccess(noStore, { token: undefined, app: "live", now: T0 }),
    {
      ok: false,
      reason: "missing",
    },
  );
  for (const token of ["short", "AbCdEfGh1234567!", "x".repeat(500)]) {
    assert.deepEqual(
      await checkAccess(noStore, { token, app: "live", now: T0 }),
      {
        ok: false,
        reason: "malformed",
      },
    );
  }
});

Deno.test("checkAccess() refuses a token revoked on another store from memory", async () => {
  await withTempDir(async (_dir, kvPath) => {
    const a = await KvStore.open(kvPath);
    const b = await KvStore.open(kvPath, { watch: false, pollIntervalMs: 20 });
    try {
      await a.createToken({
        token: "REVOKED000000001",
        app: null,
        createdAtMs: T0,
        expiresAtMs: T0 + 60_000,
        maxUses: 0,
      });
      await a.revokeToken("REVOKED000000001", T0);
      const deadline = Date.now() + 1000;
      while (!b.isRevoked("REVOKED000000001") && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.deepEqual(
        await checkAccess(b, {
          token: "REVOKED000000001",
          app: "live",
          now: T0,
        }),
        { ok: false, reason: "revoked" },
      );
    } finally {
      await b.close();
      await a.close();
    }
  });
});

Deno.test("sessionExpiresAt() never outlives the token", () => {
  assert.equal(sessionExpiresAt({ expiresAtMs: 10_000 }, 0, 60), 10_000);
  assert.equal(sessionExpiresAt({ expiresAtMs: 100_000 }, 0, 60), 60_000);
});

Deno.test("checkSession() ends a session when its token is revoked", async () => {
  await withStore(async (store) => {
    const key = await importSessionKey("s".repeat(32));
    await store.createToken({
      token: "SESSION000000001",
      app: "live",
      createdAtMs: T0,
      expiresAtMs: T0 + 60_000,
      maxUses: 1,
    });
    const access = await checkAccess(store, {
      token: "SESSION000000001",
      app: "live",
      now: T0,
    });
    assert.ok(access.ok);
    const cred = await signSession({
      pathPrefix: "/live/demo",
      expiresAtMs: sessionExpiresAt(access, T0, 3600),
      subject: "SESSION000000001",
    }, key);
    const req = { path: "/live/demo/seg7.ts", nowMs: T0 + 1000 };
    // The one use is spent, yet the session keeps playing: one use = one session.
    assert.equal((await checkSession(store, cred, key, req)).ok, true);
    await store.revokeToken("SESSION000000001", T0 + 2000);
    assert.deepEqual(await checkSession(store, cred, key, req), {
      ok: false,
      reason: "revoked",
    });
  });
});

Deno.test("loadSessionKey() uses the configured secret, else one shared through the store", async () => {
  await withTempDir(async (_dir, kvPath) => {
    const a = await KvStore.open(kvPath);
    const b = await KvStore.open(kvPath);
    try {
      const ka = await loadSessionKey({ sessionSecret: "" }, a);
      const kb = await loadSessionKey({ sessionSecret: "" }, b);
      const claims = { pathPrefix: "/live/", expiresAtMs: 10 };
      assert.equal(
        await signSession(claims, ka),
        await signSession(claims, kb),
      );
      const configured = await loadSessionKey(
        { sessionSecret: "c".repeat(40) },
        a,
      );
      assert.equal(
        await signSession(claims, configured),
        await signSession(claims, "c".repeat(40)),
      );
      await assert.rejects(
        loadSessionKey({ sessionSecret: "weak" }, a),
        TokenError,
      );
    } finally {
      await b.close();
      await a.close();
    }
  });
});
