import assert from "node:assert/strict";
import { createStaticGeoLookup, parseIp } from "../../../geo/mod.ts";
import { runChain } from "../../../scheduler/policy/chain.ts";
import { parseFilterChain } from "../../../scheduler/policy/registry.ts";
import type {
  EdgeView,
  PolicyRequest,
} from "../../../scheduler/policy/types.ts";
import { streamKey } from "../../../store/mod.ts";
import { runPolicyContract } from "./_contract.ts";

const FRA = { latitude: 50.11, longitude: 8.68 };
const AMS = { latitude: 52.37, longitude: 4.9 };
const PAR = { latitude: 48.86, longitude: 2.35 };
const SIN = { latitude: 1.35, longitude: 103.82 };
const GEO = createStaticGeoLookup([
  {
    cidr: "81.2.0.0/16",
    record: { country: "GB", latitude: 51.5, longitude: -0.1 },
  },
  {
    cidr: "1.1.1.0/24",
    record: { country: "AU", latitude: -33.9, longitude: 151.2 },
  },
]);

const view = (id: string, at: typeof FRA, load = 0): EdgeView => ({
  edge: {
    id,
    address: `192.0.2.${id.length}`,
    address6: "",
    region: "x",
    ...at,
    capacity: 100,
    healthTarget: "",
  },
  up: true,
  draining: false,
  load,
});
const VIEWS = [
  view("fra1", FRA),
  view("ams1", AMS),
  view("par1", PAR),
  view("sin1", SIN),
];
const KEY = streamKey("live", "demo");
const TTL = { ttlSeconds: 30, failoverTtlSeconds: 10 };
const CHAIN = parseFilterChain([
  { name: "geo_sort", toleranceKm: 600 },
  { name: "health" },
  { name: "stream_affinity", viewersPerEdge: 100 },
  { name: "sticky" },
  { name: "first_n", count: 1 },
], "t");

function ask(
  subnet: string,
  holders: Record<string, number> | undefined,
  views = VIEWS,
  trace?: string[],
) {
  const [ip, len] = subnet.split("/");
  const bytes = parseIp(ip!)!.bytes;
  const req: PolicyRequest = {
    qname: "live.meridian.test",
    qtype: "A",
    client: { bytes, prefixLength: Number(len) },
    geo: GEO.lookup(bytes),
    ...(holders
      ? { stream: { key: KEY, holders: new Map(Object.entries(holders)) } }
      : {}),
  };
  return runChain(req, CHAIN, views, TTL, trace).edgeIds[0];
}

/** The i-th London client subnet (a /24 each: sticky hashes /24s). */
const london = (i: number) => `81.2.${i}.0/24`;

Deno.test("stream_affinity() sends every viewer of a new stream in a region to one edge", () => {
  // Without a stream, sticky spreads subnets over the three European edges.
  const plain = new Set(
    Array.from({ length: 40 }, (_, i) => ask(london(i), undefined)),
  );
  assert.ok(plain.size >= 2, `spread: ${[...plain]}`);
  // With a stream nobody pulls yet: one edge, the same for every subnet.
  const first = new Set(
    Array.from({ length: 40 }, (_, i) => ask(london(i), {})),
  );
  assert.equal(first.size, 1);
  const home = [...first][0]!;
  assert.notEqual(home, "sin1");
});

Deno.test("stream_affinity() prefers the edge already pulling the stream, unless it is loaded", () => {
  // par1 already pulls it (say an earlier failover put it there): new viewers follow.
  for (let i = 0; i < 20; i++) {
    assert.equal(ask(london(i), { par1: 3 }), "par1");
  }
  const loaded = VIEWS.map((v) =>
    v.edge.id === "par1" ? { ...v, load: 0.9 } : v
  );
  assert.notEqual(ask("81.2.70.0/24", { par1: 3 }, loaded), "par1");
  // A viewer in another region is served in its own.
  assert.equal(ask("1.1.1.0/24", { par1: 3 }), "sin1");
});

Deno.test("stream_affinity() spreads a popular stream over more edges, the same ones each time", () => {
  const trace: string[] = [];
  ask("81.2.69.0/24", { fra1: 150, ams1: 90 }, VIEWS, trace);
  assert.match(
    trace.find((t) => t.startsWith("stream_affinity"))!,
    /240 viewers on 2 of 3 nearest edges .* → 3 edge\(s\)/,
  );
  const seen = new Set(
    Array.from(
      { length: 60 },
      (_, i) => ask(london(i), { fra1: 150, ams1: 90 }),
    ),
  );
  assert.deepEqual([...seen].sort(), ["ams1", "fra1", "par1"]);
  // 150 viewers want 2 edges: the holder and the next by rendezvous hash, stable across calls.
  const two = new Set(
    Array.from({ length: 60 }, (_, i) => ask(london(i), { fra1: 150 })),
  );
  assert.equal(two.size, 2);
  assert.ok(two.has("fra1"));
  const again = new Set(
    Array.from({ length: 60 }, (_, i) => ask(london(i), { fra1: 150 })),
  );
  assert.deepEqual(again, two);
});

Deno.test("stream_affinity() keeps the order for a request without a stream", () => {
  const trace: string[] = [];
  ask("81.2.69.0/24", undefined, VIEWS, trace);
  assert.ok(
    trace.some((t) => t === "stream_affinity: no stream named, order kept"),
  );
});

runPolicyContract("stream_affinity chain", CHAIN, 1);
