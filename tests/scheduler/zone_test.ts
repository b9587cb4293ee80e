import assert from "node:assert/strict";
import { ConfigError } from "../../config/mod.ts";
import { SCHEDULER_DEFAULTS } from "../../config/scheduler_schema.ts";
import { Authority, parseZone } from "../../scheduler/zone.ts";

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
