import assert from "node:assert/strict";
import {
  type FeedEntry,
  KvStore,
  StoreError,
  type TokenRecord,
} from "../../../store/mod.ts";
import { waitUntil, withTempDir } from "../_temp_store.ts";

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

Deno.test("KvStore.open() wraps an unusable path in STORE_OPEN_FAILED", async () => {
  await assert.rejects(
    KvStore.open("/nonexistent-dir-meridian/x/y.kv"),
    (e: unknown) => e instanceof StoreError && e.code === "STORE_OPEN_FAILED",
  );
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
