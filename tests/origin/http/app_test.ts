import assert from "node:assert/strict";
import { Hono } from "hono";
import { encodeFlvHeader } from "../../../codec/flv/header.ts";
import { encodeFlvTag } from "../../../codec/flv/tag.ts";
import { readFlvFile } from "../../../codec/flv/reader.ts";
import { MetricsRegistry } from "../../../metrics/mod.ts";
import {
  createOriginHttpApp,
  type HlsSource,
  type OriginHttpDeps,
} from "../../../origin/http/app.ts";
import { silentLogger } from "../../../origin/log.ts";
import { StreamRegistry } from "../../../origin/stream/registry.ts";

function setup(hls?: HlsSource, routes: Partial<OriginHttpDeps> = {}) {
  const registry = new StreamRegistry({
    gopCache: true,
    maxGopCacheBytes: 1 << 20,
    flushIntervalMs: 0,
    encoders: {
      flv: { header: encodeFlvHeader, tag: encodeFlvTag },
      rtmp: { tag: encodeFlvTag },
    },
    log: silentLogger,
  });
  const app = createOriginHttpApp({
    maxViewerQueueBytes: 1 << 20,
    playlistMaxAgeSeconds: 1,
  }, {
    registry,
    hls,
    metrics: new MetricsRegistry(),
    log: silentLogger,
    ...routes,
    assets: {
      page: () => "<html>player</html>",
      script: (
        f,
      ) => (f === "hls.min.js" ? new Uint8Array([0x2f, 0x2f]) : undefined),
    },
  });
  return { registry, app };
}

Deno.test("origin HTTP: /{app}/{stream}.flv streams header, config tags and GOP, then ends with the stream", async () => {
  const { registry, app } = setup();
  const hub = registry.startPublish("live", "t", {
    peer: "p",
    protocol: "test",
  });
  hub.pushTag({
    type: 9,
    timestampMs: 0,
    data: new Uint8Array([0x17, 0, 0, 0, 0, 1, 2]),
  });
  hub.pushTag({
    type: 9,
    timestampMs: 40,
    data: new Uint8Array([0x17, 1, 0, 0, 0, 9, 9]),
  });
  const res = await app.request("http://localhost/live/t.flv");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "video/x-flv");
  hub.pushTag({
    type: 9,
    timestampMs: 80,
    data: new Uint8Array([0x27, 1, 0, 0, 0, 8]),
  });
  hub.end();
  const body = new Uint8Array(await res.arrayBuffer());
  const file = readFlvFile(body);
  assert.equal(file.header.hasVideo, true);
  assert.deepEqual(
    file.tags.map((t) => t.timestampMs),
    [40, 40, 80],
    "sequence header stamped with the keyframe's time",
  );
  assert.equal(hub.viewerCount, 0);
});

Deno.test("origin HTTP: unknown streams are 404, bad names 400, traversal never reaches a file", async () => {
  const { app } = setup({
    playlist: () => undefined,
    pending: () => false,
    waitForPlaylist: () => Promise.resolve({ kind: "gone" }),
    segment: () => undefined,
  });
  assert.equal(
    (await app.request("http://localhost/live/none.flv")).status,
    404,
  );
  assert.equal(
    (await app.request("http://localhost/live/none.m3u8")).status,
    404,
  );
  assert.equal(
    (await app.request("http://localhost/live/none/1.ts")).status,
    404,
  );
  assert.equal(
    (await app.request("http://localhost/live/..%2F..%2Fetc.flv")).status,
    400,
  );
  assert.equal(
    (await app.request("http://localhost/live/a%00b.flv")).status,
    400,
  );
  assert.equal(
    (await app.request("http://localhost/live/t/..%2Fx.ts")).status,
    404,
  );
});

