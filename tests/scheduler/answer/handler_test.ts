import assert from "node:assert/strict";
import {
  dataOf,
  decodePacket,
  encodePacket,
  type Packet,
} from "../../../scheduler/dns/packet.ts";
import { ConfigEdgeSource } from "../../../scheduler/edges.ts";
import { DnsHandler } from "../../../scheduler/answer/handler.ts";
import { Authority } from "../../../scheduler/zone.ts";
import { DnsStats } from "../../../scheduler/stats.ts";
import { createStaticGeoLookup, parseIp } from "../../../geo/mod.ts";
import { streamKey } from "../../../store/mod.ts";
import { GEO, ManualHealth, testConfig } from "../_fixtures.ts";
import { createPrng } from "../../_helpers/prng.ts";
import { rawQuery, wireName } from "../../_helpers/dns_wire.ts";
import {
  createResponseClass,
  ResponseKind,
} from "../../../scheduler/server/rate_limit.ts";

function setup() {
  const config = testConfig();
  const edges = new ConfigEdgeSource(config);
  const health = new ManualHealth();
  const stats = new DnsStats();
  const handler = new DnsHandler({
    authority: Authority.fromConfig(config),
    geo: GEO,
    edges,
    health,
    config,
    stats,
  });
  return { handler, health, edges, stats };
}

const RESOLVER = {
  address: parseIp("127.0.0.1")!.bytes,
  transport: "udp" as const,
};

interface Ask {
  type?: string;
  qclass?: string;
  subnet?: string;
  edns?: boolean;
  payload?: number;
  transport?: "udp" | "tcp";
}

function ask(
  handler: DnsHandler,
  name: string,
  opts: Ask = {},
): Packet & { ecsScope?: number } {
  const options: Record<string, unknown>[] = [];
  if (opts.subnet) {
    const [ip, len] = opts.subnet.split("/");
    options.push({
      code: 8,
      family: ip!.includes(":") ? 2 : 1,
      sourcePrefixLength: Number(len),
      scopePrefixLength: 0,
      ip,
    });
  }
  const edns = opts.edns ?? true;
  const q = encodePacket({
    type: "query",
    id: 4242,
    flags: 1 << 8,
    questions: [{ name, type: opts.type ?? "A", class: opts.qclass ?? "IN" }],
    additionals: edns
      ? [{
        type: "OPT",
        name: ".",
        udpPayloadSize: opts.payload ?? 1232,
        flags: 0,
        options,
      }]
      : [],
  });
  const r = handler.handleQuery(q, {
    ...RESOLVER,
    transport: opts.transport ?? "udp",
  })!;
  const p = decodePacket(r);
  const opt = p.additionals?.find((a) => a.type === "OPT");
  const ecs = opt?.options?.find((o) => o["code"] === 8);
  return {
    ...p,
    ...(ecs ? { ecsScope: ecs["scopePrefixLength"] as number } : {}),
  };
}

const addresses = (p: Packet) =>
  (p.answers ?? []).filter((a) => a.type === "A" || a.type === "AAAA").map((
    a,
  ) => a.data);

Deno.test("handleQuery() answers the nearest edges with the ECS scope of the geo network", () => {
  const { handler } = setup();
  const london = ask(handler, "live.meridian.test", { subnet: "81.2.69.0/24" });
  assert.equal(london.rcode, "NOERROR");
  assert.equal(london.flag_aa, true);
  assert.equal(london.flag_ra, false);
  assert.deepEqual(addresses(london), ["192.0.2.1", "192.0.2.2"]);
  assert.equal(london.answers![0]!.ttl, 30);
  assert.equal(london.ecsScope, 24);
  assert.deepEqual(
    addresses(ask(handler, "live.meridian.test", { subnet: "8.8.8.0/24" })),
    ["192.0.2.2", "192.0.2.1"],
  );
  assert.deepEqual(
    addresses(ask(handler, "live.meridian.test", { subnet: "1.1.1.0/24" })),
    ["192.0.2.3", "192.0.2.2"],
  );
  const beijing = ask(handler, "live.meridian.test", {
    subnet: "122.11.0.0/19",
  });
  assert.equal(addresses(beijing)[0], "192.0.2.3");
  assert.equal(beijing.ecsScope, 19, "scope = the database network, not wider");
});

