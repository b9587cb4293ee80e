/**
 * The edge over real sockets: a real origin (Deno.serve on 127.0.0.1:0) and the edge from
 * `startEdge`, driven with fetch.
 */
import assert from "node:assert/strict";
import { InProcessPurgeBus } from "../../edge/admin/purge.ts";
import { isLiveFlvPath } from "../../edge/app.ts";
import {
  edgeConfig,
  startTestEdge,
  startTestOrigin,
} from "./_helpers/fixtures.ts";

const SEGMENT_BYTES = 256 * 1024;
function segmentBytes(): Uint8Array {
  const b = new Uint8Array(SEGMENT_BYTES);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

Deno.test("edge: 200 concurrent cold requests make exactly one origin fetch; every body is whole and identical", async () => {
  const seg = segmentBytes();
  const origin = startTestOrigin(() => {
    // Stream the segment in 16 KiB pieces over ~300 ms so all 200 requests overlap the fetch.
    let off = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(c) {
        if (off >= seg.length) return c.close();
        await new Promise((r) => setTimeout(r, 20));
        c.enqueue(seg.slice(off, off + 16 * 1024));
        off += 16 * 1024;
      },
    });
    return new Response(body, {
      headers: {
        "content-type": "video/mp2t",
        "content-length": String(seg.length),
        "cache-control": "max-age=600",
      },
    });
  });
  const edge = await startTestEdge(edgeConfig([origin.url]));
  try {
    const results = await Promise.all(Array.from({ length: 200 }, async () => {
      const res = await fetch(`http://127.0.0.1:${edge.port}/live/s/seg-1.ts`);
      return {
        status: res.status,
        cs: res.headers.get("cache-status")!,
        body: new Uint8Array(await res.arrayBuffer()),
      };
    }));
    assert.equal(origin.count("/live/s/seg-1.ts"), 1);
    for (const r of results) {
      assert.equal(r.status, 200);
      assert.equal(r.body.length, seg.length);
      assert.deepEqual(r.body, seg);
    }
    const leaders = results.filter((r) =>
      r.cs === "Meridian; fwd=miss; fwd-status=200; stored"
    );
    const collapsed = results.filter((r) => r.cs.endsWith("; collapsed"));
    assert.equal(leaders.length, 1);
    assert.equal(
      leaders.length + collapsed.length +
        results.filter((r) => r.cs.includes("hit")).length,
      200,
    );
    assert.ok(collapsed.length > 150, `collapsed ${collapsed.length}`);
    const after = await fetch(`http://127.0.0.1:${edge.port}/live/s/seg-1.ts`);
    await after.body?.cancel();
    assert.equal(after.headers.get("x-cache"), "HIT");
  } finally {
    await edge.close();
    await origin.close();
  }
});

Deno.test("edge: collapsed requests receive the body as it arrives, before the origin finishes", async () => {
  const gate = Promise.withResolvers<void>();
  const origin = startTestOrigin(() => {
    const body = new ReadableStream<Uint8Array>({
      async start(c) {
        c.enqueue(new Uint8Array(1000).fill(1));
        await gate.promise;
        c.enqueue(new Uint8Array(1000).fill(2));
        c.close();
      },
    });
    return new Response(body, {
      headers: { "cache-control": "max-age=60", "content-length": "2000" },
    });
  });
  const edge = await startTestEdge(edgeConfig([origin.url]));
  try {
    const url = `http://127.0.0.1:${edge.port}/vod/slow.mp4`;
    const [a, b] = await Promise.all([fetch(url), fetch(url)]);
    const ra = a.body!.getReader();
    const rb = b.body!.getReader();
    const firstA = await ra.read();
    const firstB = await rb.read();
    assert.equal(
      firstA.value?.[0],
      1,
      "leader got the first bytes before the origin finished",
    );
    assert.equal(firstB.value?.[0], 1, "collapsed request too");
    assert.match(
      b.headers.get("cache-status")! + a.headers.get("cache-status")!,
      /collapsed/,
    );
    gate.resolve();
    const drain = async (
      r: ReadableStreamDefaultReader<Uint8Array>,
      n: number,
    ) => {
      for (let x = await r.read(); !x.done; x = await r.read()) {
        n += x.value.byteLength;
      }
      return n;
    };
    assert.equal(await drain(ra, firstA.value!.byteLength), 2000);
    assert.equal(await drain(rb, firstB.value!.byteLength), 2000);
    assert.equal(origin.count("/vod/slow.mp4"), 1);
  } finally {
    gate.resolve();
    await edge.close();
    await origin.close();
  }
});

