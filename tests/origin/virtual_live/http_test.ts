/**
 * The programme guide and the channel admin API, in process on the origin's Hono app (so the
 * routes are checked as mounted: before the segment route that would take `…/programs`).
 */
import assert from "node:assert/strict";
import { MetricsRegistry } from "../../../metrics/mod.ts";
import { createOriginHttpApp } from "../../../origin/http/app.ts";
import { silentLogger } from "../../../origin/log.ts";
import { StreamRegistry } from "../../../origin/stream/registry.ts";
import {
  ChannelRequestError,
  createVirtualLiveRoutes,
  MAX_CHANNEL_BODY_BYTES,
  parsePlaylistChange,
  registerVirtualLiveMetrics,
  VirtualLiveChannels,
} from "../../../origin/virtual_live/mod.ts";
import { createPrng } from "../../_helpers/prng.ts";
import { AAC_44K, withClips } from "./_clips.ts";

const TOKEN = "an-admin-token-of-24-chars";

function setup(paths: string[], adminToken = TOKEN) {
  // 19:59:00 in Shanghai on 1 June 2024.
  const clock = { ms: Date.UTC(2024, 5, 1, 11, 59, 0) };
  const registry = new StreamRegistry({
    gopCache: true,
    maxGopCacheBytes: 1 << 20,
    flushIntervalMs: 0,
    encoders: { flv: { tag: (t) => t.data }, rtmp: { tag: (t) => t.data } },
    log: silentLogger,
  });
  const channels = new VirtualLiveChannels([{
    app: "live",
    stream: "tv",
    file: "",
    playlist: paths,
    loop: true,
    schedule: [
      { at: "20:00", file: "news.mp4" },
      { at: "08:00", file: "morning.mp4" },
    ],
    timeZone: "Asia/Shanghai",
  }], { registry, log: silentLogger, now: () => clock.ms });
  const metrics = new MetricsRegistry();
  registerVirtualLiveMetrics(metrics, channels);
  const app = createOriginHttpApp(
    { maxViewerQueueBytes: 1 << 20, playlistMaxAgeSeconds: 1 },
    {
      registry,
      hls: undefined,
      metrics,
      log: silentLogger,
      assets: { page: () => "<html></html>", script: () => undefined },
      virtualLive: createVirtualLiveRoutes(channels, {
        adminToken,
        log: silentLogger,
      }),
    },
  );
  return { clock, registry, channels, app, metrics };
}

const auth = { Authorization: `Bearer ${TOKEN}` };

Deno.test("GET /{app}/{stream}/programs says what plays now, what comes next and the day's slots", async () => {
  await withClips([
    { id: 1, frames: 25, gop: 5, avc: 1, asc: AAC_44K },
    { id: 2, frames: 10, gop: 5, avc: 1, asc: AAC_44K },
  ], async (paths, dir) => {
    const { clock, channels, app } = setup(paths);
    const ch = channels.get("live", "tv")!;
    try {
      await ch.pump();
      const res = await app.request("http://localhost/live/tv/programs");
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /application\/json/);
      const g = await res.json();
      assert.equal(g.timeZone, "Asia/Shanghai");
      assert.equal(g.time, "2024-06-01T11:59:00.000Z");
      // File names only: the server's folders are not for every viewer to read.
      assert.equal(g.now.file, "clip1.flv");
      assert.ok(!JSON.stringify(g).includes(dir), JSON.stringify(g));
      assert.equal(g.now.source, "playlist");
      assert.equal(g.now.startedAt, "2024-06-01T11:59:00.000Z");
      // Clip 1 is 25 frames of 40 ms plus the audio beside its last one: about 1 s.
      assert.ok(g.now.durationSeconds >= 1 && g.now.durationSeconds < 1.1);
      assert.deepEqual(g.next, {
        file: "clip2.flv",
        source: "playlist",
        index: 1,
        startsAt: g.now.endsAt,
      });
      assert.deepEqual(g.schedule, [
        {
          at: "08:00",
          file: "morning.mp4",
          startsAt: "2024-06-01T00:00:00.000Z",
          state: "done",
        },
        {
          at: "20:00",
          file: "news.mp4",
          startsAt: "2024-06-01T12:00:00.000Z",
          state: "upcoming",
        },
      ]);
      assert.deepEqual(g.playlist, ["clip1.flv", "clip2.flv"]);
      // The admin view names the paths.
      const admin = await (await app.request(
        "http://localhost/admin/channels/live/tv",
        { headers: auth },
      )).json();
      assert.equal(admin.now.file, paths[0]);
      assert.deepEqual(admin.playlist, paths);

      // Half a minute before the slot with a long item: next is the slot, at its time.
      ch.replacePlaylist([paths[0]!], true);
      clock.ms = Date.UTC(2024, 5, 1, 11, 59, 59, 800);
      await ch.pump();
      const g2 = await (await app.request("http://localhost/live/tv/programs"))
        .json();
      assert.deepEqual(g2.next, {
        file: "news.mp4",
        source: "schedule",
        index: 0,
        startsAt: "2024-06-01T12:00:00.000Z",
      });

      const none = await app.request("http://localhost/live/other/programs");
      assert.equal(none.status, 404);
    } finally {
      channels.stop();
    }
  });
});

