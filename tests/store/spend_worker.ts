/**
 * A second OS process for `kv/store_test.ts`: opens the same KV file, waits for a shared start
 * instant, races for the last use of one token, then spends another until refused.
 *
 * Usage: `deno run --unstable-kv --allow-read --allow-write spend_worker.ts KV START_MS LAST MANY`
 * Prints `{"last":boolean,"wins":number}`.
 *
 * @module
 */

import { KvStore } from "../../store/mod.ts";

const [kvPath, startAt, lastToken, manyToken] = Deno.args;
if (!kvPath || !startAt || !lastToken || !manyToken) {
  console.error("usage: spend_worker.ts KV START_MS LAST_TOKEN MANY_TOKEN");
  Deno.exit(2);
}
const store = await KvStore.open(kvPath, { watch: false });
try {
  await new Promise((r) =>
    setTimeout(r, Math.max(0, Number(startAt) - Date.now()))
  );
  const last = await store.spendTokenUse(lastToken, Date.now());
  let wins = 0;
  while ((await store.spendTokenUse(manyToken, Date.now())).ok) wins++;
  console.log(JSON.stringify({ last: last.ok, wins }));
} finally {
  await store.close();
}
