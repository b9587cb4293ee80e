/**
 * Issue 16's "a token minted in one region is spent in another with the use count exact under
 * concurrent use": two store instances in one process, then two OS processes, spending the
 * same tokens at once against one Redis.
 *
 * @module
 */

import assert from "node:assert/strict";
import { openRedisStore } from "../../../store/redis/mod.ts";
import { raceTwoProcesses } from "../_spend_race.ts";
import { REDIS_SKIP, RedisServer } from "./_redis_server.ts";

const ignore = REDIS_SKIP !== undefined;

Deno.test({
  name:
    "RedisStore: a token minted by one store is spent by two others at once, the count exact",
  ignore,
  async fn() {
    const server = await RedisServer.start();
    const minter = await openRedisStore(server.url);
    const a = await openRedisStore(server.url);
    const b = await openRedisStore(server.url);
    try {
      const now = Date.now();
      await minter.createToken({
        token: "REGIONS000000100",
        app: "live",
        createdAtMs: now,
        expiresAtMs: now + 600_000,
        maxUses: 100,
      });
      // 300 spends in flight at once, alternating stores: exactly 100 succeed.
      const results = await Promise.all(
        Array.from(
          { length: 300 },
          (_, i) =>
            (i % 2 ? a : b).spendTokenUse("REGIONS000000100", now, "live"),
        ),
      );
      const wins = results.flatMap((r) => (r.ok ? [r.state.usesSpent] : []));
      assert.equal(wins.length, 100);
      assert.deepEqual(
        wins.sort((x, y) => x - y),
        Array.from({ length: 100 }, (_, i) => i + 1),
        "each use counted once",
      );
      assert.equal((await minter.getToken("REGIONS000000100"))?.usesSpent, 100);
    } finally {
      await b.close();
      await a.close();
      await minter.close();
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "RedisStore.spendTokenUse() is atomic across two OS processes: exactly one wins the last use",
  ignore,
  async fn() {
    const server = await RedisServer.start();
    try {
      await raceTwoProcesses(server.url);
    } finally {
      await server.stop();
    }
  },
});
