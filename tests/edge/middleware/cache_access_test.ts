/**
 * The edge cache and the origin's access mark (`X-Meridian-Access`), against a real origin
 * stand-in on 127.0.0.1:0 and a real KV store: protected objects are shared only with requests
 * the edge itself checks; protected playlists are kept without credentials.
 */
import assert from "node:assert/strict";
import { type SessionKey, signSession } from "../../../access/mod.ts";
import { EdgeAccess } from "../../../edge/access/mod.ts";
import { createLogger, type Logger, silentLogger } from "../../../log/mod.ts";
import type { KvStore } from "../../../store/mod.ts";
import {
  createTestCache,
  get,
  ManualClock,
  startTestOrigin,
  type TestOrigin,
} from "../_helpers/fixtures.ts";
import { withKeyStore } from "../access/_store.ts";

const MARK = { "x-meridian-access": "token" };

/**
 * An origin stand-in: marked segments and credentialed playlists, as the real origin sends.
 * `onRequest` is told when a request reaches it (before a `slowMs` answer).
 */
function protectedOrigin(slowMs = 0, onRequest = () => {}): TestOrigin {
  return startTestOrigin(async (_req, url) => {
    onRequest();
    if (slowMs > 0) await new Promise((r) => setTimeout(r, slowMs));
    const cred = url.searchParams.get("cred");
    if (url.pathname.endsWith(".m3u8")) {
      if (url.searchParams.has("token")) {
        return new Response(null, {
          status: 302,
          headers: {
            ...MARK,
            location: "/live/cam.m3u8?cred=NEW",
            "cache-control": "no-store",
          },
        });
      }
      if (cred === null) {
        return new Response("Access token required", {
          status: 401,
          headers: { ...MARK, "cache-control": "no-store" },
        });
      }
      return new Response(
        `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\ncam/s-1.ts?cred=${cred}\n#EXTINF:2,\ncam/s-2.ts?cred=${cred}\n`,
        {
          headers: {
            ...MARK,
            "content-type": "application/vnd.apple.mpegurl",
            "cache-control": "private, max-age=1",
          },
        },
      );
    }
    if (cred === null) {
      return new Response("Session credential required", {
        status: 401,
        headers: { ...MARK, "cache-control": "no-store" },
      });
    }
    return new Response(`segment ${url.pathname}`, {
      headers: {
        ...MARK,
        "content-type": "video/mp2t",
        "cache-control": "public, max-age=86400, immutable",
      },
    });
  });
}

async function withProtectedCache(
  fn: (ctx: {
    origin: TestOrigin;
    clock: ManualClock;
    t: ReturnType<typeof createTestCache>;
    store: KvStore;
    credFor: (stream?: string, subject?: string) => Promise<string>;
  }) => Promise<void>,
  opts: {
    slowMs?: number;
    onRequest?: () => void;
    withAccess?: boolean;
    log?: Logger;
  } = {},
): Promise<void> {
  await withKeyStore(async (store, key: SessionKey) => {
    const origin = protectedOrigin(opts.slowMs ?? 0, opts.onRequest);
    const clock = new ManualClock();
    const access = opts.withAccess === false ? undefined : new EdgeAccess({
      store,
      sessionKey: key,
      log: silentLogger,
      now: clock.now,
    });
    const t = createTestCache([origin.url], clock, {}, {
      access,
      ...(opts.log ? { log: opts.log } : {}),
    });
    try {
      await fn({
        origin,
        clock,
        t,
        store,
        credFor: (stream = "cam", subject) =>
          signSession({
            pathPrefix: `/live/${stream}/`,
            expiresAtMs: clock.nowMs + 3_600_000,
            ...(subject === undefined ? {} : { subject }),
          }, key),
      });
    } finally {
      await t.close();
      access?.close();
      await origin.close();
    }
  });
}

Deno.test("EdgeCache: a cached protected segment needs a genuine credential; refusals never reach the origin", () =>
  withProtectedCache(async ({ origin, t, credFor }) => {
    const cred = await credFor();
    const miss = await get(t.cache, `/live/cam/s-1.ts?cred=${cred}`);
    assert.equal(miss.status, 200);
    await t.cache.drain();
    // Another session of the same stream.
    const other = await credFor("cam", "SessionB12345678");
    const hit = await get(t.cache, `/live/cam/s-1.ts?cred=${other}`);
    assert.equal(hit.status, 200);
    assert.equal(hit.headers.get("x-cache"), "HIT");
    assert.equal(hit.body, "segment /live/cam/s-1.ts");

    const bare = await get(t.cache, "/live/cam/s-1.ts");
    assert.equal(bare.status, 401);
    assert.equal(
      bare.headers.get("cache-status"),
      "Meridian; detail=access-refused",
    );
    assert.equal(bare.headers.get("cache-control"), "no-store");
    assert.equal(bare.headers.get("x-meridian-access"), "token");
    assert.doesNotMatch(bare.body, /segment/);
    const wrongStream = await credFor("cam2");
    for (const c of [wrongStream, "x.y", `${cred}x`]) {
      const r = await get(t.cache, `/live/cam/s-1.ts?cred=${c}`);
      assert.equal(r.status, 403, c);
    }
    assert.equal(
      origin.total,
      1,
      "one origin fetch; refusals decided at the edge",
    );
  }));

