import assert from "node:assert/strict";
import {
  type FeedEntry,
  KvStore,
  StoreError,
  type TokenRecord,
} from "../../../store/mod.ts";
import { waitUntil, withStore, withTempDir } from "../_temp_store.ts";

const T0 = 1_700_000_000_000;

function record(
  token: string,
  over: Partial<TokenRecord> = {},
): TokenRecord {
  return {
    token,
    app: null,
    createdAtMs: T0,
    expiresAtMs: T0 + 3600_000,
    maxUses: 0,
    ...over,
  };
}

Deno.test("KvStore.createToken() stores a record that getToken() reads back", async () => {
  await withStore(async (store) => {
    await store.createToken(record("AAAAAAAAAAAAAAA1", { app: "live" }));
    assert.deepEqual(await store.getToken("AAAAAAAAAAAAAAA1"), {
      ...record("AAAAAAAAAAAAAAA1", { app: "live" }),
      usesSpent: 0,
    });
    assert.equal(await store.getToken("AAAAAAAAAAAAAAA2"), undefined);
  });
});

Deno.test("KvStore.createToken() refuses a value already taken", async () => {
  await withStore(async (store) => {
    await store.createToken(record("AAAAAAAAAAAAAAA1"));
    await assert.rejects(
      store.createToken(record("AAAAAAAAAAAAAAA1")),
      (e: unknown) =>
        e instanceof StoreError && e.code === "STORE_TOKEN_EXISTS" &&
        !e.message.includes("AAAAAAAAAAAAAAA1"),
    );
  });
});

Deno.test("KvStore.spendTokenUse() counts uses and refuses once they are spent", async () => {
  await withStore(async (store) => {
    await store.createToken(record("LIMITED000000003", { maxUses: 3 }));
    for (let i = 1; i <= 3; i++) {
      const r = await store.spendTokenUse("LIMITED000000003", T0);
      assert.ok(r.ok);
      assert.equal(r.state.usesSpent, i);
    }
    assert.deepEqual(await store.spendTokenUse("LIMITED000000003", T0), {
      ok: false,
      reason: "used_up",
    });
    assert.equal((await store.getToken("LIMITED000000003"))?.usesSpent, 3);
  });
});

Deno.test("KvStore.spendTokenUse() refuses at and after the expiry instant", async () => {
  await withStore(async (store) => {
    await store.createToken(
      record("EXPIRING00000001", { expiresAtMs: T0 + 1000 }),
    );
    assert.ok((await store.spendTokenUse("EXPIRING00000001", T0 + 999)).ok);
    assert.deepEqual(
      await store.spendTokenUse("EXPIRING00000001", T0 + 1000),
      { ok: false, reason: "expired" },
    );
  });
});

Deno.test("KvStore.spendTokenUse() refuses another app without spending, and unknown tokens", async () => {
  await withStore(async (store) => {
    await store.createToken(
      record("SCOPED0000000001", { app: "live", maxUses: 1 }),
    );
    assert.deepEqual(await store.spendTokenUse("SCOPED0000000001", T0, "vod"), {
      ok: false,
      reason: "wrong_app",
    });
    assert.ok((await store.spendTokenUse("SCOPED0000000001", T0, "live")).ok);
    assert.deepEqual(await store.spendTokenUse("NOSUCHTOKEN00001", T0), {
      ok: false,
      reason: "unknown",
    });
  });
});

Deno.test("KvStore.revokeToken() deletes, remembers the revocation, and answers false when unknown", async () => {
  await withStore(async (store) => {
    await store.createToken(record("REVOKE0000000001"));
    assert.equal(store.isRevoked("REVOKE0000000001"), false);
    assert.equal(await store.revokeToken("REVOKE0000000001", T0), true);
    assert.equal(store.isRevoked("REVOKE0000000001"), true);
    assert.equal(await store.getToken("REVOKE0000000001"), undefined);
    assert.deepEqual(await store.spendTokenUse("REVOKE0000000001", T0), {
      ok: false,
      reason: "revoked",
    });
    assert.equal(await store.revokeToken("REVOKE0000000001", T0), false);
    assert.equal(await store.revokeToken("NOSUCHTOKEN00001", T0), false);
  });
});

Deno.test("KvStore.listTokens() lists every token with its use count", async () => {
  await withStore(async (store) => {
    await store.createToken(record("LIST000000000001"));
    await store.createToken(record("LIST000000000002", { maxUses: 2 }));
    await store.spendTokenUse("LIST000000000002", T0);
    const list = (await store.listTokens()).sort((a, b) =>
      a.token.localeCompare(b.token)
    );
    assert.deepEqual(list.map((t) => [t.token, t.usesSpent]), [
      ["LIST000000000001", 0],
      ["LIST000000000002", 1],
    ]);
  });
});

Deno.test("KvStore feed: a revocation reaches a second store on the same file within 1 s by polling", async () => {
  await withTempDir(async (_dir, kvPath) => {
    const a = await KvStore.open(kvPath);
    // No watch on the observer: only the polled feed can tell it, as across processes.
    const b = await KvStore.open(kvPath, { watch: false });
    try {
      const seen: FeedEntry[] = [];
      b.subscribe((e) => seen.push(e));
      await a.createToken(record("FEED000000000001"));
      assert.equal(b.isRevoked("FEED000000000001"), false);
      await a.revokeToken("FEED000000000001", T0);
      const ms = await waitUntil(
        "revocation in the second store",
        () => b.isRevoked("FEED000000000001"),
        1000,
      );
      assert.ok(ms < 1000);
      assert.equal(seen.length, 1);
      assert.deepEqual(seen[0]?.event, {
        kind: "token.revoked",
        token: "FEED000000000001",
        expiresAtMs: T0 + 3600_000,
      });
    } finally {
      await b.close();
      await a.close();
    }
  });
});

