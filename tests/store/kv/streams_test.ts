import assert from "node:assert/strict";
import {
  type DirectoryStream,
  KvStore,
  type OriginListing,
} from "../../../store/mod.ts";
import { withStore } from "../_temp_store.ts";

const T0 = 1_700_000_000_000;

function stream(name: string, app = "live"): DirectoryStream {
  return {
    app,
    name,
    startedAt: new Date(T0).toISOString(),
    viewers: 1,
    bytesIn: 10,
    codecs: { video: "H264" },
    protocol: "rtmp",
  };
}

function listing(originId: string, patch: Partial<OriginListing> = {}) {
  return {
    originId,
    httpUrl: `http://${originId}`,
    rtmpUrl: "rtmp://h:1935",
    streams: [stream("a")],
    omitted: 0,
    updatedAtMs: Date.now(),
    ttlMs: 6000,
    ...patch,
  };
}

Deno.test("store.streams: a listing is read by a second handle, dropped when withdrawn or stale", async () => {
  await withStore(async (a, kvPath) => {
    const b = await KvStore.open(kvPath);
    try {
      const now = Date.now();
      await a.streams.announce(listing("o2:8090", { updatedAtMs: now }));
      await a.streams.announce(listing("o1:8090", { updatedAtMs: now }));
      await a.streams.announce(
        listing("o3:8090", { updatedAtMs: now - 10_000 }),
      );
      assert.deepEqual(
        (await b.streams.list(now)).map((l) => l.originId),
        ["o1:8090", "o2:8090"],
      );
      assert.deepEqual((await b.streams.list(now))[0]!.streams, [stream("a")]);
      await b.streams.withdraw("o1:8090");
      assert.deepEqual(
        (await a.streams.list(now)).map((l) => l.originId),
        ["o2:8090"],
      );
      // Past its ttl a listing is gone, whether or not KV has expired the key yet.
      assert.deepEqual(await a.streams.list(now + 6001), []);
    } finally {
      await b.close();
    }
  });
});
