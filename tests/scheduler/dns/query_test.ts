import assert from "node:assert/strict";
import { Rcode } from "../../../scheduler/dns/constants.ts";
import { DnsQueryError } from "../../../scheduler/dns/errors.ts";
import { parseQuery } from "../../../scheduler/dns/query.ts";
import { encodePacket } from "../../../scheduler/dns/packet.ts";

/** `LIVE.meridian.test A IN`, id 0xbeef, RD. */
const HEADER = [0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0];
const QNAME = [
  4,
  0x4c,
  0x49,
  0x56,
  0x45,
  8,
  ...new TextEncoder().encode("meridian"),
  4,
  ...new TextEncoder().encode("test"),
  0,
];
const QUESTION = [...QNAME, 0, 1, 0, 1];

/** OPT with payload 1232 and the given option bytes. */
function opt(options: number[], version = 0): number[] {
  return [
    0,
    0,
    41,
    0x04,
    0xd0,
    0,
    version,
    0,
    0,
    options.length >> 8,
    options.length & 0xff,
    ...options,
  ];
}
function ecs(data: number[]): number[] {
  return [0, 8, 0, data.length, ...data];
}
function query(additional: number[][] = [], header = HEADER): Uint8Array {
  return new Uint8Array([
    ...header,
    0,
    additional.length,
    ...QUESTION,
    ...additional.flat(),
  ]);
}

Deno.test("parseQuery() reads a plain query from literal bytes", () => {
  const q = parseQuery(query())!;
  assert.equal(q.id, 0xbeef);
  assert.equal(q.name, "live.meridian.test");
  assert.equal(q.qtype, 1);
  assert.equal(q.qclass, 1);
  assert.equal(q.nameBytes, QNAME.length);
  assert.equal(q.questionEnd, 12 + QUESTION.length);
  assert.equal(q.edns, undefined);
});

Deno.test("parseQuery() reads OPT and a valid ECS option", () => {
  const q = parseQuery(query([opt(ecs([0, 1, 24, 0, 81, 2, 69]))]))!;
  assert.equal(q.edns?.udpPayloadSize, 1232);
  assert.equal(q.edns?.version, 0);
  assert.deepEqual([...q.edns!.clientSubnet!.address], [81, 2, 69, 0]);
  assert.equal(q.edns!.clientSubnet!.sourcePrefixLength, 24);
  const v6 = parseQuery(
    query([opt(ecs([0, 2, 56, 0, 0x2a, 0, 0x14, 0x50, 0, 0, 0]))]),
  )!;
  assert.equal(v6.edns!.clientSubnet!.address.length, 16);
  const zero = parseQuery(query([opt(ecs([0, 1, 0, 0]))]))!;
  assert.equal(zero.edns!.clientSubnet!.sourcePrefixLength, 0);
});

Deno.test("parseQuery() agrees with dns-packet's encoding", () => {
  const bytes = encodePacket({
    type: "query",
    id: 7,
    flags: 1 << 8,
    questions: [{ name: "Live.Meridian.TEST", type: "AAAA", class: "IN" }],
    additionals: [{
      type: "OPT",
      name: ".",
      udpPayloadSize: 4096,
      flags: 0x8000,
      options: [{
        code: 8,
        family: 1,
        sourcePrefixLength: 20,
        scopePrefixLength: 0,
        ip: "8.8.0.0",
      }],
    }],
  });
  const q = parseQuery(bytes)!;
  assert.equal(q.name, "live.meridian.test");
  assert.equal(q.qtype, 28);
  assert.equal(q.edns?.doBit, true);
  assert.equal(q.edns?.clientSubnet?.sourcePrefixLength, 20);
});

const MALFORMED_ECS: [string, number[]][] = [
  ["unknown family", [0, 3, 0, 0]],
  ["short option", [0, 1, 24]],
  ["source prefix too long (v4)", [0, 1, 33, 0, 1, 2, 3, 4, 5]],
  ["source prefix too long (v6)", [0, 2, 129, 0, ...new Array(17).fill(0)]],
  ["address longer than prefix", [0, 1, 24, 0, 81, 2, 69, 0]],
  ["address shorter than prefix", [0, 1, 24, 0, 81, 2]],
  ["bits set past the prefix", [0, 1, 22, 0, 81, 2, 71]],
  ["non-zero scope in a query", [0, 1, 24, 24, 81, 2, 69]],
];
for (const [what, data] of MALFORMED_ECS) {
  Deno.test(`parseQuery() answers FORMERR for ECS with ${what}`, () => {
    assert.throws(() => parseQuery(query([opt(ecs(data))])), (e: unknown) => {
      assert.ok(e instanceof DnsQueryError);
      assert.equal(e.rcode, Rcode.FormErr);
      assert.ok(e.partial.hasOpt, "the error reply carries OPT");
      return true;
    });
  });
}

