/**
 * RFC 9111 behaviour of a real edge (both HTTP servers, port 0) in front of a real origin,
 * through real clients (fetch, raw sockets): the cases the cache-tests suite found (see
 * CONFORMANCE.md), each asserted by what the origin saw and what the client got.
 */
import assert from "node:assert/strict";
import { startTestOrigin } from "../edge/_helpers/fixtures.ts";
import {
  rawGet,
  rawRequest,
  withEachServer,
} from "../edge/_helpers/raw_http.ts";

/** Two GETs of `path` through the edge; how many reached the origin. */
async function twice(
  port: number,
  path: string,
  origin: { count(p: string): number },
): Promise<number> {
  for (let i = 0; i < 2; i++) {
    const r = await fetch(`http://127.0.0.1:${port}${path}`);
    await r.body?.cancel();
    assert.equal(r.status, 200, path);
  }
  return origin.count(path);
}

const INVALID_EXPIRES = [
  "0",
  "Thu, 18 Aug 2050 02:01:18 UTC",
  "Thu, 18 Aug 2050 02:01:18 AEST",
  "Thu, 18 Aug 50 02:01:18 GMT",
  "Thu 18 Aug 2050 02:01:18 GMT",
  "Thu, 18  Aug  2050 02:01:18 GMT",
  "Thu, 18-Aug-2050 02:01:18 GMT",
  "Thu, 18 Aug 2050 02.01.18 GMT",
  "Thu, 18 Aug 2050 2:01:18 GMT",
];

Deno.test("edge: an invalid Expires is already expired, a valid one is reused (RFC 9111 §5.3)", async () => {
  const origin = startTestOrigin((_req, url) => {
    const i = Number(url.pathname.split("/").pop());
    return new Response("x", {
      headers: {
        expires: i < 0 ? "Thu, 18 Aug 2050 02:01:18 GMT" : INVALID_EXPIRES[i]!,
      },
    });
  });
  try {
    await withEachServer(origin.url, async (edge, server) => {
      assert.equal(
        await twice(edge.port, `/${server}/exp/-1`, origin),
        1,
        "a valid future Expires is reused",
      );
      for (let i = 0; i < INVALID_EXPIRES.length; i++) {
        assert.equal(
          await twice(edge.port, `/${server}/exp/${i}`, origin),
          2,
          `Expires: ${INVALID_EXPIRES[i]} (${server})`,
        );
      }
    });
  } finally {
    await origin.close();
  }
});

Deno.test("edge: of a list-valued Age the first member counts (RFC 9111 §5.1)", async () => {
  const ages: Record<string, [string, string][]> = {
    suffix: [["age", "7200, 0"]],
    "suffix-twoline": [["age", "7200"], ["age", "0"]],
    prefix: [["age", "0, 7200"]],
    "prefix-twoline": [["age", "0"], ["age", "7200"]],
    nonnumeric: [["age", "abc"]],
  };
  const origin = startTestOrigin((_req, url) =>
    new Response("x", {
      headers: [
        ["cache-control", "max-age=3600"],
        ...ages[url.pathname.split("/").pop()!]!,
      ],
    })
  );
  try {
    await withEachServer(origin.url, async (edge, server) => {
      const p = (k: string) => `/${server}/age/${k}`;
      assert.equal(await twice(edge.port, p("suffix"), origin), 2);
      assert.equal(await twice(edge.port, p("suffix-twoline"), origin), 2);
      assert.equal(await twice(edge.port, p("prefix"), origin), 1);
      assert.equal(await twice(edge.port, p("prefix-twoline"), origin), 1);
      assert.equal(
        await twice(edge.port, p("nonnumeric"), origin),
        1,
        "an invalid Age is ignored",
      );
      const hit = await rawGet(edge.port, p("prefix"));
      // One Age, ours: the first member (0) plus the time since the origin's Date (whole
      // seconds, so up to 1 s more).
      const age = hit.fields.get("age") ?? [];
      assert.equal(age.length, 1);
      assert.ok(Number(age[0]) <= 1, `Age ${age[0]}`);
    });
  } finally {
    await origin.close();
  }
});

