/** The ASN files: the real ip-location-db data from node_modules, errors, and reload. */
import assert from "node:assert/strict";
import {
  AsnDatabaseError,
  findDefaultAsnDatabase,
  openAsnDatabase,
  parseIp,
} from "../../geo/mod.ts";
import { firstRangeOf } from "./_asn_data.ts";

const V4 = findDefaultAsnDatabase("asn-ipv4-num.csv");
const V6 = findDefaultAsnDatabase("asn-ipv6-num.csv");
if (!V4 || !V6) {
  console.warn(
    "SKIP geo/asn real-data tests: npm @ip-location-db/asn is not installed (deno install)",
  );
}

Deno.test({
  name:
    "openAsnDatabase() loads the shipped data: the Chinese carriers' ASNs, organisations, both families",
  ignore: !V4 || !V6,
  async fn() {
    const db = await openAsnDatabase({ reloadCheckMs: 0 });
    try {
      const [v4, v6] = db.info;
      assert.ok(v4!.ipv4Ranges > 100_000, `v4 ranges ${v4!.ipv4Ranges}`);
      assert.ok(v6!.ipv6Ranges > 10_000, `v6 ranges ${v6!.ipv6Ranges}`);
      for (
        const [asn, org] of [
          [4134, /chinanet/i],
          [4837, /unicom/i],
          [9808, /mobile/i],
          [4538, /education/i],
        ] as const
      ) {
        const ip = await firstRangeOf(asn);
        const r = db.lookup(parseIp(ip)!.bytes);
        assert.equal(r.asn, asn, `${ip}`);
        assert.match(r.org, org);
        assert.ok(r.prefixLength >= 8 && r.prefixLength <= 32);
      }
      assert.equal(db.lookup(parseIp("1.1.1.1")!.bytes).asn, 13335);
      assert.ok(db.lookup(parseIp("2001:4860:4860::8888")!.bytes).asn > 0);
    } finally {
      db.close();
    }
  },
});

Deno.test("openAsnDatabase() names a missing file, and a malformed one with its line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      openAsnDatabase({ ipv4Path: `${dir}/nope.csv`, reloadCheckMs: 0 }),
      (e: unknown) =>
        e instanceof AsnDatabaseError && e.message.includes(`${dir}/nope.csv`),
    );
    const bad = `${dir}/bad.csv`;
    await Deno.writeTextFile(
      bad,
      "1.0.0.0,1.0.0.255,13335,x\n1.0.1.0,oops,1,y\n",
    );
    await assert.rejects(
      openAsnDatabase({ ipv4Path: bad, reloadCheckMs: 0 }),
      (e: unknown) =>
        e instanceof AsnDatabaseError && e.path === bad && e.line === 2 &&
        /bad\.csv line 2/.test(e.message),
    );
    await assert.rejects(
      openAsnDatabase({ baseDir: dir, reloadCheckMs: 0 }),
      (e: unknown) =>
        e instanceof AsnDatabaseError && /not installed/.test(e.message) &&
        e.message.includes("asn-ipv4-num.csv"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openAsnDatabase() swaps a replaced file in whole, keeps the old table on a bad one, and answers throughout", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/asn.csv`;
  try {
    const rows = (asn: number) =>
      Array.from(
        { length: 20_000 },
        (_, i) =>
          `${i * 256},${i * 256 + 255},${i === 1 ? asn : 64512 + i % 7},o`,
      ).join("\n");
    await Deno.writeTextFile(path, rows(111));
    const events: { path: string; error?: unknown }[] = [];
    const db = await openAsnDatabase({
      ipv4Path: path,
      reloadCheckMs: 0,
      onReload: (e) => events.push(e),
    });
    try {
      const probe = parseIp("0.0.1.9")!.bytes;
      assert.equal(db.lookup(probe).asn, 111);
      assert.equal(await db.checkForUpdates(), 0);
      await Deno.writeTextFile(`${path}.new`, rows(222));
      await Deno.utime(`${path}.new`, new Date(), new Date(Date.now() + 5000));
      await Deno.rename(`${path}.new`, path);
      // Lookups while the new file is parsed see the old table, never a partial one.
      const during: number[] = [];
      let done = false;
      const reload = db.checkForUpdates().finally(() => done = true);
      const deadline = Date.now() + 10_000;
      while (!done && Date.now() < deadline) {
        during.push(db.lookup(probe).asn);
        await new Promise((r) => setTimeout(r, 0));
      }
      assert.equal(await reload, 1);
      assert.ok(during.length > 0 && during.every((a) => a === 111), "old");
      assert.equal(db.lookup(probe).asn, 222);
      assert.equal(db.info[0]!.generation, 2);
      // A broken replacement: reported, and the last good table keeps answering.
      await Deno.writeTextFile(path, "garbage\n");
      await Deno.utime(path, new Date(), new Date(Date.now() + 9000));
      assert.equal(await db.checkForUpdates(), 0);
      assert.ok(events.at(-1)?.error instanceof AsnDatabaseError);
      assert.equal(db.lookup(probe).asn, 222);
    } finally {
      db.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
