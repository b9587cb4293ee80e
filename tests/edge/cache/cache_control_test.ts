import assert from "node:assert/strict";
import {
  computeFreshness,
  initialAgeMs,
  parseAge,
  parseCacheControl,
  parseTargetedCacheControl,
} from "../../../edge/cache/cache_control.ts";

Deno.test("parseCacheControl() reads every directive a shared cache acts on", () => {
  const d = parseCacheControl(
    'Public, MAX-AGE=60, s-maxage="30", stale-while-revalidate=5, stale-if-error=600, must-revalidate, immutable',
  );
  assert.equal(d.public, true);
  assert.equal(d.maxAgeSeconds, 60);
  assert.equal(d.sMaxAgeSeconds, 30);
  assert.equal(d.staleWhileRevalidateSeconds, 5);
  assert.equal(d.staleIfErrorSeconds, 600);
  assert.equal(d.mustRevalidate, true);
  assert.equal(d.immutable, true);
  assert.equal(parseCacheControl("max-age=abc").maxAgeSeconds, undefined);
  assert.equal(
    parseCacheControl("max-age=99999999999").maxAgeSeconds,
    2_147_483_648,
  );
  assert.equal(parseCacheControl(null).noStore, false);
});

const fresh = (
  status: number,
  headers: Record<string, string>,
  defaults = {},
) => computeFreshness(status, new Headers(headers), defaults);

Deno.test("computeFreshness() table: storability and lifetime (RFC 9111 §3, §4.2.1)", () => {
  const cases: [
    string,
    number,
    Record<string, string>,
    object,
    boolean,
    number,
  ][] = [
    ["max-age", 200, { "cache-control": "max-age=10" }, {}, true, 10_000],
    [
      "s-maxage wins",
      200,
      { "cache-control": "max-age=10, s-maxage=3" },
      {},
      true,
      3_000,
    ],
    [
      "no-store",
      200,
      { "cache-control": "no-store, max-age=10" },
      {},
      false,
      0,
    ],
    ["private", 200, { "cache-control": "private, max-age=10" }, {}, false, 0],
    [
      "no-cache stores with lifetime 0",
      200,
      { "cache-control": "no-cache" },
      {},
      true,
      0,
    ],
    ["vary *", 200, { "cache-control": "max-age=10", vary: "*" }, {}, false, 0],
    ["no lifetime, no default", 200, {}, {}, false, 0],
    ["no lifetime, default", 200, {}, { defaultLifetimeMs: 500 }, true, 500],
    ["5xx never", 503, { "cache-control": "max-age=10" }, {}, false, 0],
    [
      "404 with max-age",
      404,
      { "cache-control": "max-age=10" },
      {},
      true,
      10_000,
    ],
    [
      "authorization needs public",
      200,
      { "cache-control": "max-age=10" },
      { requestHasAuthorization: true },
      false,
      0,
    ],
    [
      "authorization + public",
      200,
      { "cache-control": "public, max-age=10" },
      { requestHasAuthorization: true },
      true,
      10_000,
    ],
    [
      "cap",
      200,
      { "cache-control": "max-age=60" },
      { maxServeAgeMs: 4_000 },
      true,
      4_000,
    ],
    ["expires 0 is expired", 200, { expires: "0" }, {}, true, 0],
  ];
  for (const [name, status, headers, defaults, storable, lifetimeMs] of cases) {
    const f = fresh(status, headers, defaults);
    assert.equal(f.storable, storable, name);
    assert.equal(f.lifetimeMs, lifetimeMs, name);
  }
});

Deno.test("computeFreshness() bounds stale windows by the live cap and must-revalidate", () => {
  const f = fresh(200, {
    "cache-control": "max-age=1, stale-while-revalidate=60, stale-if-error=60",
  }, {
    maxServeAgeMs: 4_000,
  });
  assert.equal(f.staleWhileRevalidateMs, 3_000);
  assert.equal(f.staleIfErrorMs, 3_000);
  const m = fresh(200, {
    "cache-control": "max-age=1, must-revalidate, stale-if-error=60",
  });
  assert.equal(m.staleIfErrorMs, 0);
  assert.equal(m.mustRevalidate, true);
});

Deno.test("computeFreshness() derives a lifetime from Expires minus Date", () => {
  const f = fresh(200, {
    date: "Tue, 01 Jan 2030 00:00:00 GMT",
    expires: "Tue, 01 Jan 2030 00:01:00 GMT",
  });
  assert.equal(f.lifetimeMs, 60_000);
});

Deno.test("initialAgeMs() is max(apparent age, Age + response delay) (RFC 9111 §4.2.3)", () => {
  assert.equal(initialAgeMs(new Headers({ age: "3" }), 1_000, 1_500), 3_500);
  const date = new Date(10_000).toUTCString();
  assert.equal(initialAgeMs(new Headers({ date }), 19_000, 20_000), 10_000);
});

