/**
 * A real shared store (temporary KV file) and the session key it keeps, for edge access tests.
 *
 * @module
 */

import { loadSessionKey, type SessionKey } from "../../../access/mod.ts";
import { KvStore } from "../../../store/mod.ts";

/** Runs `fn` with a store on a fresh KV file; closes and removes it afterwards. */
export async function withKeyStore(
  fn: (store: KvStore, key: SessionKey) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "meridian_edge_access_" });
  const store = await KvStore.open(`${dir}/m.kv`, { pollIntervalMs: 50 });
  try {
    await fn(store, await loadSessionKey({ sessionSecret: "" }, store));
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Stores a token for `app` (null: every app) with `maxUses` (0: unlimited). */
export async function mint(
  store: KvStore,
  token: string,
  app: string | null,
  maxUses: number,
  nowMs: number,
): Promise<string> {
  await store.createToken({
    token,
    app,
    createdAtMs: nowMs,
    expiresAtMs: nowMs + 3_600_000,
    maxUses,
  });
  return token;
}
