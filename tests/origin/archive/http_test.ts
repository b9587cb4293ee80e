import assert from "node:assert/strict";
import { parseMediaPlaylist } from "../../../codec/hls/mod.ts";
import { MetricsRegistry } from "../../../metrics/mod.ts";
import { ArchiveHttp, DvrStore } from "../../../origin/archive/mod.ts";
import { ProgrammeSchedule } from "../../../origin/archive/schedule.ts";
import { createOriginHttpApp } from "../../../origin/http/app.ts";
import { silentLogger } from "../../../origin/log.ts";
import { StreamRegistry } from "../../../origin/stream/registry.ts";
import { fakeHub, manualClock, policiesOf, segment } from "./_fixture.ts";

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);
const ADMIN = "archive-admin-token-0123456789";
const enc = { tag: (t: { data: Uint8Array }) => t.data };

/** An origin app over a DVR holding live/cam: session A 0..20 s (10 segments), session B from 30 s. */
async function setup(
  fn: (t: {
    app: ReturnType<typeof createOriginHttpApp>;
    clock: { ms: number };
    registry: StreamRegistry;
    dvr: DvrStore;
  }) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "meridian-ts-http-" });
  const clock = manualClock(T0 + 60_000);
  const policies = policiesOf({
    defaultApp: { dvr: { enabled: true, windowSeconds: 120 } },
    apps: [{ name: "nodvr" }],
  });
  const dvr = await DvrStore.open({
    dir: `${dir}/dvr`,
    maxBytes: 1 << 30,
    policies,
    log: silentLogger,
    now: clock.now,
    sweepIntervalMs: 0,
  });
  const a = fakeHub("live", "cam", T0);
  for (let i = 0; i < 10; i++) dvr.onSegment(a, segment("p", i, T0 + i * 2000));
  dvr.onPublishEnd(a);
  const b = fakeHub("live", "cam", T0 + 30_000);
  for (let i = 10; i < 15; i++) {
    dvr.onSegment(
      b,
      segment("q", i, T0 + 30_000 + (i - 10) * 2000, {
        discontinuity: i === 10,
      }),
    );
  }
  dvr.onPublishEnd(b);
  await dvr.flush();
  const registry = new StreamRegistry({
    gopCache: true,
    maxGopCacheBytes: 1 << 20,
    flushIntervalMs: 0,
    encoders: { flv: enc, rtmp: enc },
    log: silentLogger,
  });
  const schedule = await ProgrammeSchedule.open(`${dir}/programs`, [
    {
      app: "live",
      stream: "cam",
      title: "Noon news",
      start: "12:00",
      end: "12:01",
    },
  ], silentLogger);
  const http = new ArchiveHttp(
    { openMaxAgeSeconds: 1, timeZone: "UTC", adminToken: ADMIN },
    { dvr, registry, schedule, log: silentLogger, now: clock.now },
  );
  const app = createOriginHttpApp({
    maxViewerQueueBytes: 1 << 20,
    playlistMaxAgeSeconds: 1,
  }, {
    registry,
    hls: undefined,
    metrics: new MetricsRegistry(),
    log: silentLogger,
    assets: { page: () => "", script: () => undefined },
    archive: { http, routes: http.routes() },
  });
  try {
    await fn({ app, clock, registry, dvr });
  } finally {
    await dvr.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const unix = (ms: number) => String(ms / 1000);

Deno.test("time-shift HTTP: a closed range is a VOD playlist with ENDLIST, PDT on every segment, immutable", async () => {
  await setup(async ({ app }) => {
    const res = await app.request(
      `http://o/live/cam.m3u8?start=${unix(T0 + 3000)}&end=${unix(T0 + 9000)}`,
    );
    assert.equal(res.status, 200);
    assert.match(
      res.headers.get("cache-control")!,
      /^public, max-age=\d+, immutable$/,
    );
    const text = await res.text();
    const p = parseMediaPlaylist(text);
    assert.equal(p.playlistType, "VOD");
    assert.equal(p.ended, true);
    // 3..9 s overlaps the segments at 2, 4, 6 and 8 s.
    assert.deepEqual(p.segments.map((s) => s.uri), [
      "cam/p-1.ts",
      "cam/p-2.ts",
      "cam/p-3.ts",
      "cam/p-4.ts",
    ]);
    assert.deepEqual(
      p.segments.map((s) => s.programDateTimeMs),
      [2000, 4000, 6000, 8000].map((d) => T0 + d),
    );
    assert.ok(p.segments.every((s) => !s.discontinuity));
    // ISO 8601 names the same range.
    const iso = await app.request(
      `http://o/live/cam.m3u8?start=2024-05-01T12:00:03Z&end=2024-05-01T20:00:09%2B08:00`,
    );
    assert.equal(await iso.text(), text);
  });
});

Deno.test("time-shift HTTP: a range across publish sessions has a DISCONTINUITY at the join; an open range on a live stream is an EVENT playlist", async () => {
  await setup(async ({ app, registry }) => {
    const res = await app.request(
      `http://o/live/cam.m3u8?start=${unix(T0 + 16_000)}&end=${
        unix(T0 + 34_000)
      }`,
    );
    const p = parseMediaPlaylist(await res.text());
    assert.deepEqual(p.segments.map((s) => [s.uri, s.discontinuity]), [
      ["cam/p-8.ts", false],
      ["cam/p-9.ts", false],
      ["cam/q-10.ts", true],
      ["cam/q-11.ts", false],
    ]);
    // Not live: an open range is over (ENDLIST), as an EVENT.
    const ended = parseMediaPlaylist(
      await (await app.request(
        `http://o/live/cam.m3u8?start=${unix(T0 + 36_000)}`,
      )).text(),
    );
    assert.deepEqual([ended.playlistType, ended.ended], ["EVENT", true]);
    registry.startPublish("live", "cam", { peer: "t", protocol: "rtmp" });
    const open = await app.request(
      `http://o/live/cam.m3u8?start=${unix(T0 + 36_000)}`,
    );
    assert.equal(open.headers.get("cache-control"), "public, max-age=1");
    const o = parseMediaPlaylist(await open.text());
    assert.deepEqual([o.playlistType, o.ended], ["EVENT", false]);
    assert.deepEqual(o.segments.map((s) => s.uri), [
      "cam/q-13.ts",
      "cam/q-14.ts",
    ]);
    // An end past what is recorded stays open while live.
    const future = parseMediaPlaylist(
      await (await app.request(
        `http://o/live/cam.m3u8?start=${unix(T0 + 36_000)}&end=${
          unix(T0 + 70_000)
        }`,
      )).text(),
    );
    assert.deepEqual([future.playlistType, future.ended], ["EVENT", false]);
  });
});

Deno.test("time-shift HTTP: offset=-S redirects to the absolute start, keeping the other parameters", async () => {
  await setup(async ({ app }) => {
    const res = await app.request(
      "http://o/live/cam.m3u8?offset=-30&token=abc",
    );
    assert.equal(res.status, 302);
    const loc = new URL(res.headers.get("location")!, "http://o");
    assert.equal(loc.pathname, "/live/cam.m3u8");
    assert.equal(loc.searchParams.get("start"), unix(T0 + 30_000));
    assert.equal(loc.searchParams.get("token"), "abc");
    assert.equal(loc.searchParams.has("offset"), false);
    assert.equal(res.headers.get("cache-control"), "no-store");
  });
});

Deno.test("time-shift HTTP: outside the window is 416 naming the available range; an unknown stream 404; bad input 400", async () => {
  await setup(async ({ app }) => {
    const available = {
      start: "2024-05-01T12:00:00.000Z",
      end: "2024-05-01T12:00:40.000Z",
      startUnix: T0 / 1000,
      endUnix: T0 / 1000 + 40,
    };
    for (
      const q of [
        `start=${unix(T0 - 200_000)}`, // before the 120 s window
        `start=${unix(T0 + 500_000)}`, // in the future
        `start=${unix(T0 - 50_000)}&end=${unix(T0 + 100_000)}`, // longer than the window
        `start=${unix(T0 + 21_000)}&end=${unix(T0 + 29_000)}`, // the gap between sessions
      ]
    ) {
      const res = await app.request(`http://o/live/cam.m3u8?${q}`);
      assert.equal(res.status, 416, q);
      assert.equal(
        res.headers.get("content-type"),
        "application/json; charset=utf-8",
      );
      const body = await res.json();
      assert.equal(body.code, "ARCHIVE_OUT_OF_WINDOW");
      assert.deepEqual(body.available, available, q);
    }
    const unknown = await app.request(
      `http://o/live/nobody.m3u8?start=${unix(T0)}`,
    );
    assert.equal(unknown.status, 404);
    assert.equal((await unknown.json()).code, "ARCHIVE_NOT_FOUND");
    const off = await app.request(`http://o/nodvr/cam.m3u8?start=${unix(T0)}`);
    assert.equal(off.status, 404);
    assert.match((await off.json()).error, /time-shift is off/);
    for (
      const [q, field] of [
        [`start=${unix(T0 + 10_000)}&end=${unix(T0 + 5000)}`, "end"],
        [`start=-5`, "start"],
        [`start=yesterday`, "start"],
        [`start=2024-02-30T00:00:00Z`, "start"],
        [`start=99999999999999`, "start"],
        [`offset=30`, "offset"],
        [`offset=-30&start=1`, "offset"],
        [`end=${unix(T0)}`, "start"],
      ]
    ) {
      const res = await app.request(`http://o/live/cam.m3u8?${q}`);
      assert.equal(res.status, 400, q);
      const body = await res.json();
      assert.equal(body.field, field, q);
      assert.match(body.error, /^Invalid '/);
    }
  });
});

Deno.test("time-shift HTTP: kept segments are served from the DVR under their live names", async () => {
  await setup(async ({ app }) => {
    const res = await app.request("http://o/live/cam/p-3.ts");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "video/mp2t");
    assert.equal(
      res.headers.get("cache-control"),
      "public, max-age=86400, immutable",
    );
    const bytes = new Uint8Array(await res.arrayBuffer());
    assert.equal(bytes.byteLength, 1880);
    assert.equal(bytes[0], 3);
    assert.equal((await app.request("http://o/live/cam/p-99.ts")).status, 404);
    assert.equal((await app.request("http://o/live/other/p-3.ts")).status, 404);
  });
});

Deno.test("programme list: sessions, hours and named programmes with their time-shift URLs; the admin API sets programmes with the bearer token", async () => {
  await setup(async ({ app }) => {
    const res = await app.request("http://o/live/cam/programs");
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.window.seconds, 120);
    const kinds = body.programs.map((p: { kind: string }) => p.kind);
    assert.deepEqual(kinds, [
      "session",
      "hour",
      "programme",
      "session",
      "hour",
    ]);
    const news = body.programs[2];
    assert.equal(news.title, "Noon news");
    // 12:00-12:01 holds both sessions: its URL covers what is recorded of it, gap and all.
    assert.equal(
      news.urls.hls,
      `/live/cam.m3u8?start=${T0 / 1000}&end=${T0 / 1000 + 40}`,
    );
    assert.equal(body.programs[0].urls.flv, `/live/cam.flv?start=${T0 / 1000}`);
    // Each URL answers with a playlist of its span.
    const p = parseMediaPlaylist(
      await (await app.request(`http://o${news.urls.hls}`)).text(),
    );
    assert.equal(p.segments.length, 15);
    assert.equal(p.segments.filter((s) => s.discontinuity).length, 1);

    const put = (auth: string | undefined, body: unknown) =>
      app.request("http://o/admin/programs/live/cam", {
        method: "PUT",
        headers: {
          ...(auth ? { Authorization: `Bearer ${auth}` } : {}),
          "Content-Type": "application/json",
        },
        body: JSON.stringify(body),
      });
    const list = {
      programs: [{
        title: "Replay",
        start: "2024-05-01T12:00:30Z",
        end: "2024-05-01T12:00:36Z",
      }],
    };
    assert.equal((await put(undefined, list)).status, 401);
    assert.equal((await put("wrong-token-0123456789", list)).status, 401);
    const bad = await put(ADMIN, {
      programs: [{ title: "x", start: "12:00", end: "2024-05-01T12:00:36Z" }],
    });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).field, "programs[0].end");
    assert.equal((await put(ADMIN, list)).status, 200);
    const again = await (await app.request("http://o/live/cam/programs"))
      .json();
    const replay = again.programs.find((p: { title: string }) =>
      p.title === "Replay"
    );
    assert.equal(
      replay.urls.hls,
      `/live/cam.m3u8?start=${T0 / 1000 + 30}&end=${T0 / 1000 + 36}`,
    );
    const unknown = await app.request("http://o/live/nobody/programs");
    assert.equal(unknown.status, 404);
  });
});
