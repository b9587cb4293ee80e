import assert from "node:assert/strict";
import { MemoryStore } from "../../../edge/cache/memory_store.ts";
import { makeObject, runCacheStoreContract } from "./store_contract.ts";

runCacheStoreContract(
  "MemoryStore",
  (maxBytes) =>
    Promise.resolve(
      new MemoryStore({ maxBytes, maxObjectBytes: maxBytes / 4 }),
    ),
);

Deno.test("MemoryStore() rejects a non-positive byte cap", () => {
  assert.throws(() => new MemoryStore({ maxBytes: 0 }), RangeError);
});

Deno.test("MemoryStore.getSync() hits without awaiting and refreshes recency", () => {
  const s = new MemoryStore({ maxBytes: 3 * 1200, maxObjectBytes: 2000 });
  s.putSync("/a", makeObject(800));
  s.putSync("/b", makeObject(800));
  assert.ok(s.getSync("/a"));
  s.putSync("/c", makeObject(800));
  s.putSync("/d", makeObject(800));
  assert.ok(s.getSync("/a"), "touched entry kept");
  assert.equal(s.getSync("/b"), undefined, "oldest untouched entry evicted");
});

Deno.test("MemoryStore eviction stays O(1): 200k puts into a small cap finish quickly", () => {
  const s = new MemoryStore({ maxBytes: 1 << 20, maxObjectBytes: 1 << 16 });
  const o = makeObject(1000);
  for (let i = 0; i < 200_000; i++) s.putSync(`/seg/${i}.ts`, o);
  assert.ok(s.stats().bytes <= 1 << 20);
  assert.ok(s.stats().evictions > 190_000);
});
