/**
 * What `stream_affinity` saves: a seeded, in-process simulation of live viewers arriving at
 * the 302 scheduler, with and without the filter in the chain. 50 streams of Zipf popularity
 * (s = 1), 8 edges in 3 regions (Europe 3, North America 3, Asia 2), viewers from random
 * addresses of each region (weights 45/35/20 %; 256 places per region within ±6° of its
 * centre; edges within 1500 km of the nearest rank alike), Poisson arrivals, exponential
 * watch times. Each edge
 * pulls a stream from the origin (or shield) while it has viewers of it, and for
 * `idleCloseMs` after the last leaves (as `edge.live.idleCloseMs`); edges heartbeat their
 * streams and load every `heartbeatSeconds` (the scheduler sees streams that late). Counted:
 * pulls opened, upstream bytes (pull-seconds × bitrate), the busiest edge's peak viewers, and
 * the scheduler's decision time per viewer (the 302 path: `DnsHandler.decide`, no cache).
 *
 * Run: `deno run -A bench/stream_affinity_sim.ts [SEED] [SECONDS] [ARRIVALS_PER_SECOND]`
 * (defaults 22, 600, 30). Bounded: SECONDS × rate viewers, at most 200,000.
 *
 * @module
 */

import { SCHEDULER_DEFAULTS } from "../config/scheduler_schema.ts";
import { createStaticGeoLookup, parseIp } from "../geo/mod.ts";
import { DnsHandler } from "../scheduler/answer/handler.ts";
import { ConfigEdgeSource } from "../scheduler/edges.ts";
import type { HealthSnapshot } from "../scheduler/health/monitor.ts";
import { Authority } from "../scheduler/zone.ts";
import { streamKey } from "../store/mod.ts";

const SEED = Number(Deno.args[0] ?? 22);
const SECONDS = Number(Deno.args[1] ?? 600);
const RATE = Number(Deno.args[2] ?? 30);
const MAX_VIEWERS = 200_000;
const STREAMS = 50;
const ZIPF_S = 1;
const WATCH_MEAN_S = 120;
const BITRATE_BPS = 2_500_000;
const IDLE_CLOSE_S = 5;
const HEARTBEAT_S = 5;
/** Viewers per edge at full load (load 1). */
const CAPACITY_VIEWERS = 3000;

const REGIONS = [
  { name: "eu", weight: 0.45, lat: 50, lon: 8, first: 81 },
  { name: "na", weight: 0.35, lat: 39, lon: -90, first: 24 },
  { name: "as", weight: 0.2, lat: 22, lon: 114, first: 14 },
] as const;
const EDGES = [
  ["eu-fra", 50.11, 8.68, "eu"],
  ["eu-ams", 52.37, 4.9, "eu"],
  ["eu-par", 48.86, 2.35, "eu"],
  ["na-iad", 38.95, -77.45, "na"],
  ["na-ord", 41.88, -87.63, "na"],
  ["na-dfw", 32.9, -97.04, "na"],
  ["as-hkg", 22.3, 114.17, "as"],
  ["as-sin", 1.35, 103.82, "as"],
] as const;

/** Seeded xorshift32 in (0, 1). */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
}

function config(filters: Record<string, unknown>[]) {
  const zone = SCHEDULER_DEFAULTS.zones[0]!;
  return {
    ...SCHEDULER_DEFAULTS,
    edges: EDGES.map(([id, latitude, longitude, region], i) => ({
      id,
      address: `192.0.2.${i + 1}`,
      address6: "",
      region,
      latitude,
      longitude,
      capacity: 100,
      healthUrl: "",
      isp: [],
      asns: [],
    })),
    zones: [{
      ...zone,
      steered: [{
        name: "live",
        ttlSeconds: 30,
        failoverTtlSeconds: 10,
        filters,
      }],
    }],
  };
}

/** Edges within 1500 km of the nearest count as equally near (a region's edges). */
const BASE = [
  { name: "geo_sort", toleranceKm: 1500 },
  { name: "health" },
  { name: "capacity_weight" },
  { name: "sticky" },
  { name: "first_n", count: 1 },
];
const AFFINE = [
  { name: "geo_sort", toleranceKm: 1500 },
  { name: "health" },
  { name: "capacity_weight" },
  { name: "stream_affinity" },
  { name: "sticky" },
  { name: "first_n", count: 1 },
];

const GEO = createStaticGeoLookup(
  REGIONS.map((r) => ({
    cidr: `${r.first}.0.0.0/8`,
    record: {
      country: r.name.toUpperCase(),
      latitude: r.lat,
      longitude: r.lon,
    },
  })),
);
const UP: HealthSnapshot = {
  version: 1,
  isUp: () => true,
  state: () => undefined,
};

interface Result {
  readonly viewers: number;
  readonly pulls: number;
  readonly upstreamGB: number;
  readonly peakEdgeViewers: number;
  readonly meanDecisionUs: number;
  readonly p99DecisionUs: number;
}

