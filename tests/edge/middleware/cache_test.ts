/**
 * RFC 9111 behaviour of the edge cache against a real origin (Deno.serve on 127.0.0.1:0), with a
 * manual clock so freshness is tested without sleeping.
 */
import assert from "node:assert/strict";
import {
  createTestCache,
  get,
  ManualClock,
  startTestOrigin,
  type TestOrigin,
} from "../_helpers/fixtures.ts";

async function withCache(
  handler: Parameters<typeof startTestOrigin>[0],
  fn: (
    ctx: {
      origin: TestOrigin;
      clock: ManualClock;
      t: ReturnType<typeof createTestCache>;
    },
  ) => Promise<void>,
  options: Parameters<typeof createTestCache>[2] = {},
): Promise<void> {
  const origin = startTestOrigin(handler);
  const clock = new ManualClock();
  const t = createTestCache([origin.url], clock, options);
  try {
    await fn({ origin, clock, t });
  } finally {
    await t.close();
    await origin.close();
  }
}

const cc = (value: string, body = "x", extra: Record<string, string> = {}) =>
  new Response(body, { headers: { "cache-control": value, ...extra } });

Deno.test("EdgeCache: miss then hit, with Age, Cache-Status and X-Cache", () =>
  withCache(
    (_r, _u, n) => cc("max-age=60", `v${n}`, { age: "10" }),
    async ({ origin, clock, t }) => {
      const a = await get(t.cache, "/vod/a.txt");
      assert.equal(a.status, 200);
      assert.equal(a.headers.get("x-cache"), "MISS");
      assert.equal(
        a.headers.get("cache-status"),
        "Meridian; fwd=miss; fwd-status=200; stored",
      );
      await t.cache.drain();
      clock.advance(5_000);
      const b = await get(t.cache, "/vod/a.txt");
      assert.equal(b.body, "v1");
      assert.equal(b.headers.get("x-cache"), "HIT");
      assert.match(b.headers.get("cache-status")!, /^Meridian; hit; ttl=4\d$/);
      assert.equal(b.headers.get("age"), "15", "origin Age 10 + 5 s resident");
      assert.equal(origin.count("/vod/a.txt"), 1);
    },
  ));

Deno.test("EdgeCache: no-store and private are never stored", () =>
  withCache(
    (_r, u) =>
      cc(u.pathname.includes("private") ? "private, max-age=60" : "no-store"),
    async ({ origin, t }) => {
      for (const p of ["/x/no-store", "/x/private"]) {
        const a = await get(t.cache, p);
        const b = await get(t.cache, p);
        assert.equal(b.headers.get("x-cache"), "MISS");
        assert.doesNotMatch(a.headers.get("cache-status")!, /stored/);
        assert.equal(origin.count(p), 2);
      }
    },
  ));

Deno.test("EdgeCache: s-maxage wins over max-age in a shared cache", () =>
  withCache(
    () => cc("max-age=0, s-maxage=30"),
    async ({ origin, clock, t }) => {
      await get(t.cache, "/a");
      await t.cache.drain();
      clock.advance(20_000);
      assert.equal((await get(t.cache, "/a")).headers.get("x-cache"), "HIT");
      clock.advance(11_000);
      assert.equal((await get(t.cache, "/a")).headers.get("x-cache"), "MISS");
      assert.equal(origin.count("/a"), 2);
    },
  ));

Deno.test("EdgeCache: stale-while-revalidate serves stale at once and refreshes in the background", () =>
  withCache(
    (_r, _u, n) => cc("max-age=1, stale-while-revalidate=30", `v${n}`),
    async ({ origin, clock, t }) => {
      await get(t.cache, "/swr");
      await t.cache.drain();
      clock.advance(5_000);
      const stale = await get(t.cache, "/swr");
      assert.equal(stale.body, "v1");
      assert.equal(stale.headers.get("x-cache"), "HIT");
      assert.match(
        stale.headers.get("cache-status")!,
        /ttl=-4; detail=stale-while-revalidate/,
      );
      await t.cache.drain();
      assert.equal(origin.count("/swr"), 2, "one background refresh");
      const fresh = await get(t.cache, "/swr");
      assert.equal(fresh.body, "v2");
      assert.match(fresh.headers.get("cache-status")!, /^Meridian; hit/);
    },
  ));

Deno.test("EdgeCache: stale-if-error serves stale when the origin answers 5xx, within the window only", () =>
  withCache(
    (_r, _u, n) =>
      n === 1
        ? cc("max-age=1, stale-if-error=60", "good")
        : new Response("boom", { status: 503 }),
    async ({ clock, t }) => {
      await get(t.cache, "/sie");
      await t.cache.drain();
      clock.advance(10_000);
      const r = await get(t.cache, "/sie");
      assert.equal(r.status, 200);
      assert.equal(r.body, "good");
      assert.match(
        r.headers.get("cache-status")!,
        /fwd=stale; ttl=-9; detail=stale-if-error-status-503/,
      );
      clock.advance(60_000);
      const late = await get(t.cache, "/sie");
      assert.equal(
        late.status,
        503,
        "past stale-if-error the error passes through",
      );
    },
  ));