Deno.test("handleQuery() caps the scope and uses the resolver for /0 and private subnets", () => {
  const { handler } = setup();
  assert.equal(
    ask(handler, "live.meridian.test", { subnet: "81.2.69.128/25" }).ecsScope,
    24,
  );
  assert.equal(
    ask(handler, "live.meridian.test", { subnet: "0.0.0.0/0" }).ecsScope,
    0,
  );
  const priv = ask(handler, "live.meridian.test", { subnet: "10.1.0.0/16" });
  assert.equal(priv.ecsScope, 0);
  assert.equal(addresses(priv).length, 2);
});

Deno.test("handleQuery() answers AAAA only from edges with IPv6", () => {
  const { handler } = setup();
  const r = ask(handler, "live.meridian.test", {
    type: "AAAA",
    subnet: "2a00:1450::/32",
  });
  assert.deepEqual(addresses(r), ["2001:db8::1", "2001:db8::3"]);
});

Deno.test("handleQuery() leaves a down edge out with the failover TTL, and takes it back", () => {
  const { handler, health } = setup();
  health.set("fra1", false);
  const r = ask(handler, "live.meridian.test", { subnet: "81.2.69.0/24" });
  assert.deepEqual(addresses(r), ["192.0.2.2", "192.0.2.3"]);
  assert.equal(r.answers![0]!.ttl, 10);
  health.set("fra1", true);
  assert.deepEqual(
    addresses(ask(handler, "live.meridian.test", { subnet: "81.2.69.0/24" })),
    ["192.0.2.1", "192.0.2.2"],
  );
  for (const id of ["fra1", "iad1", "sin1"]) health.set(id, false);
  assert.equal(
    addresses(ask(handler, "live.meridian.test", { subnet: "81.2.69.0/24" }))
      .length,
    3,
    "last resort: all",
  );
});

Deno.test("handleQuery() answers wildcard steered names with the wildcard's chain", () => {
  const { handler } = setup();
  const r = ask(handler, "anything.cdn.meridian.test", {
    subnet: "1.1.1.0/24",
  });
  assert.deepEqual(addresses(r), ["192.0.2.3"]);
  assert.equal(r.answers![0]!.name, "anything.cdn.meridian.test");
  assert.equal(r.answers![0]!.ttl, 20);
});

Deno.test("handleQuery() refuses names outside our zones, echoing ECS with scope 0", () => {
  const { handler } = setup();
  const r = ask(handler, "example.com", { subnet: "81.2.69.0/24" });
  assert.equal(r.rcode, "REFUSED");
  assert.equal(r.flag_aa, false);
  assert.equal(r.ecsScope, 0);
  assert.equal(r.answers?.length ?? 0, 0);
});

Deno.test("handleQuery() answers NXDOMAIN and NODATA with the SOA at the negative TTL", () => {
  const { handler } = setup();
  const nx = ask(handler, "nope.meridian.test", { subnet: "81.2.69.0/24" });
  assert.equal(nx.rcode, "NXDOMAIN");
  assert.equal(nx.flag_aa, true);
  assert.equal(nx.authorities![0]!.type, "SOA");
  assert.equal(nx.authorities![0]!.ttl, 60);
  assert.equal(nx.ecsScope, 0);
  const nodata = ask(handler, "mail.meridian.test", { type: "AAAA" });
  assert.equal(nodata.rcode, "NOERROR");
  assert.equal(nodata.answers?.length ?? 0, 0);
  assert.equal(nodata.authorities![0]!.type, "SOA");
  const ent = ask(handler, "b.deep.meridian.test");
  assert.equal(ent.rcode, "NOERROR", "an empty non-terminal exists");
  assert.equal(ask(handler, "x.a.b.deep.meridian.test").rcode, "NXDOMAIN");
});

