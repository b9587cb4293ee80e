/**
 * What the new steering filters cost per DNS answer, beside the current default chain in the
 * same run: a cached steered answer (the hot path: decision and template cached per client
 * network), and a decision made anew (a decision-cache miss, and every 302 redirect). Chains:
 * the default chain; it with `isp_match` after `geo_sort` (the real ASN data from npm
 * @ip-location-db/asn, loaded once before the benchmarks); a per-stream name
 * (`demo.live.live.meridian.test`, wildcard `*.live`) whose chain adds `stream_affinity`.
 *
 * Run: `deno bench -A bench/steering_bench.ts`
 *
 * @module
 */

import { openAsnDatabase, parseIp } from "../geo/mod.ts";
import { DnsHandler } from "../scheduler/answer/handler.ts";
import { encodeEcsQuery } from "../scheduler/dns/packet.ts";
import { ConfigEdgeSource } from "../scheduler/edges.ts";
import { NetworkDirectory } from "../scheduler/networks.ts";
import { DEFAULT_CHAIN } from "../scheduler/policy/registry.ts";
import { Authority } from "../scheduler/zone.ts";
import { streamKey } from "../store/mod.ts";
import {
  EDGES,
  GEO,
  ManualHealth,
  testConfig,
} from "../tests/scheduler/_fixtures.ts";

const ISP_CHAIN = [
  DEFAULT_CHAIN[0]!,
  { name: "isp_match" },
  ...DEFAULT_CHAIN.slice(1),
];
const STREAM_CHAIN = [
  ...DEFAULT_CHAIN.slice(0, 4),
  { name: "stream_affinity" },
  ...DEFAULT_CHAIN.slice(4),
];
const base = testConfig();
const config = testConfig({
  edges: EDGES.map((e, i) => ({
    ...e,
    isp: [["unicom", "telecom", "mobile"][i]!],
  })),
  zones: [{
    ...base.zones[0]!,
    steered: [
      { name: "live", ttlSeconds: 30, failoverTtlSeconds: 10, filters: [] },
      {
        name: "isp",
        ttlSeconds: 30,
        failoverTtlSeconds: 10,
        filters: ISP_CHAIN,
      },
      {
        name: "*.live",
        ttlSeconds: 30,
        failoverTtlSeconds: 10,
        filters: STREAM_CHAIN,
      },
    ],
  }],
});
const networks = NetworkDirectory.fromConfig(config);
const asn = await openAsnDatabase({ reloadCheckMs: 0 });
networks.attach(asn);
const edges = new ConfigEdgeSource(config);
edges.setStreams("fra1", [{ key: streamKey("live", "demo"), viewers: 40 }]);
const handler = new DnsHandler({
  authority: Authority.fromConfig(config, { networks }),
  geo: GEO,
  edges,
  health: new ManualHealth(),
  config,
  networks,
});
const resolver = {
  address: parseIp("127.0.0.1")!.bytes,
  transport: "udp" as const,
};
const q = (name: string) => encodeEcsQuery(name, "A", "81.2.69.0/24", 99);
const queries = {
  current: q("live.meridian.test"),
  isp: q("isp.meridian.test"),
  stream: q("demo.live.live.meridian.test"),
};
for (const v of Object.values(queries)) handler.handleQuery(v, resolver);

Deno.bench({
  name: "cached answer: default chain (current)",
  group: "cached",
  baseline: true,
  fn: () => void handler.handleQuery(queries.current, resolver),
});
Deno.bench({
  name: "cached answer: default chain + isp_match",
  group: "cached",
  fn: () => void handler.handleQuery(queries.isp, resolver),
});
Deno.bench({
  name: "cached answer: per-stream name + stream_affinity",
  group: "cached",
  fn: () => void handler.handleQuery(queries.stream, resolver),
});

// Decisions made anew, for a different client /24 each time (London and other placed ones).
const subnets = Array.from({ length: 4096 }, (_, i) => ({
  bytes: new Uint8Array([81, 2, i >> 4, (i & 15) << 4]),
  prefixLength: 28,
}));
let k = 0;
const next = () => subnets[k++ & 4095]!;
const steered = {
  current: handler.steeredFor("live.meridian.test")!,
  isp: handler.steeredFor("isp.meridian.test")!,
  stream: handler.steeredFor("demo.live.live.meridian.test")!,
};
const demo = streamKey("live", "demo");
Deno.bench({
  name: "new decision: default chain (current)",
  group: "decide",
  baseline: true,
  fn: () => void handler.decide(steered.current, "A", next()),
});
Deno.bench({
  name: "new decision: default chain + isp_match (ASN lookup)",
  group: "decide",
  fn: () => void handler.decide(steered.isp, "A", next()),
});
Deno.bench({
  name: "new decision: + stream_affinity (stream held by one edge)",
  group: "decide",
  fn: () => void handler.decide(steered.stream, "A", next(), undefined, demo),
});