Deno.test("EdgeCache: stale-if-error serves stale when no origin can be reached", async () => {
  const origin = startTestOrigin(() =>
    cc("max-age=1, stale-if-error=60", "kept")
  );
  const clock = new ManualClock();
  const t = createTestCache([origin.url], clock);
  try {
    await get(t.cache, "/sie2");
    await t.cache.drain();
    await origin.close(); // connection refused from now on
    clock.advance(5_000);
    const r = await get(t.cache, "/sie2");
    assert.equal(r.body, "kept");
    assert.match(
      r.headers.get("cache-status")!,
      /stale-if-error-upstream-error/,
    );
  } finally {
    await t.close();
  }
});

Deno.test("EdgeCache: must-revalidate never serves stale", () =>
  withCache(
    (_r, _u, n) =>
      n === 1
        ? cc("max-age=1, must-revalidate, stale-if-error=60")
        : new Response("down", { status: 500 }),
    async ({ clock, t }) => {
      await get(t.cache, "/mr");
      await t.cache.drain();
      clock.advance(5_000);
      assert.equal((await get(t.cache, "/mr")).status, 500);
    },
  ));

Deno.test("EdgeCache: If-None-Match on a hit answers 304; a stale object is revalidated with the origin's 304", () =>
  withCache((req, _u, n) => {
    if (n > 1 && req.headers.get("if-none-match") === '"e1"') {
      return new Response(null, {
        status: 304,
        headers: { "cache-control": "max-age=60", etag: '"e1"' },
      });
    }
    return cc("max-age=10", "body-e1", { etag: '"e1"' });
  }, async ({ origin, clock, t }) => {
    await get(t.cache, "/e");
    await t.cache.drain();
    const nm = await get(t.cache, "/e", { "if-none-match": 'W/"e1"' });
    assert.equal(nm.status, 304);
    assert.equal(nm.headers.get("etag"), '"e1"');
    assert.equal(nm.headers.get("x-cache"), "HIT");
    assert.equal(
      (await get(t.cache, "/e", { "if-none-match": '"other"' })).status,
      200,
    );
    clock.advance(20_000);
    const reval = await get(t.cache, "/e");
    assert.equal(reval.status, 200);
    assert.equal(reval.body, "body-e1");
    assert.equal(
      reval.headers.get("cache-status"),
      "Meridian; fwd=stale; fwd-status=304; stored",
    );
    assert.equal(origin.requests.at(-1)!.headers.get("if-none-match"), '"e1"');
    clock.advance(30_000);
    assert.equal(
      (await get(t.cache, "/e")).headers.get("x-cache"),
      "HIT",
      "304 refreshed the lifetime to 60 s",
    );
  }));

Deno.test("EdgeCache: Range is served as 206 from a cached whole object, 416 when unsatisfiable", () =>
  withCache(
    () => cc("max-age=60", "0123456789".repeat(100), { etag: '"r"' }),
    async ({ origin, t }) => {
      const cold = await get(t.cache, "/vod/r.mp4", { range: "bytes=10-19" });
      assert.equal(
        cold.status,
        206,
        "a cold Range request is answered from the fill",
      );
      assert.equal(cold.body, "0123456789");
      await t.cache.drain();
      const r = await get(t.cache, "/vod/r.mp4", { range: "bytes=995-" });
      assert.equal(r.status, 206);
      assert.equal(r.headers.get("content-range"), "bytes 995-999/1000");
      assert.equal(r.headers.get("content-length"), "5");
      assert.equal(r.body, "56789");
      const suffix = await get(t.cache, "/vod/r.mp4", { range: "bytes=-3" });
      assert.equal(suffix.body, "789");
      const bad = await get(t.cache, "/vod/r.mp4", { range: "bytes=1000-" });
      assert.equal(bad.status, 416);
      assert.equal(bad.headers.get("content-range"), "bytes */1000");
      const ifRange = await get(t.cache, "/vod/r.mp4", {
        range: "bytes=0-0",
        "if-range": '"old"',
      });
      assert.equal(ifRange.status, 200, "If-Range mismatch: whole object");
      assert.equal(origin.count("/vod/r.mp4"), 1);
    },
  ));