Deno.test("handleQuery() answers static records: CNAME, TXT, MX, CAA, NS with glue, SOA", () => {
  const { handler } = setup();
  const www = ask(handler, "www.meridian.test");
  assert.equal(www.answers![0]!.type, "CNAME");
  assert.equal(www.answers![0]!.data, "live.meridian.test");
  assert.deepEqual(
    dataOf(ask(handler, "meridian.test", { type: "TXT" }).answers?.[0], "TXT")
      .map(String),
    ["v=meridian1"],
  );
  assert.deepEqual(
    ask(handler, "meridian.test", { type: "MX" }).answers![0]!.data,
    { preference: 10, exchange: "mail.meridian.test" },
  );
  assert.equal(
    dataOf(ask(handler, "meridian.test", { type: "CAA" }).answers?.[0], "CAA")
      .value,
    "letsencrypt.org",
  );
  const ns = ask(handler, "meridian.test", { type: "NS" });
  assert.equal(ns.answers![0]!.data, "ns1.meridian.test");
  assert.equal(ns.additionals!.find((a) => a.type === "A")!.data, "127.0.0.1");
  assert.equal(
    ask(handler, "meridian.test", { type: "SOA" }).answers![0]!.type,
    "SOA",
  );
});

Deno.test("handleQuery() answers ANY with one HINFO (RFC 8482) and CHAOS version.bind/id.server", () => {
  const { handler } = setup();
  const any = ask(handler, "live.meridian.test", { type: "ANY" });
  assert.equal(any.answers!.length, 1);
  assert.equal(any.answers![0]!.type, "HINFO");
  assert.equal(
    String(
      dataOf(
        ask(handler, "version.bind", { type: "TXT", qclass: "CH" }).answers
          ?.[0],
        "TXT",
      )[0],
    ),
    "Meridian test",
  );
  assert.equal(
    String(
      dataOf(
        ask(handler, "id.server", { type: "TXT", qclass: "CH" }).answers?.[0],
        "TXT",
      )[0],
    ),
    "sched-1",
  );
  assert.equal(
    ask(handler, "other.bind", { type: "TXT", qclass: "CH" }).rcode,
    "REFUSED",
  );
});

Deno.test("handleQuery() truncates big answers over UDP and sends them whole over TCP", () => {
  const { handler } = setup();
  const udp = ask(handler, "big.meridian.test", { type: "TXT", edns: false });
  assert.equal(udp.flag_tc, true);
  assert.equal(udp.answers?.length ?? 0, 0);
  const small = ask(handler, "big.meridian.test", {
    type: "TXT",
    payload: 600,
  });
  assert.equal(small.flag_tc, true, "the client's payload size is honoured");
  const tcp = ask(handler, "big.meridian.test", {
    type: "TXT",
    edns: false,
    transport: "tcp",
  });
  assert.equal(tcp.flag_tc, false);
  assert.equal(tcp.answers!.length, 12);
  assert.equal(
    ask(handler, "big.meridian.test", { type: "TXT", payload: 4096 }).flag_tc,
    true,
    "our 1232-byte cap holds",
  );
});

Deno.test("handleQuery() answers OPT only when asked with one, and keeps the question's case", () => {
  const { handler } = setup();
  const plain = ask(handler, "live.meridian.test", { edns: false });
  assert.equal(plain.additionals?.length ?? 0, 0);
  const q = encodePacket({
    type: "query",
    id: 1,
    questions: [{ name: "LiVe.MeRiDiAn.TeSt", type: "A", class: "IN" }],
  });
  const r = decodePacket(handler.handleQuery(q, RESOLVER)!);
  assert.equal(r.questions![0]!.name, "LiVe.MeRiDiAn.TeSt");
  assert.equal(r.id, 1);
});

