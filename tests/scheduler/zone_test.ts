import assert from "node:assert/strict";
import { ConfigError } from "../../config/mod.ts";
import { SCHEDULER_DEFAULTS } from "../../config/scheduler_schema.ts";
import { Authority, MAX_CNAME_CHAIN, parseZone } from "../../scheduler/zone.ts";

const ZONE = SCHEDULER_DEFAULTS.zones[0]!;

Deno.test("Authority.lookup() finds nodes, wildcards, empty non-terminals and foreign names", () => {
  const a = Authority.fromConfig({
    zones: [{
      ...ZONE,
      records: [...ZONE.records, {
        name: "x.y",
        type: "A",
        ttl: 1,
        value: "192.0.2.1",
      }],
      steered: [...ZONE.steered, {
        name: "*.w",
        ttlSeconds: 1,
        failoverTtlSeconds: 1,
        filters: [],
      }],
    }],
  });
  assert.equal(a.lookup("live.meridian.test").kind, "node");
  assert.equal(a.lookup("y.meridian.test").kind, "nodata");
  assert.equal(a.lookup("z.meridian.test").kind, "nxdomain");
  const w = a.lookup("deep.er.w.meridian.test");
  assert.ok(w.kind === "node" && w.wildcard);
  assert.equal(a.lookup("meridian.testing").kind, "refused");
  assert.equal(a.lookup("com").kind, "refused");
});

Deno.test("parseZone() names the key of a bad record", () => {
  const bad = (records: unknown[]) => () =>
    parseZone({ ...ZONE, records } as typeof ZONE, "z");
  assert.throws(
    bad([{ name: "a", type: "A", ttl: 1, value: "::1" }]),
    (e: unknown) => e instanceof ConfigError && e.key === "z.records[0].value",
  );
  assert.throws(
    bad([{ name: "a", type: "SRV", ttl: 1, value: "x" }]),
    (e: unknown) => e instanceof ConfigError && e.key === "z.records[0].type",
  );
  assert.throws(
    bad([{ name: "a b", type: "A", ttl: 1, value: "192.0.2.1" }]),
    (e: unknown) => e instanceof ConfigError && e.key === "z.records[0].name",
  );
  assert.throws(
    bad([{ name: "c", type: "CNAME", ttl: 1, value: "x." }, {
      name: "c",
      type: "A",
      ttl: 1,
      value: "192.0.2.1",
    }]),
    ConfigError,
  );
});

const DELEGATED = [
  ...ZONE.records,
  { name: "sub", type: "NS", ttl: 300, value: "ns.sub" },
  { name: "sub", type: "NS", ttl: 300, value: "ns.example.net." },
  { name: "ns.sub", type: "A", ttl: 300, value: "192.0.2.53" },
];

Deno.test("Authority.lookup() refers names at and below a zone cut, whatever lives there", () => {
  const a = Authority.fromConfig({ zones: [{ ...ZONE, records: DELEGATED }] });
  for (
    const name of [
      "sub.meridian.test",
      "ns.sub.meridian.test",
      "a.b.sub.meridian.test",
    ]
  ) {
    const r = a.lookup(name);
    assert.equal(r.kind, "referral", name);
    assert.ok(r.kind === "referral" && r.cut === "sub.meridian.test");
  }
  assert.equal(a.lookup("live.meridian.test").kind, "node");
  assert.equal(a.lookup("nosub.meridian.test").kind, "nxdomain");
  assert.equal(
    a.lookup("x\\.sub.meridian.test").kind,
    "nxdomain",
    "one label 'x.sub'",
  );
});