Deno.test("EdgeCache: Vary keeps one variant per selecting header value", () =>
  withCache(
    (req) =>
      cc("max-age=60", `lang=${req.headers.get("accept-language")}`, {
        vary: "Accept-Language",
      }),
    async ({ origin, t }) => {
      assert.equal(
        (await get(t.cache, "/v", { "accept-language": "en" })).body,
        "lang=en",
      );
      await t.cache.drain();
      assert.equal(
        (await get(t.cache, "/v", { "accept-language": "fr" })).body,
        "lang=fr",
      );
      await t.cache.drain();
      const en = await get(t.cache, "/v", { "accept-language": "en" });
      const fr = await get(t.cache, "/v", { "accept-language": "fr" });
      assert.equal(en.body, "lang=en");
      assert.equal(fr.body, "lang=fr");
      assert.equal(en.headers.get("x-cache"), "HIT");
      assert.equal(fr.headers.get("x-cache"), "HIT");
      assert.equal(origin.count("/v"), 2);
    },
  ));

Deno.test("EdgeCache: keys drop tokens and credentials, sort the query and keep _HLS_ parameters", () =>
  withCache(() => cc("max-age=60"), async ({ origin, t }) => {
    // An open answer to a request with credentials is that request's own (it is not marked
    // protected, so the credentials may have chosen it): served, not stored.
    const own = await get(t.cache, "/live/s.m3u8?b=2&a=1&token=AAAA&sig=1");
    assert.equal(
      own.headers.get("cache-status"),
      "Meridian; fwd=miss; fwd-status=200; detail=credential-params",
    );
    await get(t.cache, "/live/s.m3u8?b=2&a=1");
    await t.cache.drain();
    const hit = await get(
      t.cache,
      "/live/s.m3u8?a=1&b=2&token=BBBB&cred=z&exp=9",
    );
    assert.equal(hit.headers.get("x-cache"), "HIT");
    await get(t.cache, "/live/s.m3u8?_HLS_msn=5&_HLS_part=1");
    await get(t.cache, "/live/s.m3u8?_HLS_msn=6&_HLS_part=0");
    assert.equal(origin.total, 4);
    assert.deepEqual(
      origin.requests.map((r) => r.path).slice(0, 2),
      ["/live/s.m3u8?a=1&b=2&token=AAAA&sig=1", "/live/s.m3u8?a=1&b=2"],
      "the origin gets the key, then the token for its access check",
    );
  }));

const PLAYLIST =
  "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:4,\ns/1.ts\n";

Deno.test("EdgeCache: a live playlist without Cache-Control lives half a target duration", () =>
  withCache(() => new Response(PLAYLIST), async ({ origin, clock, t }) => {
    await get(t.cache, "/live/s.m3u8");
    await t.cache.drain();
    clock.advance(1_900);
    assert.equal(
      (await get(t.cache, "/live/s.m3u8")).headers.get("x-cache"),
      "HIT",
    );
    clock.advance(200);
    assert.equal(
      (await get(t.cache, "/live/s.m3u8")).headers.get("x-cache"),
      "MISS",
    );
    assert.equal(origin.count("/live/s.m3u8"), 2);
  }));

Deno.test("EdgeCache: a live playlist is never served older than one target duration", () =>
  withCache(
    () => cc("max-age=60, stale-while-revalidate=60", PLAYLIST),
    async ({ clock, t }) => {
      await get(t.cache, "/live/s.m3u8");
      await t.cache.drain();
      clock.advance(3_900);
      assert.equal(
        (await get(t.cache, "/live/s.m3u8")).headers.get("x-cache"),
        "HIT",
      );
      clock.advance(200);
      const r = await get(t.cache, "/live/s.m3u8");
      assert.equal(
        r.headers.get("x-cache"),
        "MISS",
        "origin max-age 60 capped to 4 s, no stale serving",
      );
    },
  ));

Deno.test("EdgeCache: segments without Cache-Control are kept long; unknown objects are not stored", () =>
  withCache(() => new Response("seg"), async ({ origin, clock, t }) => {
    await get(t.cache, "/live/s/1.ts");
    await get(t.cache, "/other.bin");
    await t.cache.drain();
    clock.advance(3_600_000);
    assert.equal(
      (await get(t.cache, "/live/s/1.ts")).headers.get("x-cache"),
      "HIT",
    );
    assert.equal(
      (await get(t.cache, "/other.bin")).headers.get("x-cache"),
      "MISS",
    );
    assert.equal(origin.count("/other.bin"), 2);
  }));

Deno.test("EdgeCache: a body that breaks midway reaches the client as an error and is not stored", () =>
  withCache((_r, _u, n) => {
    if (n > 1) {
      return cc("max-age=60", "whole", { "content-type": "text/plain" });
    }
    // The first 1000 bytes go out; asked for more, the origin breaks.
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array(1000));
      },
      pull(c) {
        c.error(new Error("origin crashed"));
      },
    });
    return new Response(body, { headers: { "cache-control": "max-age=60" } });
  }, async ({ origin, t }) => {
    const res = await t.cache.handle(
      new Request("http://edge/live/s/broken.ts"),
    );
    await assert.rejects(res.arrayBuffer());
    await t.cache.drain();
    const again = await get(t.cache, "/live/s/broken.ts");
    assert.equal(again.headers.get("x-cache"), "MISS");
    assert.equal(again.body, "whole");
    assert.equal(origin.count("/live/s/broken.ts"), 2);
  }));