Deno.test("handleQuery() answers FORMERR, NOTIMP and BADVERS from literal bytes", () => {
  const { handler, stats } = setup();
  const qd0 = new Uint8Array([0, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...handler.handleQuery(qd0, RESOLVER)!], [
    0,
    9,
    0x81,
    0x01,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  ]);
  const q = encodePacket({
    type: "query",
    id: 3,
    questions: [{ name: "live.meridian.test", type: "A" }],
  });
  const status = q.slice();
  status[2] = 0x10; // opcode 2 (STATUS)
  assert.equal(handler.handleQuery(status, RESOLVER)![3]! & 0x0f, 4);
  const v1 = encodePacket({
    type: "query",
    id: 3,
    questions: [{ name: "live.meridian.test", type: "A" }],
    additionals: [{
      type: "OPT",
      name: ".",
      udpPayloadSize: 1232,
      flags: 0,
      options: [],
    }],
  });
  v1[v1.length - 5] = 1; // OPT TTL's version byte
  const bad = decodePacket(handler.handleQuery(v1, RESOLVER)!);
  assert.equal(bad.rcode, "NOERROR", "header rcode 0; 16 lives in the OPT");
  assert.equal(
    (bad.additionals![0]! as unknown as { extendedRcode: number })
      .extendedRcode,
    1,
  );
  assert.ok(
    (stats.snapshot().rcodes as Record<string, number>)["BADVERS"]! >= 1,
  );
});

Deno.test("handleQuery() reuses precomputed templates for the same decision", () => {
  const { handler } = setup();
  ask(handler, "live.meridian.test", { subnet: "81.2.69.0/24" });
  const n = handler.cachedTemplates;
  for (let i = 0; i < 10; i++) {
    ask(handler, "live.meridian.test", { subnet: "81.2.69.0/24" });
  }
  assert.equal(handler.cachedTemplates, n);
});

Deno.test("explain() says what a subnet gets and why", () => {
  const { handler } = setup();
  const r = handler.explain("live.meridian.test", "81.2.69.0/24");
  assert.ok(typeof r !== "string");
  assert.deepEqual(r.answer!.edgeIds, ["fra1", "iad1"]);
  assert.ok(r.steps.some((s) => s.startsWith("geo_sort: client at London")));
  assert.equal(r.ecsScope, 24);
  assert.match(
    String(handler.explain("nope", "1.2.3.4")),
    /not a steered name/,
  );
});

Deno.test("warm() answers made-up clients without counting them and leaves answers unchanged", () => {
  const { handler, stats } = setup();
  const before = ask(handler, "live.meridian.test", { subnet: "81.2.69.0/24" });
  const countedBefore = stats.total;
  const routesBefore = handler.routing.size;
  assert.equal(handler.warm(2000), 2000);
  assert.equal(stats.total, countedBefore, "warm-up queries are not counted");
  assert.equal(
    handler.routing.size,
    routesBefore,
    "nor routed on the dashboard",
  );
  const after = ask(handler, "live.meridian.test", { subnet: "81.2.69.0/24" });
  assert.deepEqual(addresses(after), addresses(before));
  assert.equal(after.ecsScope, before.ecsScope);
  assert.equal(handler.warm(0), 0);
});

Deno.test("location-only chains share a decision per place; chains reading the client do not", () => {
  const { handler } = setup();
  // *.cdn: geo_sort → health → first_n (location only); two /24s of one place agree.
  const a = ask(handler, "x.cdn.meridian.test", { subnet: "81.2.69.0/25" });
  const b = ask(handler, "x.cdn.meridian.test", { subnet: "81.2.69.128/25" });
  assert.deepEqual(addresses(a), ["192.0.2.1"]);
  assert.deepEqual(addresses(b), addresses(a));
  assert.equal(a.ecsScope, 24, "scope is the database network's, not the /25");
});

