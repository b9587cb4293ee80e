/**
 * A second OS process for the cross-process spend tests (`kv/store_test.ts`,
 * `redis/spend_test.ts`): opens the store a `store.url` names, waits for a shared start instant,
 * races for the last use of one token, then spends another until refused.
 *
 * Usage: `deno run -A spend_worker.ts STORE_URL START_MS LAST_TOKEN MANY_TOKEN`
 * (STORE_URL: `kv:/path/m.kv` or `redis://127.0.0.1:PORT`).
 * Prints `{"last":boolean,"wins":number}`.
 *
 * @module
 */

import { openStore } from "../../store/mod.ts";

const [url, startAt, lastToken, manyToken] = Deno.args;
if (!url || !startAt || !lastToken || !manyToken) {
  console.error(
    "usage: spend_worker.ts STORE_URL START_MS LAST_TOKEN MANY_TOKEN",
  );
  Deno.exit(2);
}
const store = await openStore({ url, path: "" }, ".");
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