Deno.test("EdgeCache: a request waiting on another's fetch gives up after collapseWaitMs with 504", async () => {
  const gate = Promise.withResolvers<void>();
  const began = Promise.withResolvers<void>();
  const origin = startTestOrigin(async () => {
    began.resolve(); // the leader's fetch is at the origin: its fill is in flight
    await gate.promise;
    return cc("max-age=60", "late");
  });
  const clock = new ManualClock();
  const t = createTestCache([origin.url], clock, { collapseWaitMs: 100 });
  try {
    const leader = get(t.cache, "/slow");
    await began.promise;
    const waiter = await get(t.cache, "/slow");
    assert.equal(waiter.status, 504);
    assert.match(waiter.headers.get("cache-status")!, /collapsed/);
    gate.resolve();
    assert.equal((await leader).body, "late");
    assert.equal(origin.count("/slow"), 1, "the waiter never fetched");
  } finally {
    gate.resolve();
    await t.close();
    await origin.close();
  }
});

Deno.test("EdgeCache: a failed idempotent request is retried once on another origin", async () => {
  const bad = startTestOrigin(() => new Response("no", { status: 502 }));
  const good = startTestOrigin(() => cc("max-age=60", "from-good"));
  const clock = new ManualClock();
  const t = createTestCache([bad.url, good.url], clock);
  try {
    const r = await get(t.cache, "/f");
    assert.equal(r.body, "from-good");
    // Smooth WRR with equal weights picks the first origin first: it answers 502, the retry goes
    // to the second.
    assert.equal(bad.count("/f"), 1);
    assert.equal(good.count("/f"), 1);
  } finally {
    await t.close();
    await bad.close();
    await good.close();
  }
});

Deno.test("EdgeCache.tryHit: answers a plain fresh hit exactly as handle() does, and nothing else", () =>
  withCache(
    (req, u) =>
      u.pathname === "/v"
        ? cc("max-age=60", `lang=${req.headers.get("accept-language")}`, {
          vary: "Accept-Language",
        })
        : cc(
          u.pathname.endsWith("big.bin") ? "max-age=60" : "max-age=10",
          u.pathname.endsWith("big.bin") ? "b".repeat(70_000) : "body",
          {
            "content-type": "application/vnd.apple.mpegurl",
            etag: '"e1"',
          },
        ),
    async ({ origin, clock, t }) => {
      const req = (path: string, headers: HeadersInit = {}, method = "GET") =>
        new Request(`http://edge${path}`, { headers, method });
      assert.equal(
        t.cache.tryHit(req("/live/a.m3u8")),
        undefined,
        "not cached yet",
      );
      await get(t.cache, "/live/a.m3u8");
      await get(t.cache, "/vod/big.bin");
      await get(t.cache, "/v", { "accept-language": "en" });
      await t.cache.drain();
      // A live playlist lives at most one target duration (2 s by default here).
      clock.advance(1_000);
      const fast = t.cache.tryHit(req("/live/a.m3u8"))!;
      const slow = await t.cache.handle(req("/live/a.m3u8"));
      assert.equal(fast.status, 200);
      assert.deepEqual([...fast.headers], [...slow.headers]);
      assert.equal(await fast.text(), await slow.text());
      assert.equal(fast.headers.get("age"), "1");
      assert.equal(fast.headers.get("cache-status"), "Meridian; hit; ttl=1");
      // Left to handle(): other methods, queries, odd paths, conditionals, ranges, Vary, big
      // bodies, stale objects.
      for (
        const r of [
          req("/live/a.m3u8", {}, "HEAD"),
          req("/live/a.m3u8?x=1"),
          req("/live//a.m3u8"),
          req("/live/%61.m3u8"),
          req("/live/a.m3u8", { "if-none-match": '"e1"' }),
          req("/live/a.m3u8", {
            "if-modified-since": new Date().toUTCString(),
          }),
          req("/live/a.m3u8", { range: "bytes=0-1" }),
          req("/v", { "accept-language": "en" }),
          req("/vod/big.bin"),
        ]
      ) {
        assert.equal(
          t.cache.tryHit(r),
          undefined,
          `${r.method} ${r.url} ${[...r.headers]}`,
        );
      }
      clock.advance(1_500);
      assert.equal(t.cache.tryHit(req("/live/a.m3u8")), undefined, "stale");
      assert.equal(origin.count("/live/a.m3u8"), 1);
    },
  ));