Deno.test("a chain with sticky decides per client network even within one place", () => {
  const wide = { name: "geo_sort", toleranceKm: 20000 }; // every edge ties at rank 0
  const base = testConfig();
  const config = testConfig({
    zones: [{
      ...base.zones[0]!,
      steered: [
        {
          name: "sticky",
          ttlSeconds: 30,
          failoverTtlSeconds: 10,
          filters: [wide, { name: "sticky" }, { name: "first_n", count: 1 }],
        },
        {
          name: "placed",
          ttlSeconds: 30,
          failoverTtlSeconds: 10,
          filters: [wide, { name: "first_n", count: 1 }],
        },
      ],
    }],
  });
  const handler = new DnsHandler({
    authority: Authority.fromConfig(config),
    // One place for a whole /8, as a city database places a large network.
    geo: createStaticGeoLookup([{
      cidr: "100.0.0.0/8",
      record: { country: "DE", latitude: 50.1, longitude: 8.7 },
    }]),
    edges: new ConfigEdgeSource(config),
    health: new ManualHealth(),
    config,
  });
  const picks = (name: string) =>
    new Set(
      Array.from({ length: 32 }, (_, i) =>
        addresses(ask(handler, name, { subnet: `100.${i}.7.0/24` })).join()),
    );
  assert.ok(picks("sticky.meridian.test").size >= 2, "hashed per network");
  assert.equal(picks("placed.meridian.test").size, 1, "shared by the place");
});

Deno.test("decision caches stay within dns.answerCacheEntries whatever subnets ask", () => {
  const base = testConfig();
  const config = testConfig({
    dns: { ...base.dns, answerCacheEntries: 640, warmupQueries: 0 },
  });
  const handler = new DnsHandler({
    authority: Authority.fromConfig(config),
    // Every /24 its own place: both caches would grow with each new subnet.
    geo: {
      lookup: (a) => {
        const b = typeof a === "string" ? parseIp(a)!.bytes : a;
        return {
          record: { latitude: b[1]! - 90, longitude: b[2]! - 128 },
          prefixLength: 24,
          reserved: false,
        };
      },
    },
    edges: new ConfigEdgeSource(config),
    health: new ManualHealth(),
    config,
  });
  for (let i = 0; i < 20_000; i++) {
    const subnet = `${1 + (i % 200)}.${(i >> 8) & 255}.${i & 255}.0/24`;
    assert.equal(
      ask(handler, "x.cdn.meridian.test", { subnet }).rcode,
      "NOERROR",
    );
  }
  const { byClient, byPlace } = handler.cachedDecisions;
  assert.ok(byClient > 0 && byClient <= 640, `by client ${byClient}`);
  assert.ok(byPlace > 0 && byPlace <= 640, `by place ${byPlace}`);
});

/** Label bytes that presentation text has to escape, and a few that are merely unusual. */
const AWKWARD = [
  0x00,
  0x2e,
  0x5c,
  0x20,
  0x22,
  0x28,
  0x3b,
  0x40,
  0x7f,
  0xc3,
  0xff,
];

Deno.test("handleQuery() fuzz: names with random label bytes in our zone get replies that parse and echo the question", () => {
  const { handler } = setup();
  const next = createPrng(0x7e3a11);
  const suffixes = [
    ["meridian", "test"],
    ["cdn", "meridian", "test"],
    ["deep", "meridian", "test"],
    ["b", "deep", "meridian", "test"],
  ];
  const known = ["live", "www", "mail", "big", "x", "ns1"];
  const types = [1, 28, 16, 15, 2, 6, 5, 257, 255, 99];
  const rcodes = new Set<string>();
  for (let i = 0; i < 3000; i++) {
    const labels: (string | number[])[] = [];
    const count = next() % 3;
    for (let k = 0; k < count; k++) {
      const len = 1 + (next() % 12);
      labels.push(
        Array.from(
          { length: len },
          () =>
            next() % 3 === 0
              ? AWKWARD[next() % AWKWARD.length]!
              : next() & 0xff,
        ),
      );
    }
    if (count === 0 || next() % 4 === 0) {
      const word = known[next() % known.length]!;
      labels.push(next() % 2 ? word.toUpperCase() : word);
    }
    const name = wireName([...labels, ...suffixes[next() % suffixes.length]!]);
    if (name.length > 255) continue;
    const query = rawQuery(name, types[next() % types.length]!, {
      id: i,
      edns: next() % 2 === 0,
    });
    const transport = next() % 5 === 0 ? "tcp" : "udp";
    const reply = handler.handleQuery(query, { ...RESOLVER, transport });
    assert.ok(reply, `no reply to ${[...name]}`);
    let p: Packet;
    try {
      p = decodePacket(reply);
    } catch (e) {
      throw new Error(`reply to name ${[...name]} does not parse: ${e}`);
    }
    const questionEnd = 12 + name.length + 4;
    assert.deepEqual(
      [...reply.subarray(12, questionEnd)],
      [...query.subarray(12, questionEnd)],
      `question echoed exactly for ${[...name]}`,
    );
    assert.equal(p.id, i);
    rcodes.add(p.rcode!);
    if ((p.answers?.length ?? 0) > 0 && !p.flag_tc) {
      // The first answer belongs to the question's own name: a pointer to offset 12.
      assert.deepEqual([...reply.subarray(questionEnd, questionEnd + 2)], [
        0xc0,
        12,
      ]);
    }
  }
  assert.deepEqual([...rcodes].sort(), ["NOERROR", "NXDOMAIN"]);
});