function simulate(filters: Record<string, unknown>[]): Result {
  const cfg = config(filters);
  const edges = new ConfigEdgeSource(cfg);
  const handler = new DnsHandler({
    authority: Authority.fromConfig(cfg),
    geo: GEO,
    edges,
    health: UP,
    config: cfg,
  });
  const steered = handler.defaultSteered()!;
  const rnd = prng(SEED);
  // Zipf weights over streams.
  const w = Array.from({ length: STREAMS }, (_, i) => 1 / (i + 1) ** ZIPF_S);
  const total = w.reduce((a, b) => a + b, 0);
  const cdf: number[] = [];
  w.reduce((acc, x, i) => (cdf[i] = acc + x / total), 0);
  const keys = Array.from(
    { length: STREAMS },
    (_, i) => streamKey("live", `s${i}`),
  );
  // Per (edge, stream): viewers now, and when the pull opened / went idle.
  const viewers = new Map<string, number>();
  const pullOpenAt = new Map<string, number>();
  const idleSince = new Map<string, number>();
  let pulls = 0;
  let pullSeconds = 0;
  let peak = 0;
  const perEdge = new Map<string, number>(EDGES.map(([id]) => [id, 0]));
  // Departures: [time, edge, stream].
  const leaving: { at: number; edge: string; stream: number }[] = [];
  const times: number[] = [];
  let nextBeat = 0;
  let t = 0;
  let n = 0;
  const closeIdle = (now: number) => {
    for (const [k, since] of idleSince) {
      if (now - since >= IDLE_CLOSE_S) {
        pullSeconds += since + IDLE_CLOSE_S - pullOpenAt.get(k)!;
        pullOpenAt.delete(k);
        idleSince.delete(k);
      }
    }
  };
  const heartbeat = () => {
    for (const [id] of EDGES) {
      const streams: { key: string; viewers: number }[] = [];
      for (let s = 0; s < STREAMS; s++) {
        const k = `${id}|${s}`;
        if (pullOpenAt.has(k)) {
          streams.push({ key: keys[s]!, viewers: viewers.get(k) ?? 0 });
        }
      }
      edges.setStreams(id, streams);
      edges.setLoad(id, Math.min(1, perEdge.get(id)! / CAPACITY_VIEWERS));
    }
  };
  while (t < SECONDS && n < MAX_VIEWERS) {
    t += -Math.log(rnd()) / RATE;
    // Departures before now.
    leaving.sort((a, b) => a.at - b.at);
    while (leaving.length && leaving[0]!.at <= t) {
      const d = leaving.shift()!;
      const k = `${d.edge}|${d.stream}`;
      const v = viewers.get(k)! - 1;
      viewers.set(k, v);
      perEdge.set(d.edge, perEdge.get(d.edge)! - 1);
      if (v === 0) idleSince.set(k, d.at);
    }
    closeIdle(t);
    if (t >= nextBeat) {
      heartbeat();
      nextBeat += HEARTBEAT_S;
    }
    // One viewer: a region, a /24 in it, a stream.
    const u = rnd();
    const region = u < REGIONS[0].weight
      ? REGIONS[0]
      : u < REGIONS[0].weight + REGIONS[1].weight
      ? REGIONS[1]
      : REGIONS[2];
    const ip = `${region.first}.${Math.floor(rnd() * 256)}.${
      Math.floor(rnd() * 256)
    }.${1 + Math.floor(rnd() * 254)}`;
    const x = rnd();
    let stream = cdf.findIndex((c) => x <= c);
    if (stream < 0) stream = STREAMS - 1;
    const t0 = performance.now();
    const { answer } = handler.decide(
      steered,
      "A",
      {
        bytes: parseIp(ip)!.bytes,
        prefixLength: 32,
      },
      undefined,
      keys[stream],
    );
    times.push((performance.now() - t0) * 1000);
    const edge = answer.edgeIds[0]!;
    const k = `${edge}|${stream}`;
    if (!pullOpenAt.has(k)) {
      pullOpenAt.set(k, t);
      pulls++;
    }
    idleSince.delete(k);
    viewers.set(k, (viewers.get(k) ?? 0) + 1);
    perEdge.set(edge, perEdge.get(edge)! + 1);
    peak = Math.max(peak, perEdge.get(edge)!);
    leaving.push({ at: t + -Math.log(rnd()) * WATCH_MEAN_S, edge, stream });
    n++;
  }
  // Pulls still open at the end count up to the end.
  for (const [k, at] of pullOpenAt) {
    pullSeconds += (idleSince.has(k)
      ? Math.min(SECONDS, idleSince.get(k)! + IDLE_CLOSE_S)
      : SECONDS) - at;
  }
  times.sort((a, b) => a - b);
  return {
    viewers: n,
    pulls,
    upstreamGB: Math.round(pullSeconds * BITRATE_BPS / 8 / 1e9 * 100) / 100,
    peakEdgeViewers: peak,
    meanDecisionUs: Math.round(
      times.reduce((a, b) => a + b, 0) / times.length * 10,
    ) / 10,
    p99DecisionUs: Math.round(times[Math.floor(times.length * 0.99)]! * 10) /
      10,
  };
}

const without = simulate(BASE);
const withAffinity = simulate(AFFINE);
console.log(
  `seed ${SEED}, ${SECONDS} s, ${RATE} viewers/s, ${STREAMS} streams (Zipf s=${ZIPF_S}), ${EDGES.length} edges in ${REGIONS.length} regions, ${
    BITRATE_BPS / 1e6
  } Mbit/s, watch ${WATCH_MEAN_S} s mean, idle close ${IDLE_CLOSE_S} s, heartbeat ${HEARTBEAT_S} s`,
);
console.table({ without, "stream_affinity": withAffinity });
console.log(
  `pulls ${
    Math.round((1 - withAffinity.pulls / without.pulls) * 1000) / 10
  } % fewer, upstream bytes ${
    Math.round((1 - withAffinity.upstreamGB / without.upstreamGB) * 1000) / 10
  } % fewer`,
);
