import assert from "node:assert/strict";
import { ShardedMap, SlotCache, slotHash } from "../../geo/mod.ts";

Deno.test("SlotCache keeps the most recent of the keys that share a set", () => {
  const c = new SlotCache<number, string>(2); // one set of two ways
  c.set(1, "a");
  c.set(2, "b");
  assert.equal(c.get(1), "a"); // 1 now most recent
  c.set(3, "c"); // evicts 2
  assert.equal(c.get(2), undefined);
  assert.equal(c.get(1), "a");
  assert.equal(c.get(3), "c");
  assert.equal(c.size, 2);
  c.set(3, "C"); // replace in place
  assert.equal(c.get(3), "C");
  assert.equal(c.size, 2);
  c.clear();
  assert.equal(c.get(1), undefined);
  assert.equal(c.size, 0);
});

Deno.test("SlotCache holds at least the asked entries and tells keys apart past 2^32", () => {
  const c = new SlotCache<number, number>(1000);
  assert.ok(c.capacity >= 1000);
  const k1 = 24 * 4294967296 + 0x51024500;
  const k2 = 16 * 4294967296 + 0x51024500;
  c.set(k1, 1);
  c.set(k2, 2);
  assert.equal(c.get(k1), 1);
  assert.equal(c.get(k2), 2);
  assert.notEqual(slotHash(k1), slotHash(k2));
  const s = new SlotCache<string, number>(8);
  s.set("live.meridian.test|A", 1);
  assert.equal(s.get("live.meridian.test|A"), 1);
  assert.equal(s.get("live.meridian.test|AAAA"), undefined);
});

Deno.test("ShardedMap keeps every key up to its bound and clears one shard at a time", () => {
  const m = new ShardedMap<number, number>(6400);
  for (let i = 0; i < 4000; i++) m.set(i, i * 2);
  assert.equal(m.size, 4000);
  for (let i = 0; i < 4000; i++) assert.equal(m.get(i), i * 2);
  // Past the bound, a full shard is cleared alone: most keys stay.
  for (let i = 4000; i < 20000; i++) {
    const before = m.size;
    m.set(i, i);
    assert.ok(
      m.size >= before - 100,
      `one shard at most: ${before} → ${m.size}`,
    );
  }
  assert.ok(m.size <= 6400, `bounded: ${m.size}`);
  m.clear();
  assert.equal(m.size, 0);
});