Deno.test("edge: CDN-Cache-Control decides over Cache-Control and Expires (RFC 9213)", async () => {
  const later = new Date(Date.now() + 10_000_000).toUTCString();
  const cases: Record<string, [string, string][]> = {
    "cdn-private": [
      ["cdn-cache-control", "private"],
      ["cache-control", "max-age=10000"],
      ["expires", later],
    ],
    "cdn-no-cache": [
      ["cdn-cache-control", "no-cache"],
      ["cache-control", "max-age=10000"],
      ["expires", later],
    ],
    "cdn-no-store-cc-fresh": [
      ["cache-control", "max-age=10000"],
      ["cdn-cache-control", "no-store"],
      ["expires", later],
    ],
    "cdn-fresh-cc-nostore": [
      ["cache-control", "no-store"],
      ["cdn-cache-control", "max-age=10000"],
    ],
    "cdn-invalid": [
      ["cdn-cache-control", "max-age=10000, &&&&&"],
      ["cache-control", "no-store"],
    ],
  };
  const origin = startTestOrigin((_req, url) =>
    new Response("x", { headers: cases[url.pathname.split("/").pop()!]! })
  );
  try {
    await withEachServer(origin.url, async (edge, server) => {
      const n = (k: string) => twice(edge.port, `/${server}/cdn/${k}`, origin);
      assert.equal(await n("cdn-private"), 2);
      assert.equal(await n("cdn-no-cache"), 2);
      assert.equal(await n("cdn-no-store-cc-fresh"), 2);
      assert.equal(await n("cdn-fresh-cc-nostore"), 1);
      assert.equal(await n("cdn-invalid"), 2, "an invalid field is ignored");
      const hit = await rawGet(
        edge.port,
        `/${server}/cdn/cdn-fresh-cc-nostore`,
      );
      assert.deepEqual(
        hit.fields.get("cdn-cache-control"),
        ["max-age=10000"],
        "passed on to the next CDN tier",
      );
      assert.deepEqual(hit.fields.get("cache-control"), ["no-store"]);
    });
  } finally {
    await origin.close();
  }
});

/**
 * An origin on a raw socket: answers every request with `head` and `body` and closes (so the
 * fields are exactly these, which Deno.serve would not allow for `Connection`).
 */