Deno.test("handleQuery() keeps labels holding '.' or '\\' whole: no wildcard or zone matches across them", () => {
  const { handler } = setup();
  const ask = (labels: (string | number[])[]) => {
    const name = wireName(labels);
    const reply = handler.handleQuery(rawQuery(name, 1), RESOLVER)!;
    return decodePacket(reply);
  };
  // "x.cdn" is one label under the apex: *.cdn does not match it.
  assert.equal(ask(["x.cdn", "meridian", "test"]).rcode, "NXDOMAIN");
  assert.deepEqual(addresses(ask(["x", "cdn", "meridian", "test"])).length, 1);
  // "x.meridian" is one label under "test": not our zone at all.
  assert.equal(ask(["x.meridian", "test"]).rcode, "REFUSED");
  // A label ending in '\\' before the apex still leaves the apex's dot a separator.
  assert.equal(ask(["x\\", "meridian", "test"]).rcode, "NXDOMAIN");
  assert.equal(ask([[0], "cdn", "meridian", "test"]).answers?.length, 1);
});

Deno.test("handleQuery() answers names at and below an NS below the apex with a referral (AA clear, NS and glue)", () => {
  const base = testConfig();
  const config = testConfig({
    zones: [{
      ...base.zones[0]!,
      records: [
        ...base.zones[0]!.records,
        { name: "sub", type: "NS", ttl: 300, value: "ns.sub" },
        { name: "sub", type: "NS", ttl: 300, value: "ns1" },
        { name: "ns.sub", type: "A", ttl: 300, value: "192.0.2.53" },
      ],
    }],
  });
  const handler = new DnsHandler({
    authority: Authority.fromConfig(config),
    geo: GEO,
    edges: new ConfigEdgeSource(config),
    health: new ManualHealth(),
    config,
  });
  for (
    const [name, type] of [["www.sub.meridian.test", "A"], [
      "sub.meridian.test",
      "NS",
    ], ["ns.sub.meridian.test", "A"]]
  ) {
    const r = ask(handler, name!, { type: type! });
    assert.equal(r.rcode, "NOERROR", name);
    assert.equal(r.flag_aa, false, `${name}: not authoritative`);
    assert.equal(r.answers?.length ?? 0, 0);
    assert.deepEqual(
      r.authorities!.map((a) => [a.name, a.type, a.data]),
      [["sub.meridian.test", "NS", "ns.sub.meridian.test"], [
        "sub.meridian.test",
        "NS",
        "ns1.meridian.test",
      ]],
    );
    assert.deepEqual(
      r.additionals!.filter((a) => a.type !== "OPT").map((
        a,
      ) => [a.name, a.data]),
      [["ns.sub.meridian.test", "192.0.2.53"], [
        "ns1.meridian.test",
        "127.0.0.1",
      ]],
    );
  }
  const ds = ask(handler, "sub.meridian.test", { type: "DS" });
  assert.equal(ds.flag_aa, true, "DS is the parent's: answered, NODATA");
  assert.equal(ds.authorities![0]!.type, "SOA");
});