Deno.test("edge: wrong admin tokens from one address lock out wrong tokens only, never the admin's right one", async () => {
  const origin = startTestOrigin(() => new Response("x"));
  const edge = await startTestEdge(
    edgeConfig([origin.url], { adminToken: "s3cret-admin-token" }),
  );
  const post = async (auth: string) => {
    const r = await fetch(`http://127.0.0.1:${edge.port}/admin/purge`, {
      method: "POST",
      headers: { authorization: auth },
      body: JSON.stringify({ all: true }),
    });
    return {
      status: r.status,
      retryAfter: r.headers.get("retry-after"),
      body: await r.text(),
    };
  };
  try {
    // Someone else on 127.0.0.1 guesses (DEFAULT_ADMIN_LOCKOUT: 5 within 60 s, then 300 s).
    for (let i = 0; i < 5; i++) {
      assert.equal((await post(`Bearer guess-${i}`)).status, 401);
    }
    const guess = await post("Bearer guess-5");
    assert.equal(guess.status, 429);
    assert.equal(guess.retryAfter, "300");
    // The admin, from the same address, is not locked out.
    const admin = await post("Bearer s3cret-admin-token");
    assert.equal(admin.status, 200, admin.body);
    assert.deepEqual(JSON.parse(admin.body), { removed: 0 });
    assert.equal((await post("Bearer guess-6")).status, 429, "the lock stays");
  } finally {
    await edge.close();
    await origin.close();
  }
});

Deno.test("edge: admin API is 403 without a token configured, 401 with a wrong one", async () => {
  const origin = startTestOrigin(() => new Response("x"));
  const off = await startTestEdge(edgeConfig([origin.url]));
  const on = await startTestEdge(
    edgeConfig([origin.url], { adminToken: "s3cret-admin-token" }),
  );
  try {
    const post = (port: number, auth?: string) =>
      fetch(`http://127.0.0.1:${port}/admin/purge`, {
        method: "POST",
        headers: auth ? { authorization: auth } : {},
        body: JSON.stringify({ all: true }),
      });
    const r1 = await post(off.port, "Bearer anything");
    await r1.body?.cancel();
    assert.equal(r1.status, 403);
    const r2 = await post(on.port, "Bearer wrong");
    await r2.body?.cancel();
    assert.equal(r2.status, 401);
    assert.match(r2.headers.get("www-authenticate")!, /Bearer/);
    const r3 = await post(on.port);
    await r3.body?.cancel();
    assert.equal(r3.status, 401);
    const r4 = await post(on.port, "Bearer s3cret-admin-token");
    assert.equal(r4.status, 200);
    assert.deepEqual(await r4.json(), { removed: 0 });
    const bad = await fetch(`http://127.0.0.1:${on.port}/admin/purge`, {
      method: "POST",
      headers: { authorization: "Bearer s3cret-admin-token" },
      body: JSON.stringify({ prefixes: ["no-slash"] }),
    });
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error, /prefixes/);
  } finally {
    await off.close();
    await on.close();
    await origin.close();
  }
});

Deno.test("edge: purge by URL, prefix, stream and all; purges reach other edges over the bus; prefetch warms", async () => {
  const origin = startTestOrigin((_r, _u, n) =>
    new Response(`v${n}`, { headers: { "cache-control": "max-age=600" } })
  );
  const bus = new InProcessPurgeBus();
  const token = "tok-0123456789abcdef";
  const e1 = await startTestEdge(
    edgeConfig([origin.url], { adminToken: token }),
    { purgeBus: bus },
  );
  const e2 = await startTestEdge(
    edgeConfig([origin.url], { adminToken: token }),
    { purgeBus: bus },
  );
  const get = async (port: number, path: string) => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`);
    return { x: r.headers.get("x-cache"), body: await r.text() };
  };
  const admin = async (port: number, op: string, body: unknown) => {
    const r = await fetch(`http://127.0.0.1:${port}/admin/${op}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
      },
      body: JSON.stringify(body),
    });
    assert.equal(r.status, 200);
    return await r.json();
  };
  const paths = [
    "/live/a.m3u8",
    "/live/a/1.ts",
    "/live/b/1.ts",
    "/vod/m/x.mp4",
    "/vod/m/y.mp4",
  ];
  try {
    const pre = await admin(e1.port, "prefetch", { urls: paths });
    assert.equal(pre.results.length, 5);
    assert.ok(pre.results.every((r: { status: number }) => r.status === 200));
    for (const p of paths) assert.equal((await get(e1.port, p)).x, "HIT", p);
    for (const p of paths) await get(e2.port, p);
    for (const p of paths) assert.equal((await get(e2.port, p)).x, "HIT", p);

    assert.equal(
      (await admin(e1.port, "purge", {
        urls: ["http://any.host/vod/m/x.mp4?token=abc"],
      })).removed,
      1,
    );
    assert.equal((await get(e1.port, "/vod/m/x.mp4")).x, "MISS");
    assert.equal(
      (await get(e2.port, "/vod/m/x.mp4")).x,
      "MISS",
      "purge reached the other edge",
    );

    await admin(e1.port, "purge", { prefixes: ["/vod/"] });
    assert.equal((await get(e2.port, "/vod/m/y.mp4")).x, "MISS");

    await admin(e2.port, "purge", { streams: ["live/a"] });
    assert.equal((await get(e1.port, "/live/a.m3u8")).x, "MISS");
    assert.equal((await get(e1.port, "/live/a/1.ts")).x, "MISS");
    assert.equal(
      (await get(e1.port, "/live/b/1.ts")).x,
      "HIT",
      "other streams untouched",
    );

    await admin(e1.port, "purge", { all: true });
    assert.equal((await get(e2.port, "/live/b/1.ts")).x, "MISS");
  } finally {
    await e1.close();
    await e2.close();
    await origin.close();
  }
});