function startRawOrigin(head: string, body: string, interim = "") {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let requests = 0;
  const conns = new Set<Deno.Conn>();
  const served = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      void (async () => {
        try {
          const buf = new Uint8Array(16384);
          let text = "";
          while (!text.includes("\r\n\r\n")) {
            const n = await conn.read(buf);
            if (n === null) return;
            text += new TextDecoder().decode(buf.subarray(0, n));
          }
          if (!text.startsWith("GET /healthz")) requests++;
          await conn.write(
            new TextEncoder().encode(
              `${interim}HTTP/1.1 200 OK\r\n${head}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
            ),
          );
        } catch {
          // the edge went away
        } finally {
          conns.delete(conn);
          conn.close();
        }
      })();
    }
  })();
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    get requests() {
      return requests;
    },
    async close() {
      listener.close();
      for (const c of conns) c.close();
      await served.catch(() => {});
    },
  };
}

Deno.test("edge: fields named in Connection are neither stored nor forwarded, either way (RFC 9110 §7.6.1)", async () => {
  const origin = startRawOrigin(
    "Connection: a, b, close\r\na: 1\r\nb: 2\r\nc: 3\r\nCache-Control: max-age=3600",
    "body",
  );
  const viewerSide = startTestOrigin(() => new Response("ok"));
  try {
    await withEachServer(origin.url, async (edge, server) => {
      const before = origin.requests;
      for (const expect of ["MISS", "HIT"]) {
        const r = await rawGet(edge.port, `/${server}/conn`);
        assert.equal(r.code, 200);
        assert.deepEqual(r.fields.get("x-cache"), [expect]);
        assert.deepEqual(r.fields.get("c"), ["3"], expect);
        assert.equal(r.fields.get("a"), undefined, `a (${expect}, ${server})`);
        assert.equal(r.fields.get("b"), undefined, `b (${expect}, ${server})`);
      }
      assert.equal(origin.requests - before, 1, "the second one was a hit");
    });
    // A viewer's Connection options stay on its connection too.
    await withEachServer(viewerSide.url, async (edge, server) => {
      const r = await rawGet(
        edge.port,
        `/${server}/req-conn`,
        "Connection: x-hop\r\nx-hop: 1\r\nx-end: 2\r\n",
      );
      assert.equal(r.code, 200);
      const seen = viewerSide.requests.at(-1)!;
      assert.equal(seen.path, `/${server}/req-conn`);
      assert.equal(seen.headers.get("x-end"), "2");
      assert.equal(seen.headers.get("x-hop"), null, server);
    });
  } finally {
    await origin.close();
    await viewerSide.close();
  }
});

Deno.test("edge: one viewer's Set-Cookie never reaches another (not stored without public, stripped from stored and shared copies)", async () => {
  let cookies = 0;
  const origin = startTestOrigin(async (_req, url) => {
    if (url.pathname.includes("slow")) {
      await new Promise((r) => setTimeout(r, 300));
    }
    return new Response("body", {
      headers: [
        [
          "cache-control",
          url.pathname.includes("public") ? "public, max-age=60" : "max-age=60",
        ],
        ["set-cookie", `session=${++cookies}; Max-Age=3600`],
        ["authentication-info", `nextnonce="${cookies}"`],
      ],
    });
  });
  const cookieOf = (r: Response) => r.headers.get("set-cookie");
  try {
    await withEachServer(origin.url, async (edge, server) => {
      const url = (p: string) => `http://127.0.0.1:${edge.port}/${server}${p}`;
      // Without `public`: each viewer's request reaches the origin and gets its own cookie.
      const a = await fetch(url("/private-ish"));
      const b = await fetch(url("/private-ish"));
      await a.body?.cancel();
      await b.body?.cancel();
      assert.match(cookieOf(a)!, /^session=\d+/);
      assert.match(cookieOf(b)!, /^session=\d+/);
      assert.notEqual(cookieOf(a), cookieOf(b));
      assert.equal(b.headers.get("x-cache"), "MISS");
      assert.equal(origin.count(`/${server}/private-ish`), 2);
      // With `public`: stored, but the copy everyone else gets has no cookie.
      const c = await fetch(url("/public"));
      await c.body?.cancel();
      assert.match(cookieOf(c)!, /^session=\d+/, "the requester's own");
      assert.ok(c.headers.get("authentication-info"));
      for (let i = 0; i < 2; i++) {
        const hit = await rawGet(edge.port, `/${server}/public`);
        assert.deepEqual(hit.fields.get("x-cache"), ["HIT"]);
        assert.equal(hit.fields.get("set-cookie"), undefined, server);
        assert.equal(hit.fields.get("authentication-info"), undefined);
      }
      assert.equal(origin.count(`/${server}/public`), 1);
      // Collapsed onto one origin fetch: only the request that started it gets the cookie.
      const herd = await Promise.all(
        Array.from({ length: 6 }, () => fetch(url("/public-slow"))),
      );
      for (const r of herd) await r.body?.cancel();
      assert.equal(origin.count(`/${server}/public-slow`), 1);
      assert.equal(
        herd.filter((r) => cookieOf(r) !== null).length,
        1,
        `one cookie in the herd (${server})`,
      );
      // Not shareable: collapsed requests fetch on their own, each with its own cookie.
      const own = await Promise.all(
        Array.from({ length: 4 }, () => fetch(url("/slow"))),
      );
      for (const r of own) await r.body?.cancel();
      const mine = own.map(cookieOf);
      assert.equal(new Set(mine).size, 4, `${mine} (${server})`);
    });
  } finally {
    await origin.close();
  }
});

Deno.test("edge: no spelling of a URL chooses the body another spelling gets (the origin is sent the key)", async () => {
  const seen: string[] = [];
  const origin = startTestOrigin((_req, url) => {
    seen.push(url.search);
    const kind = url.pathname.split("/")[2];
    const body = kind === "token"
      ? `token=${url.searchParams.get("token")}`
      : kind === "dup"
      ? `a=${url.searchParams.get("a")}` // many origins read the first value
      : `raw=${url.search}`;
    return new Response(body, { headers: { "cache-control": "max-age=60" } });
  });
  const body = async (port: number, path: string) => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`);
    return await r.text();
  };
  // Pairs of spellings that share a key.
  const pairs: [string, string][] = [
    ["?q=%", "?q=%25"],
    ["?q=x;y", "?q=x%3By"],
    ["?q=a%20b", "?q=a+b"],
    ["?q", "?q="],
    ["?b=1&a=2", "?a=2&b=1"],
  ];
  try {
    await withEachServer(origin.url, async (edge, server) => {
      const p = edge.port;
      // A viewer's token is not in the key: it must not choose the body others get.
      assert.equal(
        await body(p, `/${server}/token/x?token=EVIL`),
        "token=EVIL",
      );
      assert.equal(await body(p, `/${server}/token/x`), "token=null");
      assert.equal(
        await body(p, `/${server}/token/x?token=OTHER`),
        "token=null",
      );
      // A repeated parameter keeps its order, in the key and upstream.
      assert.equal(await body(p, `/${server}/dup/x?a=evil&a=good`), "a=evil");
      assert.equal(await body(p, `/${server}/dup/x?a=good&a=evil`), "a=good");
      for (const [i, [s1, s2]] of pairs.entries()) {
        // Whichever spelling comes first, each one gets the same body.
        const first = [await body(p, `/${server}/raw/${i}a${s1}`)];
        first.push(await body(p, `/${server}/raw/${i}a${s2}`));
        const second = [await body(p, `/${server}/raw/${i}b${s2}`)];
        second.push(await body(p, `/${server}/raw/${i}b${s1}`));
        assert.deepEqual(
          first,
          second.toReversed(),
          `${s1} / ${s2} (${server})`,
        );
        assert.equal(first[0], first[1]);
      }
    });
    // What reached the origin is always a normalised query (plus credentials at the end).
    for (const q of seen) {
      const re = new URLSearchParams(q).toString();
      assert.ok(
        q === "" || q === `?${re}`,
        `the origin saw ${q}, not its normal form ?${re}`,
      );
    }
  } finally {
    await origin.close();
  }
});

Deno.test("edge: every 200 hit says Accept-Ranges: bytes, GET as HEAD, small and large, prebuilt bytes or not", async () => {
  const big = "b".repeat(100_000);
  const origin = startTestOrigin((_req, url) =>
    new Response(url.pathname.endsWith("big") ? big : "small", {
      headers: { "cache-control": "max-age=60" },
    })
  );
  try {
    await withEachServer(origin.url, async (edge, server) => {
      for (
        const p of [`/${server}/small`, `/${server}/big`, `/${server}/q?x=1`]
      ) {
        const miss = await rawGet(edge.port, p);
        assert.deepEqual(
          miss.fields.get("accept-ranges"),
          ["bytes"],
          `miss ${p}`,
        );
        for (const method of ["GET", "HEAD"]) {
          const hit = await rawRequest(
            edge.port,
            `${method} ${p} HTTP/1.1\r\nHost: 127.0.0.1`,
          );
          assert.deepEqual(
            hit.fields.get("x-cache"),
            ["HIT"],
            `${method} ${p}`,
          );
          assert.deepEqual(
            hit.fields.get("accept-ranges"),
            ["bytes"],
            `${method} hit ${p} (${server})`,
          );
        }
        const range = await rawGet(edge.port, p, "Range: bytes=0-1\r\n");
        assert.equal(range.code, 206, "and it does serve ranges");
      }
    });
  } finally {
    await origin.close();
  }
});

Deno.test("edge: a 1xx interim response is never stored nor its fields reused; the final one is (neither server relays 1xx)", async () => {
  const origin = startRawOrigin(
    "Cache-Control: max-age=3600\r\nConnection: close",
    "final",
    "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\nX-Interim: 1\r\n\r\n",
  );
  try {
    await withEachServer(origin.url, async (edge, server) => {
      const before = origin.requests;
      for (const expect of ["MISS", "HIT"]) {
        const r = await rawGet(edge.port, `/${server}/interim`);
        assert.equal(r.code, 200, expect);
        assert.equal(new TextDecoder().decode(r.body), "final");
        assert.deepEqual(r.fields.get("x-cache"), [expect]);
        assert.equal(r.fields.get("x-interim"), undefined, "no 1xx field");
        assert.equal(r.fields.get("link"), undefined);
        // Deno's fetch (our upstream client) never hands a 1xx over, and neither Deno.serve
        // nor our HTTP/1.1 server can send one: a limit, said in CONFORMANCE.md.
        assert.deepEqual(r.interim, [], server);
      }
      assert.equal(origin.requests - before, 1);
    });
  } finally {
    await origin.close();
  }
});

Deno.test("edge: unsafe methods are answered 405 (unknown ones 501 on the HTTP/1.1 server) and never reach the origin", async () => {
  const origin = startTestOrigin(() =>
    new Response("x", { headers: { "cache-control": "max-age=60" } })
  );
  try {
    await withEachServer(origin.url, async (edge, server) => {
      await rawGet(edge.port, `/${server}/doc`); // stored
      const before = origin.total;
      for (
        const method of [
          "POST",
          "PUT",
          "DELETE",
          "PATCH",
          "OPTIONS",
          "M-SEARCH",
        ]
      ) {
        const r = await rawRequest(
          edge.port,
          `${method} /${server}/doc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0`,
        );
        // A method the server does not know at all is 501 on Meridian's own server (RFC 9110
        // §15.6.2, before any handler runs); Deno.serve hands it to the edge, which says 405.
        if (method === "M-SEARCH" && server === "http1") {
          assert.equal(r.code, 501, `${method} (${server})`);
          continue;
        }
        assert.equal(r.code, 405, `${method} (${server})`);
        assert.deepEqual(r.fields.get("allow"), ["GET, HEAD"]);
      }
      // The origin's own admin-looking paths are not reachable with a write either.
      const admin = await rawRequest(
        edge.port,
        `POST /admin/tokens HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0`,
      );
      assert.equal(
        admin.code,
        403,
        "the edge's own admin gate (no token configured)",
      );
      assert.equal(origin.total, before, "nothing reached the origin");
      const still = await rawGet(edge.port, `/${server}/doc`);
      assert.deepEqual(
        still.fields.get("x-cache"),
        ["HIT"],
        "nor was it invalidated",
      );
    });
  } finally {
    await origin.close();
  }
});
