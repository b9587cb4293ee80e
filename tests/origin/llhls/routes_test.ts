/**
 * The LL-HLS routes in-process, with the packagers fed by a real hub: blocking reload held
 * until the part exists, preload-hint parts held likewise, 400 for bad or too-far directives,
 * 503 on timeout and beyond the cap, 404 for unknown streams, apps without LL-HLS untouched.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import {
  createLlHlsRoutes,
  LlHlsPackagers,
} from "../../../origin/llhls/mod.ts";
import { StreamRegistry } from "../../../origin/stream/registry.ts";
import type { Hub } from "../../../origin/stream/hub.ts";
import { MetricsRegistry } from "../../../metrics/mod.ts";
import { silentLogger } from "../../../origin/log.ts";
import { synthStream } from "../../_helpers/synth_flv.ts";
import type { FlvTag } from "../../../codec/flv/mod.ts";

const enc = { tag: (t: { data: Uint8Array }) => t.data };

function setup(
  opts: { targetDurationMs?: number; maxHeldRequests?: number } = {},
) {
  const registry = new StreamRegistry({
    gopCache: true,
    maxGopCacheBytes: 1 << 20,
    flushIntervalMs: 0,
    encoders: { flv: enc, rtmp: enc },
    log: silentLogger,
  });
  const metrics = new MetricsRegistry();
  const ll = new LlHlsPackagers({
    apps: ["live"],
    targetDurationMs: opts.targetDurationMs ?? 2000,
    keyframeTolerance: 0.1,
    partTargetMs: 333,
    windowSegments: 6,
    maxHeldRequests: opts.maxHeldRequests ?? 100,
    endGraceMs: 50,
    endedRetentionMs: 50,
  }, { registry, metrics, log: silentLogger });
  const app = new Hono().route(
    "/",
    createLlHlsRoutes(ll, {
      log: silentLogger,
      protectedApp: (a) => a === "secure",
    }),
  );
  app.get("*", (c) => c.text("fell through", 404));
  return { registry, ll, app, metrics };
}

/** Feeds tags in order; returns the rest. */
function feed(hub: Hub, tags: FlvTag[], untilMs: number): FlvTag[] {
  let i = 0;
  while (i < tags.length && tags[i]!.timestampMs <= untilMs) {
    hub.pushTag(tags[i++]!);
  }
  return tags.slice(i);
}

const tick = () => new Promise((r) => setTimeout(r, 20));

Deno.test("LL-HLS routes hold a blocking reload until its part exists, then answer it (and every other waiter) at once", async () => {
  const { registry, ll, app, metrics } = setup();
  try {
    const hub = registry.startPublish("live", "cam", {
      peer: "t",
      protocol: "rtmp",
    });
    let rest = feed(hub, synthStream(10_000, 50), 2_500);
    const first = await app.request("/live/cam/ll.m3u8");
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("cache-control"), "public, max-age=0");
    const text = await first.text();
    const hint = /PRELOAD-HINT:TYPE=PART,URI="ll_[a-z0-9]+_(\d+)_(\d+)\.m4s"/
      .exec(text)!;
    const [msn, part] = [Number(hint[1]), Number(hint[2])];
    let answered = 0;
    const waits = Array.from({ length: 20 }, () =>
      Promise.resolve(
        app.request(`/live/cam/ll.m3u8?_HLS_msn=${msn}&_HLS_part=${part}`),
      ).then((r: Response) => {
        answered++;
        return r;
      }));
    await tick();
    assert.equal(answered, 0, "held while the part does not exist");
    assert.equal(ll.heldRequests, 20);
    assert.match(
      metrics.render(),
      /\nmeridian_origin_llhls_held_requests 20\n/,
    );
    // One more 320 ms of media: the part is made, every waiter is answered.
    rest = feed(hub, rest, 2_500 + 400);
    const res = await Promise.all(waits);
    for (const r of res) {
      assert.equal(r.status, 200);
      assert.match(r.headers.get("cache-control")!, /^public, max-age=2$/);
      const body = await r.text();
      assert.ok(body.includes(`_${msn}_${part}.m4s"`), body);
    }
    assert.equal(ll.heldRequests, 0);
    // Already there: at once. The whole segment without a part waits for its end.
    const now = await app.request(
      `/live/cam/ll.m3u8?_HLS_msn=${msn}&_HLS_part=0`,
    );
    assert.equal(now.status, 200);
    await now.body?.cancel();
    let whole = false;
    const wholeReq = Promise.resolve(
      app.request(`/live/cam/ll.m3u8?_HLS_msn=${msn}`),
    ).then(
      (r: Response) => {
        whole = true;
        return r;
      },
    );
    await tick();
    assert.equal(whole, false);
    feed(hub, rest, 4_100);
    const w = await wholeReq;
    assert.equal(w.status, 200);
    assert.match(await w.text(), new RegExp(`\\nll_[a-z0-9]+_${msn}\\.m4s\\n`));
    assert.match(metrics.render(), /meridian_origin_llhls_parts_total \d+/);
  } finally {
    registry.endAll();
    ll.close();
  }
});

