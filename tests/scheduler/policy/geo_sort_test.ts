import assert from "node:assert/strict";
import { haversineKm } from "../../../geo/mod.ts";
import { runChain } from "../../../scheduler/policy/chain.ts";
import { parseFilterChain } from "../../../scheduler/policy/registry.ts";
import type { EdgeView } from "../../../scheduler/policy/types.ts";
import { mulberry32, randInt } from "../../_helpers/prng.ts";

const TTL = { ttlSeconds: 30, failoverTtlSeconds: 10 };

function views(rand: () => number, n: number): EdgeView[] {
  return Array.from({ length: n }, (_, i) => ({
    edge: {
      id: `e${i}`,
      address: `192.0.2.${i % 250}`,
      address6: "",
      region: "r",
      // Some edges share a place, so equal distances (input order kept) are exercised too.
      latitude: i % 7 === 0 ? 50 : rand() * 180 - 90,
      longitude: i % 7 === 0 ? 8 : rand() * 360 - 180,
      capacity: 100,
      healthTarget: "",
    },
    up: true,
    draining: false,
    load: 0,
  }));
}

/** What geo_sort must answer, computed the slow, obvious way. */
function reference(
  vs: readonly EdgeView[],
  lat: number,
  lon: number,
  bias: Record<string, number>,
): string[] {
  const d = vs.map((v, i) => ({
    id: v.edge.id,
    i,
    km: haversineKm({ latitude: lat, longitude: lon }, v.edge) +
      (bias[v.edge.id] ?? 0),
  }));
  d.sort((a, b) => a.km - b.km || a.i - b.i);
  return d.map((x) => x.id);
}

Deno.test("geo_sort() ranks like a haversine sort for random edges and places (seeded)", () => {
  const rand = mulberry32(20261125);
  for (let round = 0; round < 20; round++) {
    const vs = views(rand, 5 + randInt(rand, 300));
    const bias: Record<string, number> = {};
    for (let i = 0; i < 5; i++) {
      bias[`e${randInt(rand, vs.length)}`] = randInt(rand, 4000) - 2000;
    }
    const toleranceKm = [0, 1, 50, 500][round % 4]!;
    const filters = parseFilterChain(
      [{ name: "geo_sort", bias, toleranceKm }],
      "t",
    );
    for (let k = 0; k < 25; k++) {
      // Places near cell edges, poles and the antimeridian as well as anywhere.
      const lat = k % 5 === 0 ? 89.9 - rand() : rand() * 180 - 90;
      const lon = k % 6 === 0 ? 179.99 : rand() * 360 - 180;
      const got = runChain(
        {
          qname: "live.meridian.test",
          qtype: "A",
          client: { bytes: new Uint8Array([81, 2, 69, 0]), prefixLength: 24 },
          geo: {
            record: { latitude: lat, longitude: lon },
            prefixLength: 24,
            reserved: false,
          },
        },
        filters,
        vs,
        TTL,
      );
      const want = reference(vs, lat, lon, bias);
      // Distances that differ by less than a millimetre may come out in either order
      // (haversine and chord formulas round differently); compare where they differ more.
      const km = (id: string) => {
        const v = vs.find((x) => x.edge.id === id)!;
        return haversineKm({ latitude: lat, longitude: lon }, v.edge) +
          (bias[id] ?? 0);
      };
      for (let i = 0; i + 1 < got.edgeIds.length; i++) {
        const a = km(got.edgeIds[i]!);
        const b = km(got.edgeIds[i + 1]!);
        assert.ok(a <= b + 1e-6, `round ${round} place ${k}: order at ${i}`);
      }
      assert.deepEqual(
        [...got.edgeIds].sort(),
        [...want].sort(),
        "every edge kept",
      );
      assert.equal(got.edgeIds[0], want[0], "nearest first");
    }
  }
});

Deno.test("geo_sort() keeps configured order for equal distances and ranks within tolerance", () => {
  const vs = views(mulberry32(7), 30).map((v, i) =>
    i < 3 ? { ...v, edge: { ...v.edge, latitude: 48.85, longitude: 2.35 } } : v
  );
  const filters = parseFilterChain(
    [{ name: "geo_sort", toleranceKm: 500 }],
    "t",
  );
  const a = runChain(
    {
      qname: "x",
      qtype: "A",
      client: { bytes: new Uint8Array(4), prefixLength: 24 },
      geo: {
        record: { latitude: 48.85, longitude: 2.35 },
        prefixLength: 20,
        reserved: false,
      },
    },
    filters,
    vs,
    TTL,
  );
  assert.deepEqual(a.edgeIds.slice(0, 3), ["e0", "e1", "e2"]);
  assert.equal(a.scopePrefix, 20);
});
