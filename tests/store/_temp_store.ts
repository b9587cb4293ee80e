/**
 * A throw-away KV file for store and control tests, removed afterwards.
 *
 * @module
 */

import { KvStore, type KvStoreOptions } from "../../store/mod.ts";

/** Runs `fn` with a temporary directory holding `m.kv`, then removes it. */
export async function withTempDir<T>(
  fn: (dir: string, kvPath: string) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "meridian_store_" });
  try {
    return await fn(dir, `${dir}/m.kv`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs `fn` with an open store on a temporary file; closes and removes it afterwards. */
export function withStore<T>(
  fn: (store: KvStore, kvPath: string) => Promise<T>,
  options: KvStoreOptions = {},
): Promise<T> {
  return withTempDir(async (_dir, kvPath) => {
    const store = await KvStore.open(kvPath, options);
    try {
      return await fn(store, kvPath);
    } finally {
      await store.close();
    }
  });
}