Deno.test("edge: a dead origin is skipped and marked down; /healthz and /metrics report it", async () => {
  // Bind and release a port so that nothing listens there.
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = (l.addr as Deno.NetAddr).port;
  l.close();
  const origin = startTestOrigin(() =>
    new Response("alive", { headers: { "cache-control": "max-age=60" } })
  );
  const edge = await startTestEdge(
    edgeConfig([`http://127.0.0.1:${deadPort}`, origin.url]),
  );
  try {
    for (let i = 0; i < 4; i++) {
      const r = await fetch(`http://127.0.0.1:${edge.port}/x/${i}`);
      assert.equal(r.status, 200);
      assert.equal(await r.text(), "alive");
    }
    const health = await (await fetch(`http://127.0.0.1:${edge.port}/healthz`))
      .json();
    assert.equal(health.role, "edge");
    assert.deepEqual(
      health.origins.map((o: { up: boolean }) => o.up),
      [false, true],
    );
    assert.equal(typeof health.load.egressBitsPerSecond, "number");
    assert.equal(typeof health.load.hitRatio, "number");
    assert.equal(health.load.viewers, 0);
    const metrics = await (await fetch(`http://127.0.0.1:${edge.port}/metrics`))
      .text();
    assert.match(
      metrics,
      new RegExp(
        `meridian_edge_origin_up\\{origin="http://127.0.0.1:${deadPort}"\\} 0`,
      ),
    );
    assert.match(metrics, /meridian_edge_requests_total\{cache="miss"\} 4/);
    assert.match(
      metrics,
      new RegExp(
        `meridian_edge_origin_fetch_failures_total\\{origin="http://127.0.0.1:${deadPort}",reason="connect"\\} 1`,
      ),
    );
    assert.match(
      metrics,
      /meridian_edge_origin_fetch_duration_seconds_count\{origin="http:\/\/127\.0\.0\.1:\d+"\} \d/,
    );
    assert.match(metrics, /meridian_edge_cache_bytes\{tier="memory"\} \d+/);
  } finally {
    await edge.close();
    await origin.close();
  }
});

Deno.test("edge: active health checks take a failing origin down and bring it back after rise", async () => {
  let healthy = false;
  const flaky = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, (req) => {
    if (new URL(req.url).pathname === "/healthz") {
      return new Response(healthy ? "ok" : "sick", {
        status: healthy ? 200 : 503,
      });
    }
    return new Response("x");
  });
  const edge = await startTestEdge(
    edgeConfig([`http://127.0.0.1:${flaky.addr.port}`], {
      upstream: {
        healthCheck: { intervalMs: 50, timeoutMs: 500, rise: 2, fall: 2 },
        slowStartMs: 60_000,
      },
    }),
    { healthChecks: true },
  );
  const until = async (cond: () => boolean) => {
    const deadline = Date.now() + 5_000;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error("condition not reached");
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  try {
    const id = `http://127.0.0.1:${flaky.addr.port}`;
    await until(() => !edge.health.isUp(id));
    healthy = true;
    await until(() => edge.health.isUp(id));
    const f = edge.health.weightFactor(id);
    assert.ok(f > 0 && f < 0.5, `slow start factor ${f}`);
  } finally {
    await edge.close();
    await flaky.shutdown();
  }
});

Deno.test("isLiveFlvPath() routes /{app}/{stream}.flv to the fan-out, never VOD", () => {
  assert.equal(isLiveFlvPath("/live/demo.flv"), true);
  assert.equal(isLiveFlvPath("/vod/movie.flv"), false);
  assert.equal(isLiveFlvPath("/live/a/b.flv"), false);
  assert.equal(isLiveFlvPath("/live/..flv"), false);
});

