import assert from "node:assert/strict";
import {
  type FeedEntry,
  KvStore,
  StoreError,
  type TokenRecord,
} from "../../../store/mod.ts";
import { raceTwoProcesses } from "../_spend_race.ts";
import { waitFor } from "../../_helpers/peers.ts";
import { withTempDir } from "../_temp_store.ts";

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
      await waitFor(
        "revocation in the second store",
        () => b.isRevoked("FEED000000000001"),
        1000,
      );
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
    await raceTwoProcesses(`kv:${kvPath}`);
  });
});