Deno.test("EdgeCache: a protected playlist is stored without credentials and re-credentialed per viewer", () =>
  withProtectedCache(async ({ origin, t, credFor }) => {
    const a = await credFor("cam", "SessionA12345678");
    const b = await credFor("cam", "SessionB12345678");
    assert.notEqual(a, b);
    const first = await get(t.cache, `/live/cam.m3u8?cred=${a}`);
    assert.equal(first.status, 200);
    assert.match(first.headers.get("cache-status")!, /stored/);
    assert.ok(first.body.includes(`s-1.ts?cred=${a}`));
    await t.cache.drain();
    const second = await get(t.cache, `/live/cam.m3u8?cred=${b}`);
    assert.equal(second.headers.get("x-cache"), "HIT");
    assert.match(second.headers.get("cache-control")!, /private/);
    assert.ok(second.body.includes(`s-1.ts?cred=${b}`));
    assert.ok(second.body.includes(`s-2.ts?cred=${b}`));
    assert.ok(!second.body.includes(a), "never another viewer's credential");
    // No stale length from the stored copy: none at all (Deno.serve writes the body's), or this
    // viewer's body length.
    const length = second.headers.get("content-length");
    assert.ok(
      length === null ||
        Number(length) === new TextEncoder().encode(second.body).byteLength,
      `content-length ${length}`,
    );
    // Without a credential, or with a wrong one: refused from the cache.
    assert.equal((await get(t.cache, "/live/cam.m3u8")).status, 401);
    assert.equal((await get(t.cache, "/live/cam.m3u8?cred=x.y")).status, 403);
    assert.equal(origin.total, 1);
  }));

Deno.test("EdgeCache: .m3u8?token= of a protected stream always reaches the origin and is never stored", () =>
  withProtectedCache(async ({ origin, t, credFor }) => {
    await get(t.cache, `/live/cam.m3u8?cred=${await credFor()}`);
    await t.cache.drain();
    for (let i = 0; i < 2; i++) {
      const r = await get(t.cache, "/live/cam.m3u8?token=AbCdEfGh12345678");
      assert.equal(r.status, 302);
      assert.equal(r.headers.get("location"), "/live/cam.m3u8?cred=NEW");
      assert.match(r.headers.get("cache-status")!, /fwd=request/);
    }
    await t.cache.drain();
    assert.equal(origin.count("/live/cam.m3u8?token=AbCdEfGh12345678"), 2);
  }));

Deno.test("EdgeCache: a .m3u8?token= the origin cannot answer is a 502 whose cause is logged, without the query", async () => {
  const lines: string[] = [];
  const log = createLogger("edge", {
    format: "json",
    write: (l) => lines.push(l),
  });
  await withProtectedCache(async ({ origin, t, credFor }) => {
    await get(t.cache, `/live/cam.m3u8?cred=${await credFor()}`);
    await t.cache.drain();
    await origin.close();
    const r = await get(t.cache, "/live/cam.m3u8?token=AbCdEfGh12345678");
    assert.equal(r.status, 502);
    assert.match(r.headers.get("cache-status")!, /fwd=request/);
    const failed = lines.map((l) => JSON.parse(l)).filter((l) =>
      l.msg === "origin fetch failed"
    );
    assert.equal(failed.length, 1, lines.join("\n"));
    assert.equal(failed[0].path, "/live/cam.m3u8");
    assert.equal(failed[0].origin, origin.url);
    assert.match(
      failed[0].error,
      /^Cannot fetch \/live\/cam\.m3u8 from origin http:\/\/127\.0\.0\.1:\d+: connect error$/,
    );
    assert.ok(lines.every((l) => !l.includes("AbCdEfGh12345678")));
  }, { log });
});

Deno.test("EdgeCache: a request collapsed onto another's protected fetch is checked itself", () => {
  const began = Promise.withResolvers<void>();
  return withProtectedCache(async ({ origin, t, credFor }) => {
    const cred = await credFor();
    const leader = get(t.cache, `/live/cam/s-9.ts?cred=${cred}`);
    // The leader's fetch is at the origin (its fill in flight, answered 200 ms later): the
    // others collapse onto it.
    await began.promise;
    const [withCred, without, forged] = await Promise.all([
      leader,
      get(t.cache, "/live/cam/s-9.ts"),
      get(t.cache, "/live/cam/s-9.ts?cred=x.y"),
    ]);
    assert.equal(withCred.status, 200);
    assert.equal(without.status, 401);
    assert.equal(forged.status, 403);
    assert.equal(origin.total, 1, "collapsed, then refused by the edge");
  }, { slowMs: 200, onRequest: () => began.resolve() });
});

Deno.test("EdgeCache: without an access checker protected objects are never stored", () =>
  withProtectedCache(async ({ origin, t, credFor }) => {
    const cred = await credFor();
    for (let i = 0; i < 2; i++) {
      const r = await get(t.cache, `/live/cam/s-1.ts?cred=${cred}`);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("x-cache"), "MISS");
      assert.match(r.headers.get("cache-status")!, /detail=access-unchecked/);
      await t.cache.drain();
    }
    assert.equal((await get(t.cache, "/live/cam/s-1.ts")).status, 401);
    assert.equal(origin.total, 3, "the origin decides every request");
  }, { withAccess: false }));
