import assert from "node:assert/strict";
import type { GeoResult } from "../../geo/mod.ts";
import {
  MAX_ROUTES,
  OTHER_REGION,
  ROUTE_MARK_MS,
  ROUTE_WINDOW_MS,
  RoutingStats,
  UNKNOWN_REGION,
} from "../../scheduler/routing_stats.ts";

const at = (country: string, latitude: number, longitude: number) =>
  ({
    record: { country, latitude, longitude },
    prefixLength: 24,
    reserved: false,
  }) satisfies GeoResult;

Deno.test("RoutingStats.route() returns one counter per (country, edge) and averages positions", () => {
  const r = new RoutingStats(() => 0);
  const a = r.route(at("de", 50, 8), "fra1");
  const b = r.route(at("DE", 52, 14), "fra1");
  assert.equal(a, b, "same region and edge, same counter");
  a.queries += 2;
  r.route({ record: undefined, prefixLength: 0, reserved: true }, "iad1")
    .queries++;
  const s = r.snapshot();
  assert.deepEqual(s.routes.map((x) => [x.region, x.edgeId, x.queries]), [
    ["DE", "fra1", 2],
    [UNKNOWN_REGION, "iad1", 1],
  ]);
  assert.deepEqual([s.routes[0]!.latitude, s.routes[0]!.longitude], [51, 11]);
  assert.equal(s.routes[1]!.latitude, null);
  assert.equal(s.routes[0]!.share, 0.6667);
});

Deno.test("RoutingStats.snapshot() counts the last window only, from lazily taken marks", () => {
  let now = 0;
  const r = new RoutingStats(() => now);
  const old = r.route(at("GB", 51, 0), "fra1");
  old.queries += 10;
  for (
    let t = ROUTE_MARK_MS;
    t <= ROUTE_WINDOW_MS + ROUTE_MARK_MS;
    t += ROUTE_MARK_MS
  ) {
    now = t;
    r.snapshot(); // the dashboard polling
  }
  const fresh = r.route(at("US", 38, -77), "iad1");
  fresh.queries += 3;
  old.queries += 1;
  now += 1000;
  const s = r.snapshot();
  assert.ok(
    s.windowSeconds >= ROUTE_WINDOW_MS / 1000 &&
      s.windowSeconds <= (ROUTE_WINDOW_MS + ROUTE_MARK_MS) / 1000,
    String(s.windowSeconds),
  );
  assert.deepEqual(s.routes.map((x) => [x.region, x.queries]), [
    ["US", 3],
    ["GB", 1],
  ]);
  // After a long gap without polls, the window stretches back to the last mark.
  now += 3 * ROUTE_WINDOW_MS;
  fresh.queries += 2;
  const late = r.snapshot();
  assert.ok(late.windowSeconds > ROUTE_WINDOW_MS / 1000);
  assert.deepEqual(late.routes.map((x) => [x.region, x.queries]), [
    ["US", 5],
    ["GB", 1],
  ]);
});

Deno.test("RoutingStats keeps at most MAX_ROUTES counters, then prunes idle ones or counts 'other'", () => {
  let now = 0;
  const r = new RoutingStats(() => now);
  for (let i = 0; i < MAX_ROUTES; i++) {
    r.route(at(`C${i}`, 0, 0), "e").queries++;
  }
  const over = r.route(at("ZZ", 0, 0), "e");
  assert.equal(over.region, OTHER_REGION);
  assert.equal(r.size, MAX_ROUTES + 1);
  // A window later, with only one of them still busy, the idle ones are dropped.
  now = ROUTE_MARK_MS;
  r.snapshot();
  now = ROUTE_WINDOW_MS + 2 * ROUTE_MARK_MS;
  r.snapshot();
  over.queries++;
  const zz = r.route(at("ZZ", 0, 0), "e");
  assert.equal(zz.region, "ZZ");
  assert.equal(r.size, 2);
});

Deno.test("RoutingStats.snapshot() counts answers by carrier and on-net, routes summed over carriers", () => {
  const r = new RoutingStats(() => 0);
  r.route(at("CN", 39.9, 116.4), "bj-cu", { name: "unicom", onNet: true })
    .queries += 6;
  r.route(at("CN", 39.9, 116.4), "bj-cu", { name: "telecom", onNet: false })
    .queries += 2;
  r.route(at("CN", 23.1, 113.3), "gz-cm", { name: "mobile", onNet: true })
    .queries += 2;
  r.route(at("DE", 50, 8), "fra1").queries += 5; // no isp_match: not by carrier
  const s = r.snapshot();
  assert.deepEqual(
    s.routes.map((x) => [x.region, x.edgeId, x.queries]),
    [["CN", "bj-cu", 8], ["DE", "fra1", 5], ["CN", "gz-cm", 2]],
  );
  assert.deepEqual(s.carriers, [
    { carrier: "unicom", queries: 6, onNet: 6, onNetShare: 1 },
    { carrier: "mobile", queries: 2, onNet: 2, onNetShare: 1 },
    { carrier: "telecom", queries: 2, onNet: 0, onNetShare: 0 },
  ]);
  assert.equal(s.carrierQueries, 10);
  assert.equal(s.onNetShare, 0.8);
});
