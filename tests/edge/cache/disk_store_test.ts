import assert from "node:assert/strict";
import { DiskStore } from "../../../edge/cache/disk_store.ts";
import { MemoryStore } from "../../../edge/cache/memory_store.ts";
import { TieredStore } from "../../../edge/cache/tiered_store.ts";
import { makeObject, runCacheStoreContract } from "./store_contract.ts";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await Deno.makeTempDir({ prefix: "meridian_disk_store_" });
  dirs.push(d);
  return d;
}

runCacheStoreContract(
  "DiskStore",
  async (maxBytes) =>
    DiskStore.open({
      dir: await tempDir(),
      maxBytes,
      maxObjectBytes: maxBytes / 4,
    }),
);

runCacheStoreContract(
  "TieredStore(memory+disk)",
  async (maxBytes) =>
    new TieredStore(
      new MemoryStore({ maxBytes, maxObjectBytes: maxBytes / 4 }),
      await DiskStore.open({
        dir: await tempDir(),
        maxBytes,
        maxObjectBytes: maxBytes / 4,
      }),
    ),
);

runCacheStoreContract("TieredStore(memory only)", (maxBytes) =>
  Promise.resolve(
    new TieredStore(
      new MemoryStore({ maxBytes, maxObjectBytes: maxBytes / 4 }),
      undefined,
    ),
  ));

Deno.test("DiskStore.open() empties its directory (the index is not persisted)", async () => {
  const dir = await tempDir();
  await Deno.writeFile(`${dir}/stale.obj`, new Uint8Array(10));
  const s = await DiskStore.open({ dir, maxBytes: 1 << 20 });
  const names = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  assert.deepEqual(names, []);
  await s.close();
});

Deno.test("TieredStore keeps persistent objects on disk and promotes them back to memory", async () => {
  const dir = await tempDir();
  const memory = new MemoryStore({ maxBytes: 30_000, maxObjectBytes: 20_000 });
  const s = new TieredStore(
    memory,
    await DiskStore.open({ dir, maxBytes: 1 << 20 }),
  );
  try {
    await s.put("/vod/a.mp4", makeObject(15_000, 1, { persistent: true }));
    await s.put("/live/a.m3u8", makeObject(15_000, 2, { persistent: false }));
    // The second put evicted the VOD object from memory; it is still on disk.
    assert.equal(memory.getSync("/vod/a.mp4"), undefined);
    assert.equal((await s.get("/vod/a.mp4"))?.body[0], 1);
    assert.ok(memory.getSync("/vod/a.mp4"), "promoted");
    assert.equal(
      s.tierStats().disk?.objects,
      1,
      "live objects never reach disk",
    );
  } finally {
    await s.close();
  }
});

globalThis.addEventListener("unload", () => {
  for (const d of dirs) {
    try {
      Deno.removeSync(d, { recursive: true });
    } catch {
      // already gone
    }
  }
});
