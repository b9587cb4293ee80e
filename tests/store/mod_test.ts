import assert from "node:assert/strict";
import {
  isRemoteStorePath,
  openStore,
  resolveStorePath,
} from "../../store/mod.ts";
import { withTempDir } from "./_temp_store.ts";

Deno.test("resolveStorePath() defaults to meridian.kv in the data directory", () => {
  assert.equal(resolveStorePath({ path: "" }, "./data"), "./data/meridian.kv");
  assert.equal(resolveStorePath({ path: "/srv/m.kv" }, "./data"), "/srv/m.kv");
});

Deno.test("isRemoteStorePath() tells KV Connect URLs from files", () => {
  assert.equal(isRemoteStorePath("https://api.example/kv/1"), true);
  assert.equal(isRemoteStorePath("HTTP://10.0.0.1:4512"), true);
  assert.equal(isRemoteStorePath("./data/meridian.kv"), false);
});

Deno.test("openStore() creates the data directory and the KV file", async () => {
  await withTempDir(async (dir) => {
    const dataDir = `${dir}/nested/data`;
    const store = await openStore({ path: "" }, dataDir);
    await store.close();
    assert.ok((await Deno.stat(`${dataDir}/meridian.kv`)).isFile);
  });
});
