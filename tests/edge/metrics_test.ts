/**
 * The edge's request-time series and access log, through a real edge (`startEdge`, Meridian's
 * HTTP/1.1 server) in front of a real origin: misses, prebuilt-bytes hits, coalesced requests,
 * a live FLV viewer's kind, the purge lag between two edges.
 */
import assert from "node:assert/strict";
import { InProcessPurgeBus } from "../../edge/admin/purge.ts";
import { cacheResultOf, EDGE_TIME_EVERY } from "../../edge/metrics.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { parseCombinedLine, parseJsonLines } from "../_helpers/access_lines.ts";
import { waitFor } from "../_helpers/peers.ts";
import {
  hasPromtool,
  parsePromText,
  promtoolCheckMetrics,
  sumOf,
} from "../_helpers/prom_text.ts";
import {
  edgeConfig,
  startTestEdge,
  startTestOrigin,
} from "./_helpers/fixtures.ts";

Deno.test("cacheResultOf() names every Cache-Status the edge sends", () => {
  const cases: [string | null, string][] = [
    ["Meridian; hit; ttl=5", "hit"],
    ["Meridian; hit; ttl=0; detail=stale-while-revalidate", "stale"],
    [
      "Meridian; fwd=stale; ttl=-3; detail=stale-if-error-upstream-error",
      "stale",
    ],
    ["Meridian; fwd=miss; fwd-status=200; stored", "miss"],
    ["Meridian; fwd=miss; fwd-status=200; stored; collapsed", "collapsed"],
    ["Meridian; fwd=stale; fwd-status=304", "revalidated"],
    ["Meridian; fwd=miss; fwd-status=200; detail=private", "pass"],
    ["Meridian; fwd=request; fwd-status=302; detail=new-session", "pass"],
    ["Meridian; fwd=bypass", "pass"],
    ["Meridian; fwd=miss; detail=upstream-error", "error"],
    ["Meridian; fwd=miss; detail=timeout; collapsed", "error"],
    [null, "none"],
  ];
  for (const [cs, want] of cases) {
    assert.equal(cacheResultOf(cs), want, String(cs));
  }
});