Deno.test("/admin/channels needs the admin token, and answers 403 when none is configured", async () => {
  const { app, channels } = setup(["a.flv"]);
  const off = setup(["a.flv"], "");
  try {
    const url = "http://localhost/admin/channels/live/tv";
    assert.equal((await app.request(url)).status, 401);
    const wrong = await app.request(url, {
      headers: { Authorization: "Bearer not-the-token-at-all" },
    });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get("www-authenticate") ?? "", /invalid_token/);
    const put = await app.request(url, {
      method: "PUT",
      body: JSON.stringify({ playlist: ["b.mp4"] }),
    });
    assert.equal(put.status, 401);
    assert.deepEqual(channels.get("live", "tv")!.programme.playlist, ["a.flv"]);
    assert.equal((await off.app.request(url, { headers: auth })).status, 403);
    const ok = await app.request(url, { headers: auth });
    assert.equal(ok.status, 200);
    const view = await ok.json();
    assert.deepEqual(view.playlist, ["a.flv"]);
    assert.equal(view.loop, true);
    assert.equal(view.timeZone, "Asia/Shanghai");
    assert.deepEqual(view.schedule[0], { at: "20:00", file: "news.mp4" });
    assert.equal(
      (await app.request("http://localhost/admin/channels/live/nope", {
        headers: auth,
      })).status,
      404,
    );
  } finally {
    channels.stop();
    off.channels.stop();
  }
});

Deno.test("PUT /admin/channels/{app}/{stream} replaces the playlist, or answers 400 naming the bad field", async () => {
  const { app, channels } = setup(["a.flv"]);
  const ch = channels.get("live", "tv")!;
  const put = (body: string) =>
    app.request("http://localhost/admin/channels/live/tv", {
      method: "PUT",
      headers: { ...auth, "Content-Type": "application/json" },
      body,
    });
  try {
    const cases: [string, string][] = [
      ["not json", ""],
      ["[]", ""],
      [JSON.stringify({}), "playlist"],
      [JSON.stringify({ playlist: [] }), "playlist"],
      [JSON.stringify({ playlist: "a.mp4" }), "playlist"],
      [JSON.stringify({ playlist: ["a.mp4", 7] }), "playlist[1]"],
      [JSON.stringify({ playlist: ["a.mp4", ""] }), "playlist[1]"],
      [JSON.stringify({ playlist: ["/etc/passwd"] }), "playlist[0]"],
      [JSON.stringify({ playlist: ["a.mp4"], loop: "yes" }), "loop"],
      [JSON.stringify({ playlist: ["a.mp4"], shuffle: true }), "shuffle"],
    ];
    for (const [body, field] of cases) {
      const res = await put(body);
      assert.equal(res.status, 400, body);
      const j = await res.json();
      assert.equal(j.field, field, body);
      assert.match(j.error, /^(Invalid channel|Cannot parse)/, body);
    }
    const big = await put(
      JSON.stringify({
        playlist: ["x".repeat(MAX_CHANNEL_BODY_BYTES) + ".mp4"],
      }),
    );
    assert.equal(big.status, 413);
    assert.deepEqual(ch.programme.playlist, ["a.flv"], "nothing changed");

    const res = await put(
      JSON.stringify({ playlist: ["b.mp4", "media/c d.flv"], loop: false }),
    );
    assert.equal(res.status, 200);
    const view = await res.json();
    assert.deepEqual(view.playlist, ["b.mp4", "media/c d.flv"]);
    assert.equal(view.loop, false);
    assert.deepEqual(ch.programme.playlist, ["b.mp4", "media/c d.flv"]);
    assert.equal(ch.programme.loop, false);
    // loop left out: kept as it is.
    await put(JSON.stringify({ playlist: ["e.mp4"] }));
    assert.equal(ch.programme.loop, false);
  } finally {
    channels.stop();
  }
});

