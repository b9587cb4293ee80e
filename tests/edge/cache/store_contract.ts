/**
 * The contract every `CacheStore` meets (STYLE.md B8). Each store's test module calls
 * {@link runCacheStoreContract}, then tests its own specifics.
 */
import assert from "node:assert/strict";
import type { CachedObject, CacheStore } from "../../../edge/cache/store.ts";

/** A test object of `size` body bytes filled with `fill`. */
export function makeObject(
  size: number,
  fill = 1,
  extra: Partial<CachedObject> = {},
): CachedObject {
  return {
    status: 200,
    headers: [["content-type", "video/mp2t"], ["etag", `"v${fill}"`]],
    body: new Uint8Array(size).fill(fill),
    storedAtMs: 1_000,
    initialAgeMs: 0,
    lifetimeMs: 60_000,
    staleWhileRevalidateMs: 0,
    staleIfErrorMs: 0,
    mustRevalidate: false,
    etag: `"v${fill}"`,
    lastModified: undefined,
    persistent: true,
    ...extra,
  };
}

/**
 * Registers the contract tests for one store.
 *
 * @param name Store name used in test names.
 * @param factory Creates an empty store with a budget of about `maxBytes` bytes whose single
 * objects may be up to a quarter of it.
 */
export function runCacheStoreContract(
  name: string,
  factory: (maxBytes: number) => Promise<CacheStore>,
): void {
  const withStore = async (
    maxBytes: number,
    fn: (s: CacheStore) => Promise<void>,
  ) => {
    const s = await factory(maxBytes);
    try {
      await fn(s);
    } finally {
      await s.close();
    }
  };

  Deno.test(`${name}: get() of a missing key is undefined`, () =>
    withStore(1 << 20, async (s) => {
      assert.equal(await s.get("/nope"), undefined);
    }));

  Deno.test(`${name}: put() then get() round-trips status, headers, body and metadata`, () =>
    withStore(1 << 20, async (s) => {
      const o = makeObject(1000, 7, { lifetimeMs: 1234, initialAgeMs: 5 });
      assert.equal(await s.put("/a", o), true);
      const got = await s.get("/a");
      assert.ok(got);
      assert.equal(got.status, 200);
      assert.deepEqual(got.headers, o.headers);
      assert.deepEqual(got.body, o.body);
      assert.equal(got.lifetimeMs, 1234);
      assert.equal(got.initialAgeMs, 5);
      assert.equal(got.etag, '"v7"');
    }));

  Deno.test(`${name}: put() replaces and keeps byte accounting exact`, () =>
    withStore(1 << 20, async (s) => {
      await s.put("/a", makeObject(1000, 1));
      const before = s.stats().bytes;
      await s.put("/a", makeObject(1000, 2));
      assert.equal(s.stats().bytes, before);
      assert.equal(s.stats().objects, 1);
      assert.equal((await s.get("/a"))?.body[0], 2);
    }));

  Deno.test(`${name}: delete(), deletePrefix() and clear() remove what they say`, () =>
    withStore(1 << 20, async (s) => {
      for (
        const k of ["/live/a.m3u8", "/live/a/1.ts", "/live/b/1.ts", "/vod/x"]
      ) {
        await s.put(k, makeObject(100));
      }
      assert.equal(await s.delete("/vod/x"), true);
      assert.equal(await s.delete("/vod/x"), false);
      assert.equal(await s.deletePrefix("/live/a"), 2);
      assert.equal(await s.get("/live/a/1.ts"), undefined);
      assert.ok(await s.get("/live/b/1.ts"));
      assert.equal(await s.clear(), 1);
      assert.equal(s.stats().objects, 0);
      assert.equal(s.stats().bytes, 0);
    }));

  Deno.test(`${name}: an object over the per-object limit is not admitted`, () =>
    withStore(64 * 1024, async (s) => {
      assert.equal(await s.put("/big", makeObject(64 * 1024)), false);
      assert.equal(await s.get("/big"), undefined);
      assert.equal(s.stats().bytes, 0);
    }));

  Deno.test(`${name}: stays within its byte cap and evicts the least recently used`, () =>
    withStore(64 * 1024, async (s) => {
      for (let i = 0; i < 8; i++) await s.put(`/o${i}`, makeObject(10_000, i));
      // Touch o5 so it is more recent than o6 and o7.
      assert.ok(await s.get("/o5"));
      for (let i = 8; i < 10; i++) await s.put(`/o${i}`, makeObject(10_000, i));
      const st = s.stats();
      assert.ok(st.bytes <= st.maxBytes, `${st.bytes} > ${st.maxBytes}`);
      assert.ok(st.evictions > 0);
      assert.equal(await s.get("/o0"), undefined);
      assert.ok(await s.get("/o5"), "recently used survives");
      assert.ok(await s.get("/o9"), "newest survives");
    }));
}