Deno.test("origin HTTP: HLS playlist and segments carry their Cache-Control", async () => {
  const { app } = setup({
    playlist: (a, s) => (a === "live" && s === "t" ? "#EXTM3U\n" : undefined),
    pending: () => false,
    waitForPlaylist: () => Promise.resolve({ kind: "gone" }),
    segment: (_a, _s, n) => (n === "abc-1" ? new Uint8Array(188) : undefined),
  });
  const pl = await app.request("http://localhost/live/t.m3u8");
  assert.equal(pl.status, 200);
  assert.equal(pl.headers.get("content-type"), "application/vnd.apple.mpegurl");
  assert.equal(pl.headers.get("cache-control"), "public, max-age=1");
  assert.equal(await pl.text(), "#EXTM3U\n");
  const seg = await app.request("http://localhost/live/t/abc-1.ts");
  assert.equal(seg.status, 200);
  assert.match(seg.headers.get("cache-control")!, /max-age=86400/);
  assert.equal((await seg.arrayBuffer()).byteLength, 188);
});

Deno.test("origin HTTP: /healthz, /metrics, /api/streams, player page and assets", async () => {
  const { registry, app } = setup();
  const hub = registry.startPublish("live", "t", {
    peer: "p",
    protocol: "test",
  });
  hub.pushTag({ type: 8, timestampMs: 0, data: new Uint8Array([0xaf, 1, 5]) });
  const health = await (await app.request("http://localhost/healthz")).json();
  assert.equal(health.status, "ok");
  assert.equal(health.streams, 1);
  const list = await (await app.request("http://localhost/api/streams")).json();
  assert.equal(list.streams[0].app, "live");
  assert.equal(list.streams[0].urls.flv, "/live/t.flv");
  assert.equal(list.streams[0].codecs.audio, "aac");
  await app.request("http://localhost/live/none.flv");
  const metrics = await (await app.request("http://localhost/metrics")).text();
  assert.match(
    metrics,
    /meridian_origin_http_requests_total\{kind="flv",status="404"\} 1/,
  );
  assert.match(await (await app.request("http://localhost/")).text(), /player/);
  assert.equal(
    (await app.request("http://localhost/assets/hls.min.js")).status,
    200,
  );
  assert.equal(
    (await app.request("http://localhost/assets/nope.js")).status,
    404,
  );
  hub.end();
});

Deno.test("origin HTTP: /{app}/{stream}/programs merges a channel's guide with its recorded spans; either alone answers as it is", async () => {
  const recorded = new Hono().get(
    "/:app/:stream/programs",
    (c) =>
      ["none", "tv"].includes(c.req.param("stream"))
        ? c.json({ error: "not_found" }, 404)
        : c.json(
          { app: "live", stream: c.req.param("stream"), programs: [1] },
          200,
          {
            "Cache-Control": "max-age=5",
          },
        ),
  );
  const guide = new Hono().get(
    "/:app/:stream/programs",
    (c) =>
      ["demo", "tv"].includes(c.req.param("stream"))
        ? c.json({ app: "live", stream: "demo", now: { file: "a" } })
        : c.json({ error: "not_found" }, 404),
  );
  const { app } = setup(undefined, {
    archive: {
      http: {} as NonNullable<OriginHttpDeps["archive"]>["http"],
      routes: recorded,
    },
    virtualLive: guide,
  });
  const both = await app.request("http://localhost/live/demo/programs");
  assert.equal(both.status, 200);
  assert.equal(both.headers.get("cache-control"), "max-age=5");
  assert.deepEqual(await both.json(), {
    app: "live",
    stream: "demo",
    now: { file: "a" },
    programs: [1],
  });
  const dvrOnly = await app.request("http://localhost/live/cam/programs");
  assert.equal(dvrOnly.status, 200);
  assert.deepEqual((await dvrOnly.json()).programs, [1]);
  const guideOnly = await app.request("http://localhost/live/tv/programs");
  assert.equal(guideOnly.status, 200);
  assert.deepEqual((await guideOnly.json()).now, { file: "a" });
  const neither = await app.request("http://localhost/live/none/programs");
  assert.equal(neither.status, 404);
  assert.equal((await neither.json()).error, "not_found");
});
