import assert from "node:assert/strict";
import {
  applyPurge,
  InProcessPurgeBus,
  type Purgeable,
} from "../../../edge/admin/purge.ts";

Deno.test("applyPurge() maps URLs to keys, streams to their playlist and segment prefixes", async () => {
  const calls: string[] = [];
  const target: Purgeable = {
    purgeUrl: (
      u,
    ) => (calls.push(`url ${u.pathname}${u.search}`), Promise.resolve(1)),
    purgePrefix: (p) => (calls.push(`prefix ${p}`), Promise.resolve(1)),
    purgeAll: () => (calls.push("all"), Promise.resolve(9)),
  };
  const n = await applyPurge(target, {
    urls: ["http://h/a.ts?x=1", "/b.ts"],
    prefixes: ["/vod/"],
    streams: ["live/s"],
    all: false,
  });
  assert.equal(n, 5);
  assert.deepEqual(calls, [
    "url /a.ts?x=1",
    "url /b.ts",
    "prefix /vod/",
    "prefix /live/s.",
    "prefix /live/s/",
  ]);
  assert.equal(
    await applyPurge(target, {
      urls: [],
      prefixes: [],
      streams: [],
      all: true,
    }),
    9,
  );
});

Deno.test("InProcessPurgeBus delivers to every subscriber until unsubscribed", async () => {
  const bus = new InProcessPurgeBus();
  let n = 0;
  const off = bus.subscribe(() => {
    n++;
  });
  const msg = {
    sourceId: "e",
    request: { urls: [], prefixes: [], streams: [], all: true },
  };
  await bus.publish(msg);
  off();
  await bus.publish(msg);
  assert.equal(n, 1);
});