Deno.test("edge: a segment beside its playlist from an origin that sends no Cache-Control (nginx static) is coalesced and cached", async () => {
  const seg = segmentBytes();
  const origin = startTestOrigin(async () => {
    await new Promise((r) => setTimeout(r, 100));
    return new Response(seg.slice(), {
      headers: {
        "last-modified": new Date(Date.now() - 3600_000).toUTCString(),
        "content-type": "video/mp2t",
      },
    });
  });
  const edge = await startTestEdge(edgeConfig([origin.url]));
  try {
    const url = `http://127.0.0.1:${edge.port}/live/seg00003.ts`;
    const bodies = await Promise.all(Array.from({ length: 50 }, async () => {
      const r = await fetch(url);
      return new Uint8Array(await r.arrayBuffer()).byteLength;
    }));
    assert.ok(bodies.every((n) => n === seg.length));
    assert.equal(
      origin.count("/live/seg00003.ts"),
      1,
      "one origin fetch for the herd",
    );
    const hit = await fetch(url);
    await hit.body?.cancel();
    assert.equal(hit.headers.get("x-cache"), "HIT");
    assert.equal(origin.count("/live/seg00003.ts"), 1);
  } finally {
    await edge.close();
    await origin.close();
  }
});

/** One raw HTTP/1.1 exchange: the response's head fields (lower-case) and body. */
async function rawGet(
  port: number,
  path: string,
  extra = "",
): Promise<
  { status: string; fields: Map<string, string[]>; body: Uint8Array }
> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const parts: Uint8Array[] = [];
  try {
    await conn.write(
      new TextEncoder().encode(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}Connection: close\r\n\r\n`,
      ),
    );
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      parts.push(buf.slice(0, n));
    }
  } finally {
    conn.close();
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  let end = 0;
  while (
    end + 3 < all.length &&
    !(all[end] === 13 && all[end + 1] === 10 && all[end + 2] === 13 &&
      all[end + 3] === 10)
  ) end++;
  const lines = new TextDecoder().decode(all.subarray(0, end)).split("\r\n");
  const fields = new Map<string, string[]>();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(":");
    const k = l.slice(0, i).toLowerCase();
    fields.set(k, [...(fields.get(k) ?? []), l.slice(i + 1).trim()]);
  }
  return { status: lines[0]!, fields, body: all.subarray(end + 4) };
}

Deno.test("edge: a plain hit written from prebuilt bytes carries what the Request path sends (small and 2 MiB objects; Range still 206)", async () => {
  const playlist = new TextEncoder().encode(
    "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg1.ts\n",
  );
  const big = new Uint8Array(2 * 1024 * 1024).map((_, i) => (i * 13) & 0xff);
  const origin = startTestOrigin((_req, url) =>
    new Response(
      (url.pathname.endsWith(".ts") ? big : playlist).slice(),
      {
        headers: {
          "content-type": url.pathname.endsWith(".ts")
            ? "video/mp2t"
            : "application/vnd.apple.mpegurl",
          "cache-control": "max-age=60",
          "access-control-allow-origin": "*",
        },
      },
    )
  );
  const http1 = await startTestEdge(edgeConfig([origin.url]));
  const deno = await startTestEdge({
    ...edgeConfig([origin.url]),
    httpServer: "deno",
  });
  try {
    for (
      const [path, body] of [["/live/a.m3u8", playlist], [
        "/live/a/seg1.ts",
        big,
      ]] as const
    ) {
      await rawGet(http1.port, path); // fill
      await rawGet(deno.port, path);
      const hits = http1.stats.outcomes.hit;
      const a = await rawGet(http1.port, path);
      assert.equal(http1.stats.outcomes.hit, hits + 1, "counted as a hit");
      const b = await rawGet(deno.port, path);
      assert.equal(a.status, "HTTP/1.1 200 OK");
      assert.deepEqual(a.body, body);
      assert.deepEqual(b.body, body);
      for (
        const k of [
          "content-type",
          "cache-control",
          "access-control-allow-origin",
          "x-cache",
          "content-length",
        ]
      ) {
        assert.deepEqual(a.fields.get(k), b.fields.get(k), k);
      }
      assert.deepEqual(a.fields.get("x-cache"), ["HIT"]);
      assert.match(
        a.fields.get("cache-status")![0]!,
        /^Meridian; hit; ttl=\d+$/,
      );
      assert.match(a.fields.get("age")![0]!, /^\d+$/);
      assert.equal(a.fields.get("date")?.length, 1, "one Date field");
      assert.equal(origin.count(path), 2, "one fill per edge");
    }
    // Range and conditionals are not answered by the byte path: 206 from the same object.
    const r = await rawGet(
      http1.port,
      "/live/a/seg1.ts",
      "Range: bytes=10-19\r\n",
    );
    assert.equal(r.status, "HTTP/1.1 206 Partial Content");
    assert.deepEqual(r.body, big.subarray(10, 20));
    assert.equal(origin.count("/live/a/seg1.ts"), 2);
  } finally {
    await http1.close();
    await deno.close();
    await origin.close();
  }
});
