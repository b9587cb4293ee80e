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
