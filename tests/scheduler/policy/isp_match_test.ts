import assert from "node:assert/strict";
import { ConfigError } from "../../../config/mod.ts";
import {
  AsnTableBuilder,
  createStaticGeoLookup,
  parseIp,
} from "../../../geo/mod.ts";
import { NetworkDirectory } from "../../../scheduler/networks.ts";
import { runChain } from "../../../scheduler/policy/chain.ts";
import { parseFilterChain } from "../../../scheduler/policy/registry.ts";
import type {
  EdgeView,
  PolicyRequest,
} from "../../../scheduler/policy/types.ts";
import { SCHEDULER_DEFAULTS } from "../../../config/scheduler_schema.ts";
import { runPolicyContract } from "./_contract.ts";

// Documentation-free stand-ins for carriers' ranges (as the ASN CSV lists them).
const ASN = new AsnTableBuilder({ path: "test.csv" });
ASN.push([
  "36.0.0.0,36.0.255.255,4134,Chinanet", // telecom, Beijing and Guangzhou clients
  "36.1.0.0,36.1.255.255,4837,CHINA UNICOM China169 Backbone",
  "36.2.0.0,36.2.255.255,9808,China Mobile",
  "36.3.0.0,36.3.0.127,64500,Small Net", // no listed carrier; a /25
  "36.9.0.0,36.9.0.255,4837,CHINA UNICOM China169 Backbone", // an edge's own address
].join("\n"));
const TABLE = ASN.finish();
const NETWORKS = new NetworkDirectory(SCHEDULER_DEFAULTS.isps, TABLE);

const BJ = { latitude: 39.9, longitude: 116.4 };
const GZ = { latitude: 23.1, longitude: 113.3 };
const GEO = createStaticGeoLookup([
  { cidr: "36.0.0.0/24", record: { country: "CN", city: "Beijing", ...BJ } },
  { cidr: "36.0.1.0/24", record: { country: "CN", city: "Guangzhou", ...GZ } },
  { cidr: "36.1.0.0/24", record: { country: "CN", city: "Beijing", ...BJ } },
  { cidr: "36.1.1.0/24", record: { country: "CN", city: "Guangzhou", ...GZ } },
  { cidr: "36.2.1.0/24", record: { country: "CN", city: "Guangzhou", ...GZ } },
  { cidr: "36.3.0.0/24", record: { country: "CN", city: "Beijing", ...BJ } },
]);

function edge(
  id: string,
  at: { latitude: number; longitude: number },
  isps: string[],
  asns: number[] = [],
  address = "192.0.2.1",
): EdgeView {
  return {
    edge: {
      id,
      address,
      address6: "",
      region: id.slice(0, 2),
      ...at,
      capacity: 100,
      healthTarget: "",
      isps,
      asns,
    },
    up: true,
    draining: false,
    load: 0,
  };
}

const VIEWS: EdgeView[] = [
  edge("bj-ct", BJ, ["telecom"]),
  edge("bj-cu", BJ, ["unicom"]),
  edge("gz-cm", GZ, ["mobile"]),
  edge("gz-cu", GZ, ["unicom"]),
  edge("fra1", { latitude: 50.1, longitude: 8.7 }, [], [3320]),
];

function request(subnet: string): PolicyRequest {
  const [ip, len] = subnet.split("/");
  const bytes = parseIp(ip!)!.bytes;
  return {
    qname: "live.meridian.test",
    qtype: "A",
    client: { bytes, prefixLength: Number(len) },
    geo: GEO.lookup(bytes),
    network: NETWORKS.lookupClient(bytes)!,
  };
}

const TTL = { ttlSeconds: 30, failoverTtlSeconds: 10 };
const chain = (opts: Record<string, unknown> = {}) =>
  parseFilterChain(
    [
      { name: "geo_sort" },
      { name: "isp_match", ...opts },
      { name: "health" },
      { name: "first_n", count: 2 },
      { name: "last_resort", cname: "backup.example." },
    ],
    "t",
    { networks: NETWORKS },
  );
const run = (
  subnet: string,
  views = VIEWS,
  opts: Record<string, unknown> = {},
  trace?: string[],
) => runChain(request(subnet), chain(opts), views, TTL, trace);
const down = (...ids: string[]) =>
  VIEWS.map((v) => ids.includes(v.edge.id) ? { ...v, up: false } : v);

Deno.test("isp_match() sends each carrier's clients to its edge near them", () => {
  assert.deepEqual(run("36.1.0.0/24").edgeIds, ["bj-cu", "gz-cu"], "BJ unicom");
  assert.deepEqual(run("36.0.0.0/24").edgeIds[0], "bj-ct", "BJ telecom");
  assert.deepEqual(run("36.2.1.0/24").edgeIds[0], "gz-cm", "GZ mobile");
  assert.deepEqual(run("36.1.1.0/24").edgeIds, ["gz-cu", "bj-cu"], "GZ unicom");
  const a = run("36.1.0.0/24");
  assert.equal(a.carrier, "unicom");
  assert.equal(a.onNet, true);
  assert.equal(a.failedOver, false);
  // Without the filter the nearest edge of any carrier wins (the first in config order).
  const plain = runChain(
    request("36.1.0.0/24"),
    parseFilterChain([{ name: "geo_sort" }], "p"),
    VIEWS,
    TTL,
  );
  assert.equal(plain.edgeIds[0], "bj-ct");
});

