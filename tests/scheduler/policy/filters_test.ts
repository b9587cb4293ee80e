import assert from "node:assert/strict";
import { runChain } from "../../../scheduler/policy/chain.ts";
import { parseFilterChain } from "../../../scheduler/policy/registry.ts";
import type { EdgeView } from "../../../scheduler/policy/types.ts";
import { request, VIEWS } from "./_contract.ts";

const TTL = { ttlSeconds: 30, failoverTtlSeconds: 10 };
const run = (
  filters: unknown[],
  subnet: string,
  views: readonly EdgeView[] = VIEWS,
  trace?: string[],
) =>
  runChain(request(subnet), parseFilterChain(filters, "t"), views, TTL, trace);
const withState = (id: string, patch: Partial<EdgeView>) =>
  VIEWS.map((v) => (v.edge.id === id ? { ...v, ...patch } : v));

Deno.test("geo_sort() orders by distance, honours bias, and scopes to the geo network", () => {
  const a = run([{ name: "geo_sort" }], "81.2.69.0/24");
  assert.deepEqual(a.edgeIds, ["fra1", "iad1", "sin1"]);
  assert.equal(a.scopePrefix, 24);
  assert.deepEqual(
    run([{ name: "geo_sort", bias: { fra1: 9000 } }], "81.2.69.0/24")
      .edgeIds[0],
    "iad1",
  );
  assert.deepEqual(run([{ name: "geo_sort" }], "9.9.9.0/24").edgeIds, [
    "fra1",
    "iad1",
    "sin1",
  ], "unknown: config order");
});

Deno.test("network_override() puts the region first and narrows the no-match scope", () => {
  const chain = [{ name: "geo_sort" }, {
    name: "network_override",
    overrides: [{ cidr: "81.2.69.0/25", region: "ap-southeast" }],
  }];
  const hit = run(chain, "81.2.69.0/25");
  assert.equal(hit.edgeIds[0], "sin1");
  assert.equal(hit.scopePrefix, 25);
  const miss = run(chain, "81.2.69.128/25");
  assert.equal(miss.edgeIds[0], "fra1");
  assert.equal(
    miss.scopePrefix,
    25,
    "the /24 answer must not cover the listed /25",
  );
});

Deno.test("health() drops down and draining edges and marks a failover", () => {
  const r = run(
    [{ name: "geo_sort" }, { name: "health" }],
    "81.2.69.0/24",
    withState("fra1", { up: false }),
  );
  assert.deepEqual(r.edgeIds, ["iad1", "sin1"]);
  assert.equal(r.ttlSeconds, 10);
  const d = run(
    [{ name: "geo_sort" }, { name: "health" }],
    "81.2.69.0/24",
    withState("sin1", { draining: true }),
  );
  assert.deepEqual(d.edgeIds, ["fra1", "iad1"]);
  assert.equal(d.ttlSeconds, 30, "losing a far edge is no failover");
});

Deno.test("capacity_weight() sheds share past the threshold and moves full edges last", () => {
  const r = run(
    [{ name: "capacity_weight" }],
    "81.2.69.0/24",
    withState("fra1", { load: 1 }),
  );
  assert.equal(r.edgeIds.at(-1), "fra1");
});

Deno.test("sticky() spreads clients over equal edges and keeps each client on its edge", () => {
  const chain = [{ name: "sticky" }, { name: "first_n", count: 1 }];
  const seen = new Map<string, number>();
  for (let i = 0; i < 300; i++) {
    const subnet = `${20 + (i % 200)}.${i % 256}.7.0/24`;
    const r = run(chain, subnet);
    assert.deepEqual(run(chain, subnet).edgeIds, r.edgeIds);
    seen.set(r.edgeIds[0]!, (seen.get(r.edgeIds[0]!) ?? 0) + 1);
    assert.equal(r.scopePrefix, 24);
  }
  assert.equal(seen.size, 3);
  for (const n of seen.values()) assert.ok(n > 50, `balanced: ${[...seen]}`);
});

Deno.test("last_resort() answers a CNAME or the fixed set when nothing is left", () => {
  const down = VIEWS.map((v) => ({ ...v, up: false }));
  const c = run(
    [{ name: "health" }, { name: "last_resort", cname: "backup.example.net." }],
    "81.2.69.0/24",
    down,
  );
  assert.equal(c.cname, "backup.example.net.");
  assert.equal(c.ttlSeconds, 10);
  const f = run(
    [{ name: "health" }, { name: "last_resort", edges: ["iad1"] }],
    "81.2.69.0/24",
    down,
  );
  assert.deepEqual(f.edgeIds, ["iad1"]);
});

Deno.test("runChain() traces every step for explain", () => {
  const trace: string[] = [];
  run(
    [{ name: "geo_sort" }, { name: "first_n", count: 1 }],
    "81.2.69.0/24",
    VIEWS,
    trace,
  );
  assert.equal(trace.length, 2);
  assert.match(trace[0]!, /^geo_sort: client at London/);
});