Deno.test("computeFreshness() gives a silent response with Last-Modified 10% of its age (RFC 9111 §4.2.2), capped at a day", () => {
  const date = "Wed, 25 Nov 2026 10:00:00 GMT";
  const tenHoursAgo = "Wed, 25 Nov 2026 00:00:00 GMT";
  const f = computeFreshness(
    200,
    new Headers({ date, "last-modified": tenHoursAgo }),
    {},
  );
  assert.equal(f.storable, true);
  assert.equal(f.lifetimeMs, 3600_000);
  const old = computeFreshness(
    200,
    new Headers({ date, "last-modified": "Wed, 01 Jan 2020 00:00:00 GMT" }),
    {},
  );
  assert.equal(old.lifetimeMs, 24 * 3600_000);
  assert.equal(
    computeFreshness(200, new Headers({ date }), {}).storable,
    false,
    "no Last-Modified: no heuristic",
  );
  assert.equal(
    computeFreshness(
      500,
      new Headers({ date, "last-modified": tenHoursAgo }),
      {},
    ).storable,
    false,
  );
});

Deno.test("parseAge() takes the first member of a list and ignores invalid values (RFC 9111 §5.1)", () => {
  const cases: [string | null, number | undefined][] = [
    ["7200", 7200],
    ["7200, 0", 7200],
    ["0, 7200", 0],
    [" 12 ", 12],
    ["abc", undefined],
    ["-7200", undefined],
    ["7200.0", undefined],
    ["", undefined],
    [null, undefined],
    ["99999999999", 2_147_483_648],
  ];
  for (const [v, want] of cases) assert.equal(parseAge(v), want, String(v));
});

Deno.test("computeFreshness(): an Expires that is not an HTTP-date is a time in the past (RFC 9111 §5.3)", () => {
  const date = "Wed, 25 Nov 2026 10:00:00 GMT";
  const ok = fresh(200, { date, expires: "Wed, 25 Nov 2026 10:01:00 GMT" });
  assert.equal(ok.lifetimeMs, 60_000);
  for (
    const expires of [
      "0",
      "Wed, 25 Nov 2026 10:01:00 UTC",
      "Wed, 25 Nov 2026 1:01:00 GMT",
    ]
  ) {
    const f = fresh(200, { date, expires });
    assert.equal(f.storable, true, expires);
    assert.equal(f.lifetimeMs, 0, expires);
  }
});

Deno.test("parseTargetedCacheControl() reads CDN-Cache-Control as a Dictionary, or gives it up (RFC 9213 §2.1)", () => {
  const d = parseTargetedCacheControl(
    'max-age=60, s-maxage=30, private=("set-cookie"), must-revalidate, foobar, no-store=?0',
  )!;
  assert.equal(d.maxAgeSeconds, 60);
  assert.equal(d.sMaxAgeSeconds, 30);
  assert.equal(d.private, true, "a field-name list counts as unqualified");
  assert.equal(d.mustRevalidate, true);
  assert.equal(d.noStore, false, "?0 is false");
  assert.equal(
    parseTargetedCacheControl("max-age=99999999999")!.maxAgeSeconds,
    2_147_483_648,
  );
  for (
    const bad of [
      null,
      "",
      "max-age=10000, &&&&&",
      'max-age="10000"',
      "max-age=-1",
      "max-age=1.5",
      "private=1",
      "max-age =100",
    ]
  ) assert.equal(parseTargetedCacheControl(bad), undefined, String(bad));
});

Deno.test("computeFreshness(): a valid CDN-Cache-Control replaces Cache-Control and Expires (RFC 9213 §2.2)", () => {
  const date = "Wed, 25 Nov 2026 10:00:00 GMT";
  const expires = "Wed, 25 Nov 2026 13:00:00 GMT";
  const cc = "max-age=10000";
  assert.equal(
    fresh(200, {
      date,
      expires,
      "cache-control": cc,
      "cdn-cache-control": "private",
    })
      .storable,
    false,
  );
  assert.equal(
    fresh(200, {
      date,
      expires,
      "cache-control": cc,
      "cdn-cache-control": "no-store",
    })
      .storable,
    false,
  );
  const noCache = fresh(200, {
    date,
    expires,
    "cache-control": cc,
    "cdn-cache-control": "no-cache",
  });
  assert.deepEqual([noCache.storable, noCache.lifetimeMs], [true, 0]);
  assert.equal(
    fresh(200, {
      "cache-control": "no-store",
      "cdn-cache-control": "max-age=600",
    })
      .lifetimeMs,
    600_000,
  );
  assert.equal(
    fresh(200, { date, expires, "cdn-cache-control": "must-revalidate" })
      .reason,
    "no-lifetime",
    "Expires is ignored under a CDN-Cache-Control",
  );
  assert.equal(
    fresh(200, {
      "cache-control": "no-store",
      "cdn-cache-control": "max-age =600",
    })
      .storable,
    false,
    "an invalid CDN-Cache-Control is ignored: Cache-Control decides",
  );
});

Deno.test("computeFreshness(): a response with Set-Cookie or Authentication-Info is stored only when public", () => {
  for (const f of ["set-cookie", "set-cookie2", "authentication-info"]) {
    const no = fresh(200, { "cache-control": "max-age=60", [f]: "a=b" });
    assert.deepEqual([no.storable, no.reason], [false, "set-cookie"], f);
    assert.equal(
      fresh(200, { "cache-control": "public, max-age=60", [f]: "a=b" })
        .storable,
      true,
      f,
    );
  }
  assert.equal(
    fresh(200, {
      "cdn-cache-control": "public, max-age=60",
      "cache-control": "max-age=60",
      "set-cookie": "a=b",
    }).storable,
    true,
    "CDN-Cache-Control's public counts",
  );
});