Deno.test("KvStore feed: events arrive in order at every store, own ones included", async () => {
  await withTempDir(async (_dir, kvPath) => {
    const a = await KvStore.open(kvPath);
    const b = await KvStore.open(kvPath, { watch: false, pollIntervalMs: 50 });
    try {
      const seenA: number[] = [];
      const seenB: string[] = [];
      a.subscribe((e) => seenA.push(e.seq));
      b.subscribe((e) =>
        seenB.push(e.event.kind === "purge" ? e.event.urls.join() : "?")
      );
      for (const url of ["/a", "/b", "/c"]) {
        await (url === "/b" ? b : a).publish({
          kind: "purge",
          urls: [url],
          prefixes: [],
          streams: [],
          all: false,
        });
      }
      await waitUntil("three events", () => seenB.length === 3, 1000);
      await waitUntil("three own events", () => seenA.length === 3, 1000);
      assert.deepEqual(seenB, ["/a", "/b", "/c"]);
      assert.deepEqual(seenA, [1, 2, 3]);
    } finally {
      await b.close();
      await a.close();
    }
  });
});

Deno.test("KvStore.open() loads revocations made before it opened", async () => {
  await withTempDir(async (_dir, kvPath) => {
    const a = await KvStore.open(kvPath);
    await a.createToken(record("EARLY00000000001"));
    await a.revokeToken("EARLY00000000001", T0);
    await a.close();
    const b = await KvStore.open(kvPath, { watch: false });
    try {
      assert.equal(b.isRevoked("EARLY00000000001"), true);
    } finally {
      await b.close();
    }
  });
});

Deno.test("KvStore.ensureSecret() gives every store the first secret written", async () => {
  await withTempDir(async (_dir, kvPath) => {
    const a = await KvStore.open(kvPath);
    const b = await KvStore.open(kvPath);
    try {
      const [x, y] = await Promise.all([
        a.ensureSecret("session", () => "from-a"),
        b.ensureSecret("session", () => "from-b"),
      ]);
      assert.equal(x, y);
      assert.equal(await b.ensureSecret("session", () => "later"), x);
    } finally {
      await b.close();
      await a.close();
    }
  });
});

Deno.test("KvStore refuses calls after close() with STORE_CLOSED", async () => {
  await withTempDir(async (_dir, kvPath) => {
    const store = await KvStore.open(kvPath);
    await store.close();
    await store.close(); // idempotent
    await assert.rejects(
      store.getToken("AAAAAAAAAAAAAAA1"),
      (e: unknown) => e instanceof StoreError && e.code === "STORE_CLOSED",
    );
  });
});

Deno.test("KvStore.open() wraps an unusable path in STORE_OPEN_FAILED", async () => {
  await assert.rejects(
    KvStore.open("/nonexistent-dir-meridian/x/y.kv"),
    (e: unknown) => e instanceof StoreError && e.code === "STORE_OPEN_FAILED",
  );
});

Deno.test("KvStore.spendTokenUse() never over-spends under concurrency from two stores", async () => {
  await withTempDir(async (_dir, kvPath) => {
    const a = await KvStore.open(kvPath, { watch: false });
    const b = await KvStore.open(kvPath, { watch: false });
    try {
      await a.createToken(record("RACE000000000005", { maxUses: 5 }));
      const results = await Promise.all(
        Array.from(
          { length: 30 },
          (_, i) => (i % 2 ? a : b).spendTokenUse("RACE000000000005", T0),
        ),
      );
      assert.equal(results.filter((r) => r.ok).length, 5);
      assert.equal((await a.getToken("RACE000000000005"))?.usesSpent, 5);
    } finally {
      await b.close();
      await a.close();
    }
  });
});

Deno.test("KvStore.spendTokenUse() is atomic across two OS processes: exactly one wins the last use", async () => {
  await withTempDir(async (_dir, kvPath) => {
    const now = Date.now();
    const setup = await KvStore.open(kvPath, { watch: false });
    const many = 40;
    try {
      await setup.createToken({
        token: "LASTUSE000000001",
        app: null,
        createdAtMs: now,
        expiresAtMs: now + 600_000,
        maxUses: 3,
      });
      await setup.spendTokenUse("LASTUSE000000001", now);
      await setup.spendTokenUse("LASTUSE000000001", now);
      await setup.createToken({
        token: "MANYUSES00000040",
        app: null,
        createdAtMs: now,
        expiresAtMs: now + 600_000,
        maxUses: many,
      });
    } finally {
      await setup.close();
    }
    const worker = new URL("../spend_worker.ts", import.meta.url).pathname;
    const config = new URL("../../../deno.json", import.meta.url).pathname;
    // Both start at the same instant, after each has had time to boot and open the file.
    const startAt = String(Date.now() + 2500);
    const spawn = () =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--config",
          config,
          "--unstable-kv",
          `--allow-read`,
          `--allow-write`,
          worker,
          kvPath,
          startAt,
          "LASTUSE000000001",
          "MANYUSES00000040",
        ],
        stdout: "piped",
        stderr: "piped",
        stdin: "null",
        signal: AbortSignal.timeout(30_000),
      }).output();
    const outs = await Promise.all([spawn(), spawn()]);
    const results = outs.map((o) => {
      const stderr = new TextDecoder().decode(o.stderr);
      assert.equal(o.code, 0, `worker failed: ${stderr}`);
      return JSON.parse(new TextDecoder().decode(o.stdout)) as {
        last: boolean;
        wins: number;
      };
    });
    assert.equal(
      results.filter((r) => r.last).length,
      1,
      JSON.stringify(results),
    );
    assert.equal(results[0]!.wins + results[1]!.wins, many);
  });
});