Deno.test("LL-HLS routes hold a part named by the preload hint until it is made, then serve it immutable", async () => {
  const { registry, ll, app } = setup();
  try {
    const hub = registry.startPublish("live", "cam", {
      peer: "t",
      protocol: "rtmp",
    });
    const rest = feed(hub, synthStream(6_000, 50), 1_000);
    const text = await (await app.request("/live/cam/ll.m3u8")).text();
    const uri = /PRELOAD-HINT:TYPE=PART,URI="([^"]+)"/.exec(text)![1]!;
    let done = false;
    const req = Promise.resolve(app.request(`/live/cam/${uri}`)).then(
      (r: Response) => {
        done = true;
        return r;
      },
    );
    await tick();
    assert.equal(done, false);
    feed(hub, rest, 1_400);
    const r = await req;
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "video/mp4");
    assert.equal(
      r.headers.get("cache-control"),
      "public, max-age=86400, immutable",
    );
    const bytes = new Uint8Array(await r.arrayBuffer());
    assert.equal(
      new TextDecoder().decode(bytes.subarray(4, 8)),
      "moof",
      "a CMAF fragment",
    );
    const init = /MAP:URI="([^"]+)"/.exec(text)![1]!;
    const i = await app.request(`/live/cam/${init}`);
    assert.equal(i.status, 200);
    assert.equal(
      new TextDecoder().decode(
        new Uint8Array(await i.arrayBuffer()).subarray(4, 8),
      ),
      "ftyp",
    );
    // A name of another epoch (an old publish) or nonsense: 404 at once, never cached.
    for (const bad of ["ll_zz_1_1.m4s", "ll_zz_init.mp4", "ll_x.m4s"]) {
      const b = await app.request(`/live/cam/${bad}`);
      assert.equal(b.status, 404, bad);
      assert.equal(b.headers.get("cache-control"), "no-store");
      await b.body?.cancel();
    }
  } finally {
    registry.endAll();
    ll.close();
  }
});

