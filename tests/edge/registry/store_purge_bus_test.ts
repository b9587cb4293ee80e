import assert from "node:assert/strict";
import type { PurgeMessage } from "../../../edge/admin/purge.ts";
import {
  CONTROL_SOURCE_ID,
  StorePurgeBus,
} from "../../../edge/registry/store_purge_bus.ts";
import { KvStore } from "../../../store/mod.ts";
import { withStore } from "../../store/_temp_store.ts";
import { waitFor } from "../../_helpers/peers.ts";

const REQUEST = {
  urls: ["/a.ts"],
  prefixes: ["/vod/"],
  streams: [],
  all: false,
};

Deno.test("StorePurgeBus carries purges between stores on one file, control purges included", async () => {
  await withStore(async (a, kvPath) => {
    // A slow default poll and no watch: only the bus's poll request can make this quick.
    const b = await KvStore.open(kvPath, {
      pollIntervalMs: 5000,
      watch: false,
    });
    const busA = new StorePurgeBus(a, { pollIntervalMs: 20 });
    const busB = new StorePurgeBus(b, { pollIntervalMs: 20 });
    try {
      const got: PurgeMessage[] = [];
      busB.subscribe((m) => {
        got.push(m);
      });
      const before = Date.now();
      await busA.publish({ request: REQUEST, sourceId: "edge@a" });
      await waitFor("purge on B", () => got.length === 1, 1000);
      // Stamped when published, so the receiver can show the purge lag.
      const { publishedAtMs, ...rest } = got[0]!;
      assert.deepEqual(rest, { request: REQUEST, sourceId: "edge@a" });
      assert.ok(
        publishedAtMs !== undefined && publishedAtMs >= before &&
          publishedAtMs <= Date.now(),
      );

      // The control role publishes the bare feed event, without a source.
      await a.publish({
        kind: "purge",
        urls: [],
        prefixes: [],
        streams: ["live/demo"],
        all: false,
      });
      await waitFor("control purge on B", () => got.length === 2, 1000);
      assert.equal(got[1]!.sourceId, CONTROL_SOURCE_ID);
      assert.deepEqual(got[1]!.request.streams, ["live/demo"]);

      // Other feed events are not purges.
      await a.publish({ kind: "edge.registered", edgeId: "x" });
      await busA.publish({ request: REQUEST, sourceId: "edge@a" });
      await waitFor("third purge", () => got.length === 3, 1000);

      // After close, nothing more arrives.
      busB.close();
      await busA.publish({ request: REQUEST, sourceId: "edge@a" });
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(got.length, 3);
    } finally {
      busA.close();
      busB.close();
      await b.close();
    }
  });
});

Deno.test("StorePurgeBus reports a failing handler and keeps delivering", async () => {
  await withStore(async (store) => {
    const errors: string[] = [];
    const log = {
      debug() {},
      info() {},
      warn() {},
      error: (msg: string) => void errors.push(msg),
      child() {
        return log;
      },
    };
    const bus = new StorePurgeBus(store, { pollIntervalMs: 20, log });
    let calls = 0;
    bus.subscribe(() => {
      calls++;
      throw new Error("boom");
    });
    try {
      await bus.publish({ request: REQUEST, sourceId: "e" });
      await bus.publish({ request: REQUEST, sourceId: "e" });
      await waitFor(
        "both delivered",
        () => calls === 2 && errors.length === 2,
        1000,
      );
    } finally {
      bus.close();
    }
  });
});
