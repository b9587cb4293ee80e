/**
 * `redis+sentinel://` against one real Sentinel watching one Redis: the store asks the sentinel
 * for the master and works through it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { openStore } from "../../../store/mod.ts";
import {
  freePort,
  REDIS_SERVER,
  REDIS_SKIP,
  RedisServer,
} from "./_redis_server.ts";

/** Name the sentinel monitors the master under. */
const MASTER = "meridian-test";

Deno.test({
  name:
    "openStore() through redis+sentinel:// finds the master and spends a token on it",
  ignore: REDIS_SKIP !== undefined,
  async fn() {
    const master = await RedisServer.start();
    const dir = await Deno.makeTempDir({ prefix: "meridian_sentinel_" });
    const port = freePort();
    // A sentinel rewrites its config file, so it gets its own.
    const conf = `${dir}/sentinel.conf`;
    await Deno.writeTextFile(
      conf,
      [
        `port ${port}`,
        "bind 127.0.0.1",
        `dir ${dir}`,
        `sentinel monitor ${MASTER} 127.0.0.1 ${master.port} 1`,
        "",
      ].join("\n"),
    );
    const sentinel = new Deno.Command(REDIS_SERVER, {
      args: [conf, "--sentinel"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      const deadline = Date.now() + 10_000;
      while (true) {
        try {
          (await Deno.connect({ hostname: "127.0.0.1", port })).close();
          break;
        } catch {
          assert.ok(Date.now() < deadline, "sentinel did not start");
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      const store = await openStore(
        { url: `redis+sentinel://127.0.0.1:${port}/${MASTER}/0`, path: "" },
        ".",
      );
      try {
        const now = Date.now();
        await store.createToken({
          token: "SENTINEL00000001",
          app: null,
          createdAtMs: now,
          expiresAtMs: now + 60_000,
          maxUses: 1,
        });
        assert.ok((await store.spendTokenUse("SENTINEL00000001", now)).ok);
        assert.deepEqual(await store.spendTokenUse("SENTINEL00000001", now), {
          ok: false,
          reason: "used_up",
        });
        assert.equal(store.health().up, true);
      } finally {
        await store.close();
      }
      // The data is on the master the sentinel named.
      const direct = await openStore({ url: master.url, path: "" }, ".");
      try {
        assert.equal((await direct.getToken("SENTINEL00000001"))?.usesSpent, 1);
      } finally {
        await direct.close();
      }
    } finally {
      try {
        sentinel.kill("SIGKILL");
      } catch {
        // already gone
      }
      await sentinel.status;
      await master.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