Deno.test("parsePlaylistChange() accepts every media extension and nothing else", () => {
  for (const p of ["a.mp4", "a.M4V", "x/y.mov", "b.flv", "c.f4v", "片.mp4"]) {
    assert.deepEqual(parsePlaylistChange({ playlist: [p] }).playlist, [p]);
  }
  for (const p of ["a", "a.ts", "a.mp4\0.flv", "dir/", ".mp4"]) {
    assert.throws(
      () => parsePlaylistChange({ playlist: [p] }),
      /'playlist\[0\]'/,
      JSON.stringify(p),
    );
  }
});

Deno.test("/metrics shows each channel's item, loops and skipped files", async () => {
  await withClips(
    [{ id: 1, frames: 3, gop: 3, avc: 1, asc: AAC_44K }],
    async (paths, dir) => {
      const { clock, channels, metrics } = setup([
        paths[0]!,
        `${dir}/missing.flv`,
      ]);
      const ch = channels.get("live", "tv")!;
      try {
        for (let i = 0; i < 40; i++) {
          await ch.pump();
          clock.ms += 20;
        }
        const text = metrics.render();
        assert.match(
          text,
          new RegExp(
            `meridian_origin_virtual_live_item\\{stream="live/tv",source="playlist",file="${
              paths[0]
            }"\\} 1`,
          ),
        );
        const loops = Number(
          /meridian_origin_virtual_live_loops_total\{stream="live\/tv"\} (\d+)/
            .exec(text)?.[1],
        );
        const skipped = Number(
          /meridian_origin_virtual_live_skipped_total\{stream="live\/tv"\} (\d+)/
            .exec(text)?.[1],
        );
        assert.ok(loops >= 2, text);
        assert.equal(skipped, loops, "the missing file once per pass");
        assert.match(
          text,
          /meridian_origin_virtual_live_items_total\{stream="live\/tv"\} \d+/,
        );
      } finally {
        channels.stop();
      }
    },
  );
});

Deno.test("parsePlaylistChange() either accepts or throws ChannelRequestError naming a field, for 2,000 random bodies", () => {
  const next = createPrng(0x7a11);
  const pick = <T>(xs: readonly T[]): T => xs[next() % xs.length]!;
  const scalars = [
    null,
    true,
    0,
    -1,
    1e308,
    "",
    "a.mp4",
    "b.flv",
    "x",
    "\0.mp4",
    "y".repeat(5000) + ".mp4",
    "片.MP4",
  ];
  const value = (depth: number): unknown => {
    const r = next() % 6;
    if (depth > 2 || r < 3) return pick(scalars);
    if (r === 3) {
      return Array.from({ length: next() % 4 }, () => value(depth + 1));
    }
    const o: Record<string, unknown> = {};
    for (let i = next() % 4; i > 0; i--) {
      // Own properties, as JSON.parse makes them (even "__proto__").
      Object.defineProperty(
        o,
        pick(["playlist", "loop", "x", "__proto__", ""]),
        {
          value: value(depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        },
      );
    }
    return o;
  };
  /** A valid body with one part replaced at random (or none). */
  const mutated = (): unknown => {
    const playlist: unknown[] = ["a.mp4", "dir/b.flv", "c.MOV"];
    const body: Record<string, unknown> = { playlist, loop: true };
    switch (next() % 5) {
      case 0:
        playlist[next() % playlist.length] = value(1);
        break;
      case 1:
        body.loop = value(1);
        break;
      case 2:
        body[pick(["x", "shuffle", "Playlist"])] = value(1);
        break;
      case 3:
        delete body.loop;
        break;
    }
    return body;
  };
  let accepted = 0;
  for (let i = 0; i < 2000; i++) {
    const body = next() % 2 === 0 ? mutated() : value(0);
    try {
      const c = parsePlaylistChange(body);
      accepted++;
      assert.ok(c.playlist.length > 0);
      for (const p of c.playlist) {
        assert.match(p, /\.(mp4|m4v|mov|m4a|f4v|flv)$/i);
      }
      assert.ok(c.loop === undefined || typeof c.loop === "boolean");
    } catch (e) {
      assert.ok(e instanceof ChannelRequestError, String(e));
      assert.match(e.message, /^Invalid channel '[^']*': got /);
      assert.ok(e.message.length < 400, "the value shown is bounded");
    }
  }
  assert.ok(accepted > 0, "some bodies are valid");
});
