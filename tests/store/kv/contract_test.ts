/**
 * The shared-store contract suite against Deno KV: two stores on one KV file stand for two
 * nodes. The observer never uses `kv.watch`, so only the polled feed carries events, as between
 * processes.
 *
 * @module
 */

import { KvStore } from "../../../store/mod.ts";
import { runSharedStoreContract } from "../contract.ts";

runSharedStoreContract("KvStore", {
  async setup() {
    const dir = await Deno.makeTempDir({ prefix: "meridian_store_" });
    const path = `${dir}/m.kv`;
    return {
      open: () => KvStore.open(path, { pollIntervalMs: 20, watch: false }),
      cleanup: () => Deno.remove(dir, { recursive: true }),
    };
  },
});
