import assert from "node:assert/strict";
import { type FeedEntry, KvStore } from "../../../store/mod.ts";
import { waitFor } from "../../_helpers/peers.ts";
import { withStore } from "../_temp_store.ts";

Deno.test("KvStore.requestPollInterval() speeds up cross-store delivery until released", async () => {
  await withStore(async (a, kvPath) => {
    // `watch: false`: only polling carries events, as between processes on one file.
    const b = await KvStore.open(kvPath, {
      pollIntervalMs: 3000,
      watch: false,
    });
    try {
      const seen: FeedEntry[] = [];
      b.subscribe((e) => seen.push(e));
      const release = b.requestPollInterval(20);
      const ev = { kind: "edge.registered", edgeId: "x" } as const;
      await a.publish(ev);
      await waitFor("fast poll", () => seen.length === 1, 1000);
      release();
      // The loop may finish one fast sleep; after that it is back to 3 s.
      await new Promise((r) => setTimeout(r, 100));
      await a.publish(ev);
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(seen.length, 1, "released: back to the slow poll");
    } finally {
      await b.close();
    }
  });
});
