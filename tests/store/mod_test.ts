import assert from "node:assert/strict";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { KvStore, openStore, StoreError } from "../../store/mod.ts";
import { RedisStore } from "../../store/redis/mod.ts";
import { REDIS_SKIP, RedisServer } from "./redis/_redis_server.ts";
import { withTempDir } from "./_temp_store.ts";

Deno.test("openStore() with no url or path creates the data directory and the KV file", async () => {
  await withTempDir(async (dir) => {
    const dataDir = `${dir}/nested/data`;
    const store = await openStore({ url: "", path: "" }, dataDir);
    try {
      assert.ok(store instanceof KvStore);
      assert.equal(store.health().location, `${dataDir}/meridian.kv`);
    } finally {
      await store.close();
    }
    assert.ok((await Deno.stat(`${dataDir}/meridian.kv`)).isFile);
  });
});

Deno.test("openStore() takes kv:PATH, keeps store.path working, and url wins over path", async () => {
  await withTempDir(async (dir) => {
    const viaUrl = await openStore({ url: `kv:${dir}/a/u.kv`, path: "" }, dir);
    await viaUrl.close();
    assert.ok((await Deno.stat(`${dir}/a/u.kv`)).isFile);
    const viaPath = await openStore({ url: "", path: `${dir}/b/p.kv` }, dir);
    await viaPath.close();
    assert.ok((await Deno.stat(`${dir}/b/p.kv`)).isFile);
    const both = await openStore({
      url: `kv:${dir}/c/u.kv`,
      path: `${dir}/c/p.kv`,
    }, dir);
    await both.close();
    assert.ok((await Deno.stat(`${dir}/c/u.kv`)).isFile);
    await assert.rejects(Deno.stat(`${dir}/c/p.kv`), Deno.errors.NotFound);
  });
});

Deno.test("openStore() registers meridian_store_up when given metrics", async () => {
  await withTempDir(async (dir) => {
    const metrics = new MetricsRegistry();
    const store = await openStore({ url: "", path: "" }, dir, { metrics });
    try {
      assert.match(metrics.render(), /^meridian_store_up\{backend="kv"\} 1$/m);
      assert.match(
        metrics.render(),
        /^meridian_store_outages_total\{backend="kv"\} 0$/m,
      );
    } finally {
      await store.close();
    }
  });
});

Deno.test("openStore() refuses a bad url with STORE_BAD_URL, the password hidden", async () => {
  await assert.rejects(
    openStore({ url: "redis://:hunter2@h:99999", path: "" }, "./data"),
    (e: unknown) =>
      e instanceof StoreError && e.code === "STORE_BAD_URL" &&
      !e.message.includes("hunter2") &&
      e.message.includes("redis://:***@h:99999"),
  );
});

Deno.test({
  name: "openStore() opens a RedisStore for a redis:// url",
  ignore: REDIS_SKIP !== undefined,
  async fn() {
    const server = await RedisServer.start({ password: "pw-in-url" });
    try {
      const store = await openStore({ url: server.url, path: "" }, "./unused");
      try {
        assert.ok(store instanceof RedisStore);
        assert.equal(
          store.health().location,
          `redis://:***@127.0.0.1:${server.port}`,
        );
        assert.equal(await store.ensureSecret("s", () => "v"), "v");
      } finally {
        await store.close();
      }
    } finally {
      await server.stop();
    }
  },
});