Deno.test("parseZone() refuses data below a zone cut other than its NS and glue, naming the key", () => {
  const refused = (extra: unknown[], key: string, why: RegExp) =>
    assert.throws(
      () =>
        parseZone(
          { ...ZONE, records: [...DELEGATED, ...extra] } as typeof ZONE,
          "z",
        ),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.equal(e.key, key);
        assert.match(e.message, why);
        return true;
      },
    );
  const n = DELEGATED.length;
  refused(
    [{ name: "www.sub", type: "CNAME", ttl: 1, value: "live" }],
    `z.records[${n}].name`,
    /at or below the delegation of sub\.meridian\.test\./,
  );
  refused(
    [{ name: "sub", type: "TXT", ttl: 1, value: "x" }],
    `z.records[${n}].name`,
    /zone cut/,
  );
  refused(
    [{ name: "deeper.sub", type: "NS", ttl: 1, value: "ns.example.net." }],
    `z.records[${n}].name`,
    /no delegation below the delegation of sub\.meridian\.test\./,
  );
  refused(
    [{ name: "*.sub", type: "A", ttl: 1, value: "192.0.2.9" }],
    `z.records[${n}].name`,
    /zone cut/,
  );
  assert.throws(
    () =>
      parseZone(
        {
          ...ZONE,
          records: DELEGATED,
          steered: [{
            name: "tv.sub",
            ttlSeconds: 1,
            failoverTtlSeconds: 1,
            filters: [],
          }],
        } as typeof ZONE,
        "z",
      ),
    (e: unknown) => e instanceof ConfigError && e.key === "z.steered[0].name",
  );
});

const cnames = (pairs: [string, string][]) =>
  pairs.map(([name, value]) => ({ name, type: "CNAME", ttl: 60, value }));

Deno.test("Authority resolves in-zone CNAME chains at load: links, and where the last target leads", () => {
  const a = Authority.fromConfig({
    zones: [{
      ...ZONE,
      records: [
        ...ZONE.records,
        ...cnames([["a", "b"], ["b", "c"], ["c", "ns1"], ["gone", "nothere"], [
          "out",
          "example.com.",
        ], ["w", "x.cdn"]]),
      ],
      steered: [...ZONE.steered, {
        name: "*.cdn",
        ttlSeconds: 1,
        failoverTtlSeconds: 1,
        filters: [],
      }],
    }],
  });
  const chain = (name: string) => {
    const r = a.lookup(`${name}.meridian.test`);
    assert.ok(r.kind === "node");
    return a.chainOf(r.node)!;
  };
  const abc = chain("a");
  assert.deepEqual(abc.links.map((l) => l.target), [
    "b.meridian.test",
    "c.meridian.test",
    "ns1.meridian.test",
  ]);
  assert.equal(abc.end?.kind, "node");
  assert.equal(abc.end?.name, "ns1.meridian.test");
  assert.equal(chain("gone").end?.kind, "nxdomain");
  assert.equal(chain("out").end, undefined, "leaves the zone: not followed");
  const w = chain("w").end;
  assert.ok(
    w?.kind === "node" && w.node.steered?.owner === "*.cdn.meridian.test",
  );
});

Deno.test("Authority refuses CNAME loops and chains over MAX_CNAME_CHAIN at load, naming the zone", () => {
  const load = (records: unknown[]) => () =>
    Authority.fromConfig({
      zones: [
        {
          ...ZONE,
          records: [...ZONE.records, ...records],
        } as typeof ZONE,
      ],
    });
  assert.throws(
    load(cnames([["a", "b"], ["b", "c"], ["c", "a"]])),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.key, "scheduler.zones[0].records");
      assert.match(
        e.message,
        /without a loop, got a\.meridian\.test → b\.meridian\.test → c\.meridian\.test → a\.meridian\.test/,
      );
      return true;
    },
  );
  assert.throws(load(cnames([["self", "self"]])), /without a loop/);
  const long = cnames(
    Array.from(
      { length: MAX_CNAME_CHAIN + 1 },
      (_, i) => [`n${i}`, `n${i + 1}`],
    ),
  );
  assert.throws(load(long), /at most 8 records/);
  load(long.slice(1))(); // eight CNAMEs: fine
});