Deno.test("parseQuery() answers FORMERR for two ECS options and two OPT records", () => {
  const two = opt([...ecs([0, 1, 0, 0]), ...ecs([0, 1, 0, 0])]);
  assert.throws(() => parseQuery(query([two])), /more than one ECS/);
  assert.throws(
    () => parseQuery(query([opt([]), opt([])])),
    /more than one OPT/,
  );
});

Deno.test("parseQuery() answers BADVERS for EDNS version 1, FORMERR for QDCOUNT 2, NOTIMP for NOTIFY", () => {
  assert.throws(
    () => parseQuery(query([opt([], 1)])),
    (e: unknown) => e instanceof DnsQueryError && e.rcode === Rcode.BadVers,
  );
  const qd2 = new Uint8Array([
    ...HEADER.slice(0, 4),
    0,
    2,
    0,
    0,
    0,
    0,
    0,
    0,
    ...QUESTION,
    ...QUESTION,
  ]);
  assert.throws(
    () => parseQuery(qd2),
    (e: unknown) => e instanceof DnsQueryError && e.rcode === Rcode.FormErr,
  );
  const notify = query([], [0xbe, 0xef, 0x20, 0x00, 0, 1, 0, 0, 0, 0]);
  assert.throws(
    () => parseQuery(notify),
    (e: unknown) => e instanceof DnsQueryError && e.rcode === Rcode.NotImp,
  );
});

Deno.test("parseQuery() ignores responses and runts", () => {
  assert.equal(parseQuery(new Uint8Array(11)), undefined);
  assert.equal(
    parseQuery(query([], [0xbe, 0xef, 0x81, 0x00, 0, 1, 0, 0, 0, 0])),
    undefined,
  );
});

/** Mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("parseQuery() fuzz: mutated queries parse or throw DnsQueryError, never anything else", () => {
  const rnd = prng(0x5eed);
  const seeds = [
    query(),
    query([opt(ecs([0, 1, 24, 0, 81, 2, 69]))]),
    query([opt(ecs([0, 2, 56, 0, 0x2a, 0, 0x14, 0x50, 0, 0, 0]))]),
  ];
  let parsed = 0;
  for (let i = 0; i < 20_000; i++) {
    const base = seeds[i % seeds.length]!;
    let b = base.slice();
    const kind = Math.floor(rnd() * 4);
    if (kind === 0) b = b.slice(0, Math.floor(rnd() * b.length));
    else if (kind === 1) {
      for (let k = 0; k < 3; k++) {
        b[Math.floor(rnd() * b.length)]! ^= 1 << Math.floor(rnd() * 8);
      }
    } else if (kind === 2) b[Math.floor(rnd() * b.length)] = 0xff;
    else {b = new Uint8Array([
        ...b,
        ...Array.from(
          { length: Math.floor(rnd() * 8) },
          () => Math.floor(rnd() * 256),
        ),
      ]);}
    try {
      const q = parseQuery(b);
      if (q) {
        parsed++;
        assert.ok(q.questionEnd <= b.length);
      }
    } catch (e) {
      if (!(e instanceof DnsQueryError)) {
        throw new Error(`input ${[...b]} threw ${e}`);
      }
    }
  }
  assert.ok(parsed > 100, `some mutants still parse (${parsed})`);
});

Deno.test("parseQuery() names stay right through the name cache (case, collisions, reuse)", () => {
  const q = (name: string) =>
    parseQuery(
      encodePacket({
        type: "query",
        id: 1,
        flags: 0,
        questions: [{ name, type: "A", class: "IN" }],
      }),
    )!;
  assert.equal(q("LIVE.Meridian.TEST").name, "live.meridian.test");
  assert.equal(q("live.meridian.test").name, "live.meridian.test");
  // More names than cache slots, twice over: every answer is the name that was asked.
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 3000; i++) {
      const name = `n${i}.x${i % 7}.meridian.test`;
      assert.equal(q(name.toUpperCase()).name, name);
    }
  }
});

/** A question name of exactly `wireBytes` octets on the wire (root label included). */
function nameOfWireLength(wireBytes: number): number[] {
  const out: number[] = [];
  let left = wireBytes - 1; // the root label's octet
  while (left > 0) {
    const len = Math.min(63, left - 1);
    out.push(len, ...new Array(len).fill(0x61));
    left -= len + 1;
  }
  return [...out, 0];
}

Deno.test("parseQuery() takes a 255-octet name and answers FORMERR for 256 octets (RFC 1035 §2.3.4)", () => {
  const ask = (wireBytes: number) =>
    parseQuery(
      new Uint8Array([
        ...HEADER,
        0,
        0,
        ...nameOfWireLength(wireBytes),
        0,
        1,
        0,
        1,
      ]),
    );
  assert.equal(nameOfWireLength(255).length, 255);
  assert.equal(ask(255)!.nameBytes, 255);
  for (const n of [256, 257]) {
    assert.throws(() => ask(n), (e: unknown) => {
      assert.ok(e instanceof DnsQueryError, `${n} octets`);
      assert.equal(e.rcode, Rcode.FormErr);
      assert.match(e.reason, /over 255/);
      return true;
    });
  }
});