Deno.test("edge: responses by cache result and status class, TTFB and total time per result, one access line per request", async () => {
  const dir = await Deno.makeTempDir({ prefix: "meridian-edge-metrics-" });
  const logPath = `${dir}/edge.log`;
  const gate = Promise.withResolvers<void>();
  const origin = startTestOrigin(async (_req, url) => {
    if (url.pathname === "/slow.ts") await gate.promise;
    if (url.pathname === "/gone.ts") return new Response("no", { status: 404 });
    return new Response("x".repeat(1000), {
      headers: { "cache-control": "max-age=60", "content-length": "1000" },
    });
  });
  const metrics = new MetricsRegistry();
  const edge = await startTestEdge({
    ...edgeConfig([origin.url]),
    accessLog: { enabled: true, format: "combined", destination: logPath },
  }, { metrics });
  const base = `http://127.0.0.1:${edge.port}`;
  const get = async (path: string, headers: HeadersInit = {}) => {
    const r = await fetch(base + path, { headers });
    await r.body?.cancel();
    return r;
  };
  try {
    await get("/a.ts"); // miss
    await get("/a.ts"); // hit: the prebuilt-bytes fast path
    await get("/a.ts", {
      "user-agent": "ua/1",
      referer: "http://r/?token=REF",
    });
    await get("/a.ts?token=SECRET"); // hit through the handler (a query)
    await get("/gone.ts"); // 404: heuristically cacheable, stored (RFC 9111 §4.2.2)
    // Three requests on a cold object: one fetch, two coalesced waiters.
    const cold = Promise.all([
      get("/slow.ts"),
      get("/slow.ts"),
      get("/slow.ts"),
    ]);
    await waitFor("two waiters", () => edge.cache.collapsedWaiters >= 2);
    gate.resolve();
    await cold;
    await get("/metrics");

    const s = parsePromText(metrics.render());
    const resp = (cache: string, cls: string) =>
      sumOf(s, "meridian_edge_responses_total", { cache, status_class: cls });
    assert.equal(resp("miss", "2xx"), 2, "/a.ts and /slow.ts");
    assert.equal(resp("hit", "2xx"), 3);
    assert.equal(resp("miss", "4xx"), 1);
    assert.equal(resp("collapsed", "2xx"), 2);
    assert.equal(
      sumOf(s, "meridian_edge_ttfb_seconds_count", { cache: "hit" }),
      3,
    );
    assert.equal(
      sumOf(s, "meridian_edge_response_duration_seconds_count", {
        cache: "miss",
      }),
      3,
      "/a.ts, /gone.ts, /slow.ts",
    );
    // Hits are answered within the first bucket's reach of a second; the held miss is not.
    assert.equal(
      sumOf(s, "meridian_edge_ttfb_seconds_bucket", { cache: "hit", le: "1" }),
      3,
    );
    assert.equal(
      sumOf(s, "meridian_edge_origin_fetch_duration_seconds_count", {
        origin: origin.url,
      }),
      3,
      "/a.ts, /gone.ts, /slow.ts",
    );
    assert.equal(sumOf(s, "meridian_edge_collapsed_waiters"), 0);
    assert.equal(
      sumOf(s, "meridian_edge_cache_evictions_total", { tier: "memory" }),
      0,
    );
    if (await hasPromtool()) {
      assert.equal(await promtoolCheckMetrics(metrics.render()), "");
    }

    await waitFor(
      "the access lines",
      async () =>
        (await Deno.readTextFile(logPath).catch(() => "")).trim().split("\n")
          .length >= 9,
    );
    const text = await Deno.readTextFile(logPath);
    assert.ok(!text.includes("SECRET") && !text.includes("REF"), text);
    const lines = text.trim().split("\n").map(parseCombinedLine);
    const byRequest = lines.map((l) =>
      `${l.request} ${l.status} ${l.extra.cache}`
    );
    assert.deepEqual(byRequest.slice(0, 5), [
      "GET /a.ts HTTP/1.1 200 miss",
      "GET /a.ts HTTP/1.1 200 hit",
      "GET /a.ts HTTP/1.1 200 hit",
      "GET /a.ts?token=<redacted> HTTP/1.1 200 hit",
      "GET /gone.ts HTTP/1.1 404 miss",
    ]);
    assert.deepEqual(
      byRequest.slice(5, 8).sort(),
      [
        "GET /slow.ts HTTP/1.1 200 collapsed",
        "GET /slow.ts HTTP/1.1 200 collapsed",
        "GET /slow.ts HTTP/1.1 200 miss",
      ],
    );
    assert.equal(byRequest[8], "GET /metrics HTTP/1.1 200 none");
    assert.equal(lines[2]!.userAgent, "ua/1");
    assert.equal(lines[2]!.referer, "http://r/?token=<redacted>");
    assert.equal(lines[0]!.client, "127.0.0.1");
    assert.ok(Number(lines[1]!.bytes) > 1000, "head and body");
    assert.ok(Number(lines[1]!.extra.rt) >= 0);
  } finally {
    await edge.close();
    await origin.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("edge: without an access log one response in EDGE_TIME_EVERY is timed; every one is counted", async () => {
  const origin = startTestOrigin(() =>
    new Response("x".repeat(100), {
      headers: { "cache-control": "max-age=60" },
    })
  );
  const metrics = new MetricsRegistry();
  const edge = await startTestEdge(edgeConfig([origin.url]), { metrics });
  try {
    const n = 2 * EDGE_TIME_EVERY + 1;
    for (let i = 0; i < n; i++) {
      const r = await fetch(`http://127.0.0.1:${edge.port}/s.ts`);
      await r.body?.cancel();
    }
    const s = parsePromText(metrics.render());
    assert.equal(
      sumOf(s, "meridian_edge_responses_total", { cache: "hit" }) +
        sumOf(s, "meridian_edge_responses_total", { cache: "miss" }),
      n,
    );
    // The first, then every EDGE_TIME_EVERY-th: 3 of 17 (the first is the miss).
    assert.equal(sumOf(s, "meridian_edge_ttfb_seconds_count"), 3);
    assert.equal(
      sumOf(s, "meridian_edge_ttfb_seconds_count", { cache: "hit" }),
      2,
    );
  } finally {
    await edge.close();
    await origin.close();
  }
});

Deno.test("edge: a purge published on one edge is applied on another, and its lag is observed there", async () => {
  const origin = startTestOrigin(() =>
    new Response("v", { headers: { "cache-control": "max-age=60" } })
  );
  const bus = new InProcessPurgeBus();
  const m2 = new MetricsRegistry();
  const e1 = await startTestEdge(
    edgeConfig([origin.url], { adminToken: "admin-token-0123456789" }),
    { purgeBus: bus },
  );
  const e2 = await startTestEdge(edgeConfig([origin.url]), {
    purgeBus: bus,
    metrics: m2,
  });
  try {
    const r = await fetch(`http://127.0.0.1:${e1.port}/admin/purge`, {
      method: "POST",
      headers: { authorization: "Bearer admin-token-0123456789" },
      body: JSON.stringify({ all: true }),
    });
    assert.equal(r.status, 200);
    await r.body?.cancel();
    const lag = () =>
      sumOf(
        parsePromText(m2.render()),
        "meridian_edge_purge_lag_seconds_count",
      );
    await waitFor("the purge applied on the second edge", () => lag() === 1);
    assert.equal(
      sumOf(
        parsePromText(m2.render()),
        "meridian_edge_purge_lag_seconds_bucket",
        {
          le: "1",
        },
      ),
      1,
    );
  } finally {
    await e1.close();
    await e2.close();
    await origin.close();
  }
});

Deno.test("edge: an access log in JSON names a live FLV viewer's response 'live'", async () => {
  const dir = await Deno.makeTempDir({ prefix: "meridian-edge-metrics-" });
  const logPath = `${dir}/edge.log`;
  // No origin serves the stream: the fan-out answers 502 or 404, still a live request.
  const origin = startTestOrigin(() => new Response("none", { status: 404 }));
  const metrics = new MetricsRegistry();
  const edge = await startTestEdge({
    ...edgeConfig([origin.url]),
    accessLog: { enabled: true, format: "json", destination: logPath },
  }, { metrics });
  try {
    const r = await fetch(
      `http://127.0.0.1:${edge.port}/live/nope.flv?token=T`,
    );
    await r.body?.cancel();
    await waitFor(
      "the line",
      async () =>
        (await Deno.readTextFile(logPath).catch(() => "")).includes("nope.flv"),
    );
    const [line] = parseJsonLines(await Deno.readTextFile(logPath));
    assert.equal(line!.cache, "live");
    assert.equal(line!.path, "/live/nope.flv?token=<redacted>");
    assert.equal(line!.status, r.status);
    assert.equal(line!.role, "edge");
  } finally {
    await edge.close();
    await origin.close();
    await Deno.remove(dir, { recursive: true });
  }
});