Deno.test("handleQuery() follows CNAME chains inside the zone (RFC 1034 §4.3.2 step 3a): steered, static, NXDOMAIN, NODATA, outside", () => {
  const base = testConfig();
  const config = testConfig({
    zones: [{
      ...base.zones[0]!,
      records: [
        ...base.zones[0]!.records,
        ...[["a", "b"], ["b", "mail"], ["gone", "nothere"], [
          "out",
          "example.com.",
        ], ["w", "x.cdn"]]
          .map(([name, value]) => ({
            name: name!,
            type: "CNAME",
            ttl: 60,
            value: value!,
          })),
      ],
    }],
  });
  const handler = new DnsHandler({
    authority: Authority.fromConfig(config),
    geo: GEO,
    edges: new ConfigEdgeSource(config),
    health: new ManualHealth(),
    config,
  });
  const chainOf = (p: Packet) =>
    (p.answers ?? []).map((a) => `${a.name} ${a.type} ${a.data}`);
  // www CNAME live (steered): the CNAME, then live's answer for this client, with its scope.
  const www = ask(handler, "WWW.meridian.test", { subnet: "81.2.69.0/24" });
  assert.deepEqual(chainOf(www), [
    "WWW.meridian.test CNAME live.meridian.test",
    "live.meridian.test A 192.0.2.1",
    "live.meridian.test A 192.0.2.2",
  ]);
  assert.equal(www.ecsScope, 24);
  assert.deepEqual(
    addresses(ask(handler, "www.meridian.test", { subnet: "1.1.1.0/24" })),
    ["192.0.2.3", "192.0.2.2"],
    "the decision is per client",
  );
  assert.deepEqual(chainOf(ask(handler, "a.meridian.test")), [
    "a.meridian.test CNAME b.meridian.test",
    "b.meridian.test CNAME mail.meridian.test",
    "mail.meridian.test A 192.0.2.25",
  ]);
  const nodata = ask(handler, "a.meridian.test", { type: "AAAA" });
  assert.equal(nodata.rcode, "NOERROR");
  assert.equal(nodata.answers!.length, 2);
  assert.equal(nodata.authorities![0]!.type, "SOA");
  const gone = ask(handler, "gone.meridian.test");
  assert.equal(gone.rcode, "NXDOMAIN", "RFC 6604: the last name's rcode");
  assert.equal(gone.flag_aa, true);
  assert.deepEqual(chainOf(gone), [
    "gone.meridian.test CNAME nothere.meridian.test",
  ]);
  assert.equal(gone.authorities![0]!.type, "SOA");
  const out = ask(handler, "out.meridian.test");
  assert.equal(out.rcode, "NOERROR");
  assert.deepEqual(chainOf(out), ["out.meridian.test CNAME example.com"]);
  assert.equal(out.authorities?.length ?? 0, 0);
  assert.deepEqual(
    chainOf(ask(handler, "w.meridian.test", { subnet: "1.1.1.0/24" })),
    [
      "w.meridian.test CNAME x.cdn.meridian.test",
      "x.cdn.meridian.test A 192.0.2.3",
    ],
  );
  assert.deepEqual(
    chainOf(ask(handler, "a.meridian.test", { type: "CNAME" })),
    ["a.meridian.test CNAME b.meridian.test"],
    "asked for the CNAME itself: only it",
  );
});