Deno.test("LL-HLS routes answer 400 for malformed and too-far directives and 404 for unknown streams; apps without LL-HLS fall through", async () => {
  const { registry, ll, app } = setup();
  try {
    const hub = registry.startPublish("live", "cam", {
      peer: "t",
      protocol: "rtmp",
    });
    feed(hub, synthStream(3_000, 50), 3_000);
    for (
      const q of [
        "_HLS_part=1",
        "_HLS_msn=x",
        "_HLS_msn=1&_HLS_msn=2",
        "_HLS_skip=maybe",
        "_HLS_msn=99",
        "_HLS_msn=1&_HLS_part=40",
      ]
    ) {
      const r = await app.request(`/live/cam/ll.m3u8?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.headers.get("cache-control"), "no-store");
      assert.ok((await r.text()).length > 0);
    }
    assert.equal(ll.heldRequests, 0);
    const unknown = await app.request("/live/nobody/ll.m3u8");
    assert.equal(unknown.status, 404);
    await unknown.body?.cancel();
    const secure = await app.request("/secure/cam/ll.m3u8");
    assert.equal(secure.status, 404, "not an LL app: falls through");
    assert.equal(await secure.text(), "fell through");
    const skip = await app.request("/live/cam/ll.m3u8?_HLS_skip=YES");
    assert.equal(skip.status, 200);
    await skip.body?.cancel();
  } finally {
    registry.endAll();
    ll.close();
  }
});

Deno.test("LL-HLS routes refuse LL-HLS with 403 where playback needs a session", async () => {
  const registry = new StreamRegistry({
    gopCache: true,
    maxGopCacheBytes: 1 << 20,
    flushIntervalMs: 0,
    encoders: { flv: enc, rtmp: enc },
    log: silentLogger,
  });
  const ll = new LlHlsPackagers({
    apps: ["secure"],
    targetDurationMs: 2000,
    keyframeTolerance: 0.1,
    partTargetMs: 333,
    windowSegments: 6,
    maxHeldRequests: 10,
    endGraceMs: 50,
    endedRetentionMs: 50,
  }, { registry, metrics: new MetricsRegistry(), log: silentLogger });
  const app = createLlHlsRoutes(ll, {
    log: silentLogger,
    protectedApp: () => true,
  });
  try {
    for (const path of ["/secure/cam/ll.m3u8", "/secure/cam/ll_a_init.mp4"]) {
      const r = await app.request(path);
      assert.equal(r.status, 403, path);
      assert.match(await r.text(), /needs a session/);
    }
  } finally {
    ll.close();
  }
});

Deno.test("LL-HLS routes answer a held request 503 with Retry-After when its part does not come, and 503 at once beyond maxHeldRequests", async () => {
  // Target 500 ms: held at most 3 × 500 ms.
  const { registry, ll, app } = setup({
    targetDurationMs: 500,
    maxHeldRequests: 1,
  });
  try {
    const hub = registry.startPublish("live", "cam", {
      peer: "t",
      protocol: "rtmp",
    });
    feed(hub, synthStream(2_000, 25), 1_000);
    assert.equal(ll.holdMs, 1_500);
    const { msn, parts } = ll.stream("live", "cam")!.position;
    const held = app.request(
      `/live/cam/ll.m3u8?_HLS_msn=${msn}&_HLS_part=${parts}`,
    );
    await tick();
    const busy = await app.request(
      `/live/cam/ll.m3u8?_HLS_msn=${msn}&_HLS_part=${parts + 1}`,
    );
    assert.equal(busy.status, 503);
    assert.equal(busy.headers.get("retry-after"), "1");
    assert.match(await busy.text(), /Too many/);
    const t0 = Date.now();
    const timedOut = await held;
    assert.equal(timedOut.status, 503);
    assert.equal(timedOut.headers.get("retry-after"), "1");
    assert.equal(timedOut.headers.get("cache-control"), "no-store");
    assert.match(await timedOut.text(), /Not available yet/);
    assert.ok(Date.now() - t0 > 1_000, "held for the hold time");
    assert.equal(ll.heldRequests, 0);
  } finally {
    registry.endAll();
    ll.close();
  }
});

Deno.test("LL-HLS after a republish: a held request is answered from the new publish, numbering goes on behind a discontinuity", async () => {
  const { registry, ll, app } = setup();
  try {
    let hub = registry.startPublish("live", "cam", {
      peer: "t",
      protocol: "rtmp",
    });
    feed(hub, synthStream(3_000, 50), 3_000);
    const { msn } = ll.stream("live", "cam")!.position;
    hub.end();
    const before = await (await app.request("/live/cam/ll.m3u8")).text();
    assert.doesNotMatch(before, /PRELOAD-HINT|ENDLIST/);
    const held = app.request(
      `/live/cam/ll.m3u8?_HLS_msn=${msn + 1}&_HLS_part=0`,
    );
    hub = registry.startPublish("live", "cam", { peer: "t", protocol: "rtmp" });
    feed(hub, synthStream(1_000, 50, 5_000), 6_000);
    const r = await held;
    assert.equal(r.status, 200);
    const text = await r.text();
    assert.match(text, /#EXT-X-DISCONTINUITY-SEQUENCE:1\n/);
    assert.match(text, new RegExp(`#EXT-X-MEDIA-SEQUENCE:${msn + 1}\\n`));
  } finally {
    registry.endAll();
    ll.close();
  }
});
