import assert from "node:assert/strict";
import { silentLogger } from "../../../log/mod.ts";
import {
  boundStreams,
  StreamAnnouncer,
} from "../../../origin/stream/announcer.ts";
import type { DirectoryStream, StreamDirectory } from "../../../store/mod.ts";
import { withStore } from "../../store/_temp_store.ts";
import { waitFor } from "../../_helpers/peers.ts";

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

Deno.test("boundStreams() sorts by app/name and counts what does not fit as omitted", () => {
  const all = [stream("c"), stream("a", "z"), stream("b")];
  const r = boundStreams(all);
  assert.deepEqual(r.streams.map((s) => `${s.app}/${s.name}`), [
    "live/b",
    "live/c",
    "z/a",
  ]);
  assert.equal(r.omitted, 0);
  const one = JSON.stringify(stream("b")).length + 1;
  const cut = boundStreams(all, one * 2);
  assert.equal(cut.streams.length, 2);
  assert.equal(cut.omitted, 1);
  // A thousand streams with long names stay under the KV value limit.
  const many = Array.from(
    { length: 1000 },
    (_, i) => stream(`stream-${i}-${"x".repeat(100)}`),
  );
  const b = boundStreams(many);
  assert.ok(b.streams.length > 0 && b.omitted > 0);
  assert.equal(b.streams.length + b.omitted, 1000);
});

Deno.test("StreamAnnouncer announces at once, after changed(), on its interval, and withdraws on close()", async () => {
  await withStore(async (store) => {
    let live = [stream("a")];
    let reads = 0;
    const announcer = new StreamAnnouncer(store.streams, () => {
      reads++;
      return live;
    }, {
      originId: "o1:8090",
      httpUrl: "http://o1:8090",
      rtmpUrl: "rtmp://o1:1935",
      intervalMs: 60_000,
    });
    try {
      const names = async () =>
        (await store.streams.list(Date.now()))[0]?.streams.map((s) => s.name);
      let got: string[] | undefined;
      await waitFor("first announcement", () => reads > 0, 2000);
      await announcer.flush();
      got = await names();
      assert.deepEqual(got, ["a"]);
      const l = (await store.streams.list(Date.now()))[0]!;
      assert.equal(l.ttlMs, 180_000);
      assert.equal(l.httpUrl, "http://o1:8090");
      // A change is announced within the coalescing window, long before the interval.
      live = [stream("a"), stream("b")];
      const before = reads;
      announcer.changed();
      announcer.changed();
      await waitFor("change announced", () => reads > before, 2000);
      await announcer.flush();
      got = await names();
      assert.deepEqual(got, ["a", "b"]);
    } finally {
      await announcer.close();
    }
    assert.deepEqual(await store.streams.list(Date.now()), []);
  });
});

Deno.test("StreamAnnouncer logs a failing directory once and never throws", async () => {
  const warnings: string[] = [];
  const log = {
    ...silentLogger,
    warn: (msg: string) => void warnings.push(msg),
  };
  let calls = 0;
  const broken: StreamDirectory = {
    announce: () => {
      calls++;
      return Promise.reject(new Error("store is closed"));
    },
    withdraw: () => Promise.reject(new Error("store is closed")),
    list: () => Promise.resolve([]),
  };
  const announcer = new StreamAnnouncer(broken, () => [], {
    originId: "o",
    httpUrl: "http://o",
    rtmpUrl: "rtmp://o",
    intervalMs: 10,
    log,
  });
  await waitFor("three attempts", () => calls >= 3, 2000);
  await announcer.close();
  assert.deepEqual(warnings, [
    "cannot announce stream listing",
    "cannot withdraw stream listing",
  ]);
});