Deno.test("handleQuery() classes each response for RRL: answers by node (wildcards as one), NXDOMAIN by zone, errors by network", () => {
  const { handler } = setup();
  const cls = createResponseClass();
  const classOf = (labels: string[], qtype = 1) => {
    handler.handleQuery(rawQuery(wireName(labels), qtype), RESOLVER, cls);
    return `${cls.kind}|${cls.name}|${cls.qtype}`;
  };
  const { Answer, Nodata, Nxdomain, Error } = ResponseKind;
  assert.equal(
    classOf(["live", "meridian", "test"]),
    `${Answer}|live.meridian.test|1`,
  );
  assert.equal(
    classOf(["LIVE", "meridian", "test"], 28),
    `${Answer}|live.meridian.test|28`,
  );
  assert.equal(
    classOf(["r1", "cdn", "meridian", "test"]),
    `${Answer}|*.cdn.meridian.test|1`,
  );
  assert.equal(
    classOf(["r2", "cdn", "meridian", "test"]),
    `${Answer}|*.cdn.meridian.test|1`,
  );
  assert.equal(
    classOf(["www", "meridian", "test"]),
    `${Answer}|www.meridian.test|1`,
  );
  assert.equal(
    classOf(["mail", "meridian", "test"], 28),
    `${Nodata}|mail.meridian.test|28`,
  );
  assert.equal(
    classOf(["r3", "meridian", "test"]),
    `${Nxdomain}|meridian.test|0`,
  );
  assert.equal(
    classOf(["r4", "meridian", "test"]),
    `${Nxdomain}|meridian.test|0`,
  );
  assert.equal(classOf(["example", "com"]), `${Error}||0`);
  handler.handleQuery(
    new Uint8Array([0, 1, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0]),
    RESOLVER,
    cls,
  );
  assert.equal(cls.kind, Error, "FORMERR");
});

Deno.test("handleQuery() steers a per-stream name {stream}.{app}.live to the edge pulling it, per stream, dropping decisions when streams change", () => {
  const base = testConfig();
  const eu = [
    { ...base.edges[0]!, id: "fra1", address: "192.0.2.1" },
    {
      ...base.edges[0]!,
      id: "ams1",
      address: "192.0.2.4",
      latitude: 52.37,
      longitude: 4.9,
    },
    {
      ...base.edges[0]!,
      id: "par1",
      address: "192.0.2.5",
      latitude: 48.86,
      longitude: 2.35,
    },
  ];
  const config = testConfig({
    edges: eu,
    zones: [{
      ...base.zones[0]!,
      steered: [{
        name: "*.live",
        ttlSeconds: 30,
        failoverTtlSeconds: 10,
        filters: [
          { name: "geo_sort" },
          { name: "health" },
          { name: "stream_affinity" },
          { name: "sticky" },
          { name: "first_n", count: 1 },
        ],
      }],
    }],
  });
  const edges = new ConfigEdgeSource(config);
  const handler = new DnsHandler({
    authority: Authority.fromConfig(config),
    geo: createStaticGeoLookup([{
      cidr: "81.0.0.0/8",
      record: { country: "GB", latitude: 51.5, longitude: -0.1 },
    }]),
    edges,
    health: new ManualHealth(),
    config,
  });
  const answersFor = (name: string) =>
    new Set(
      Array.from({ length: 40 }, (_, i) =>
        addresses(ask(handler, name, { subnet: `81.${i}.1.0/24` }))[0]),
    );
  // A name without a stream (one label) spreads by client; each stream sticks to one edge.
  assert.ok(answersFor("x.live.meridian.test").size >= 2);
  const demo = answersFor("demo.live.live.meridian.test");
  assert.equal(demo.size, 1);
  // par1 starts pulling it: new decisions follow it (the cache was dropped).
  edges.setStreams("par1", [{ key: streamKey("live", "demo"), viewers: 3 }]);
  assert.deepEqual([...answersFor("demo.live.live.meridian.test")], [
    "192.0.2.5",
  ]);
  assert.deepEqual([...answersFor("DEMO.Live.live.meridian.test")], [
    "192.0.2.5",
  ], "DNS names are case-insensitive; so are stream keys");
  // Another stream is not affected by demo's holders.
  assert.equal(answersFor("other.live.live.meridian.test").size, 1);
  const explained = handler.explain(
    "demo.live.live.meridian.test",
    "81.3.1.0/24",
  );
  assert.ok(typeof explained !== "string");
  assert.equal(explained.stream, streamKey("live", "demo"));
  assert.ok(
    explained.steps.some((s) =>
      /\(par1:3\) → 1 edge\(s\): par1 \(pulls it\)/.test(s)
    ),
    explained.steps.join("\n"),
  );
});