Deno.test("isp_match() falls back to the nearest healthy edge when the carrier's are down", () => {
  const r = run("36.2.1.0/24", down("gz-cm"));
  assert.equal(r.edgeIds[0], "gz-cu", "nearest other edge (Guangzhou)");
  assert.equal(r.failedOver, true, "short TTL while failed over");
  assert.equal(r.ttlSeconds, 10);
  assert.equal(r.onNet, false);
  // The other on-net edge within withinKm comes before off-net ones.
  assert.equal(run("36.1.0.0/24", down("bj-cu")).edgeIds[0], "gz-cu");
  assert.equal(
    run("36.1.0.0/24", down("bj-cu"), { withinKm: 500 }).edgeIds[0],
    "bj-ct",
    "beyond withinKm the on-net edge is not preferred",
  );
});

Deno.test("isp_match() strict keeps a carrier on its own edges; last resort when they are down", () => {
  assert.deepEqual(run("36.2.1.0/24", VIEWS, { strict: true }).edgeIds, [
    "gz-cm",
  ]);
  const r = run("36.2.1.0/24", down("gz-cm"), { strict: true });
  assert.equal(r.cname, "backup.example.");
  // A client whose network has no edge at all is served by everyone.
  assert.equal(run("36.3.0.0/25", VIEWS, { strict: true }).edgeIds.length, 2);
});

Deno.test("isp_match() scopes to the ASN range, and to the gap for unknown networks", () => {
  // The range is a /16, the geo network a /24: the answer holds for the /24.
  assert.equal(run("36.1.0.0/24").scopePrefix, 24);
  // AS64500 is a /25 inside the /24: never wider than the data justifies.
  const small = run("36.3.0.0/24");
  assert.equal(small.scopePrefix, 25);
  assert.equal(small.carrier, "AS64500", "no listed carrier: its AS");
  // 36.4.0.0 is in no range: the gap 36.3.0.128-36.8.255.255 holds 36.4.0.0/14.
  const gap = runChain(
    {
      ...request("36.1.0.0/24"),
      network: NETWORKS.lookupClient(parseIp("36.4.0.0")!.bytes)!,
    },
    chain(),
    VIEWS,
    TTL,
  );
  assert.equal(gap.carrier, undefined);
  assert.equal(gap.scopePrefix, 24, "the geo /24 is narrower than the gap /14");
  assert.equal(
    NETWORKS.lookupClient(parseIp("36.4.0.0")!.bytes)!.prefixLength,
    14,
  );
});

Deno.test("isp_match() places an edge declaring nothing by its address, and explains each edge", () => {
  const auto = edge("bj-auto", BJ, [], [], "36.9.0.7");
  const views = [VIEWS[0]!, auto];
  assert.equal(run("36.1.0.0/24", views).edgeIds[0], "bj-auto");
  assert.equal(NETWORKS.edgeNetworks(auto.edge).source, "address");
  const trace: string[] = [];
  run("36.1.0.0/24", VIEWS, {}, trace);
  const line = trace.find((t) => t.startsWith("isp_match"))!;
  assert.match(
    line,
    /AS4837 \(CHINA UNICOM China169 Backbone\) → carrier unicom/,
  );
  assert.match(line, /bj-cu on unicom: on-net, first/);
  assert.match(line, /bj-ct on telecom: off-net, behind/);
  assert.match(line, /fra1 on AS3320: off-net, behind/);
});

Deno.test("isp_match() without a network (no ASN database) keeps the order", () => {
  const r = runChain(
    { ...request("36.1.0.0/24"), network: undefined } as PolicyRequest,
    chain(),
    VIEWS,
    TTL,
  );
  assert.equal(r.edgeIds[0], "bj-ct");
  assert.equal(r.carrier, undefined);
});

Deno.test("isp_match options and edge networks are checked, naming the key", () => {
  assert.throws(
    () => parseFilterChain([{ name: "isp_match", strict: "yes" }], "f"),
    (e: unknown) => e instanceof ConfigError && e.key === "f[0].strict",
  );
  assert.throws(
    () =>
      NetworkDirectory.fromConfig({
        isps: SCHEDULER_DEFAULTS.isps,
        edges: [{
          ...SCHEDULER_DEFAULTS.edges[0]!,
          isp: ["unicom", "unicron"],
        }],
      }),
    (e: unknown) =>
      e instanceof ConfigError && e.key === "scheduler.edges[0].isp[1]" &&
      /unicron/.test(e.message) &&
      /telecom, unicom, mobile, cernet/.test(e.message),
  );
  assert.throws(
    () =>
      NetworkDirectory.fromConfig({
        isps: SCHEDULER_DEFAULTS.isps,
        edges: [{ ...SCHEDULER_DEFAULTS.edges[0]!, asns: [0] }],
      }),
    (e: unknown) =>
      e instanceof ConfigError && e.key === "scheduler.edges[0].asns[0]",
  );
});

runPolicyContract("isp_match chain", chain(), 2);

Deno.test("isp_match() counts a multi-homed edge on-net for each of its carriers", () => {
  const bgp = edge("bj-bgp", BJ, ["telecom", "mobile"]);
  const views = [VIEWS[1]!, bgp]; // bj-cu first in config order
  assert.equal(run("36.0.0.0/24", views).edgeIds[0], "bj-bgp", "telecom");
  assert.equal(run("36.1.0.0/24", views).edgeIds[0], "bj-cu", "unicom");
  const n = NETWORKS.edgeNetworks(bgp.edge);
  assert.deepEqual([...n.carriers].sort(), ["mobile", "telecom"]);
  assert.ok(n.asns.has(4134) && n.asns.has(9808) && n.source === "declared");
});
