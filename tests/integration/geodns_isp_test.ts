/**
 * Carrier-aware steering on real sockets with the shipped ASN data (npm @ip-location-db/asn):
 * dig and kdig ask with `+subnet=` prefixes of China Telecom, China Unicom and China Mobile
 * (taken from the data, not hard-coded), placed in Beijing and Guangzhou by the test's geo
 * table, and get their carrier's edge in their city; with that edge's health check failing,
 * the nearest other edge. `/api/explain` names the AS and carrier, and the dashboard counts
 * answers by carrier and on-net.
 */
import assert from "node:assert/strict";
import { AsnDatabaseError, createStaticGeoLookup } from "../../geo/mod.ts";
import { startScheduler } from "../../scheduler/mod.ts";
import { runPeer, waitFor } from "../_helpers/peers.ts";
import { ASN_V4_FILE, rangesOf } from "../geo/_asn_data.ts";
import { testConfig } from "../scheduler/_fixtures.ts";

async function has(cmd: string): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, {
      args: [cmd === "kdig" ? "-V" : "-v"],
      stdout: "null",
      stderr: "null",
    }).output()).success;
  } catch {
    return false;
  }
}
const HAVE_DIG = await has("dig");
const HAVE_KDIG = await has("kdig");
const SKIP = !ASN_V4_FILE
  ? "npm @ip-location-db/asn not installed (deno install)"
  : !HAVE_DIG || !HAVE_KDIG
  ? "'dig'/'kdig' not on PATH (apt-get install bind9-dnsutils knot-dnsutils)"
  : "";
if (SKIP) console.warn(`SKIP geodns_isp_test: ${SKIP}`);

/** A /healthz that can be made to fail. */
class Health {
  ok = true;
  readonly server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      new Response(this.ok ? "ok" : "down", { status: this.ok ? 200 : 503 }),
  );
  get url(): string {
    return `http://127.0.0.1:${
      (this.server.addr as Deno.NetAddr).port
    }/healthz`;
  }
}

const BJ = { latitude: 39.9, longitude: 116.4 };
const GZ = { latitude: 23.13, longitude: 113.26 };
const EDGES = [
  { id: "bj-ct", address: "192.0.2.11", at: BJ, isp: ["telecom"] },
  { id: "bj-cu", address: "192.0.2.12", at: BJ, isp: ["unicom"] },
  { id: "gz-cu", address: "192.0.2.22", at: GZ, isp: ["unicom"] },
  { id: "gz-ct", address: "192.0.2.21", at: GZ, isp: ["telecom"] },
  { id: "gz-cm", address: "192.0.2.23", at: GZ, isp: ["mobile"] },
] as const;

/** A /24 inside the first range of `asn` that holds a whole /24. */
async function prefixOf(asn: number): Promise<string> {
  for (const r of await rangesOf(asn, 50)) {
    const [a, b, c] = r.start.split(".").map(Number);
    const startN = ((a! << 24) | (b! << 16) | (c! << 8)) >>> 0;
    const [x, y, z, w] = r.end.split(".").map(Number);
    const endN = ((x! << 24) | (y! << 16) | (z! << 8) | w!) >>> 0;
    if (startN + 255 <= endN) return `${a}.${b}.${c}.0`;
  }
  throw new Error(`no /24 in AS${asn}'s first ranges`);
}

async function ask(
  tool: "dig" | "kdig",
  port: number,
  subnet: string,
): Promise<{ addresses: string[]; scope: number }> {
  const out = await runPeer(tool, [
    "@127.0.0.1",
    "-p",
    String(port),
    tool === "dig" ? "+time=2" : "+time=2",
    tool === "dig" ? "+tries=1" : "+retry=0",
    `+subnet=${subnet}`,
    "live.meridian.test",
    "A",
  ], 15_000);
  assert.equal(out.code, 0, out.stderr);
  const addresses = [
    ...out.stdout.matchAll(/^live\.meridian\.test\.\s+\d+\s+IN\s+A\s+(\S+)/gm),
  ].map((m) => m[1]!);
  // dig: "CLIENT-SUBNET: 1.2.3.0/24/24"; kdig: "CLIENT-SUBNET: 1.2.3.0/24/24"
  const scope = Number(
    /CLIENT-SUBNET: [^/\s]+\/\d+\/(\d+)/.exec(out.stdout)?.[1],
  );
  return { addresses, scope };
}

Deno.test({
  name:
    "isp_match over dig/kdig: each carrier's prefix gets its carrier's edge in its city, the nearest other edge when that one's health fails",
  ignore: SKIP !== "",
  async fn() {
    const telecom = await prefixOf(4134);
    const unicom = await prefixOf(4837);
    const mobile = await prefixOf(9808);
    const geo = createStaticGeoLookup([
      {
        cidr: `${telecom}/24`,
        record: { country: "CN", city: "Guangzhou", ...GZ },
      },
      {
        cidr: `${unicom}/24`,
        record: { country: "CN", city: "Beijing", ...BJ },
      },
      {
        cidr: `${mobile}/24`,
        record: { country: "CN", city: "Guangzhou", ...GZ },
      },
    ]);
    const health = new Map(EDGES.map((e) => [e.id, new Health()]));
    const base = testConfig();
    const config = testConfig({
      // Deno's UDP socket: the libc one is a dynamic library the test sanitizer counts.
      dns: { ...base.dns, udpSocket: "deno" },
      edges: EDGES.map((e) => ({
        id: e.id,
        address: e.address,
        address6: "",
        region: e.id.slice(0, 2),
        ...e.at,
        capacity: 100,
        healthUrl: health.get(e.id)!.url,
        isp: [...e.isp],
        asns: [],
      })),
      zones: [{
        ...testConfig().zones[0]!,
        steered: [{
          name: "live",
          ttlSeconds: 30,
          failoverTtlSeconds: 10,
          filters: [
            { name: "geo_sort" },
            { name: "isp_match" },
            { name: "health" },
            { name: "first_n", count: 1 },
            { name: "last_resort" },
          ],
        }],
      }],
    });
    const s = await startScheduler(config, { geo });
    try {
      for (const tool of ["dig", "kdig"] as const) {
        // Each time a nearer-or-equal edge of another carrier comes first in config order:
        // Guangzhou Telecom → gz-ct (not gz-cu); Beijing Unicom → bj-cu (not bj-ct);
        // Guangzhou Mobile → gz-cm (not gz-cu).
        assert.deepEqual(
          (await ask(tool, s.dnsPort, `${telecom}/24`)).addresses,
          ["192.0.2.21"],
          tool,
        );
        const cu = await ask(tool, s.dnsPort, `${unicom}/24`);
        assert.deepEqual(cu.addresses, ["192.0.2.12"], tool);
        assert.equal(cu.scope, 24, "the ASN range holds the whole /24");
        assert.deepEqual(
          (await ask(tool, s.dnsPort, `${mobile}/24`)).addresses,
          ["192.0.2.23"],
          tool,
        );
      }
      // The Mobile edge's health check fails: Guangzhou Mobile (no other Mobile edge) gets
      // the nearest other edge, the first of the Guangzhou ones.
      health.get("gz-cm")!.ok = false;
      await waitFor("gz-cm down", () => !s.health.isUp("gz-cm"), 10_000);
      for (const tool of ["dig", "kdig"] as const) {
        const r = await ask(tool, s.dnsPort, `${mobile}/24`);
        assert.deepEqual(r.addresses, ["192.0.2.22"], tool);
      }
      // The Beijing Unicom edge fails: another Unicom edge within withinKm (Guangzhou,
      // 1900 km) comes before the Beijing Telecom one; with it down too, Beijing Telecom.
      health.get("bj-cu")!.ok = false;
      await waitFor("bj-cu down", () => !s.health.isUp("bj-cu"), 10_000);
      assert.deepEqual(
        (await ask("dig", s.dnsPort, `${unicom}/24`)).addresses,
        ["192.0.2.22"],
      );
      health.get("gz-cu")!.ok = false;
      await waitFor("gz-cu down", () => !s.health.isUp("gz-cu"), 10_000);
      assert.deepEqual(
        (await ask("dig", s.dnsPort, `${unicom}/24`)).addresses,
        ["192.0.2.11"],
      );

      const explain = await (await fetch(
        `http://127.0.0.1:${s.httpPort}/api/explain?name=live.meridian.test&subnet=${unicom}/24`,
      )).json();
      assert.equal(explain.network.asn, 4837);
      assert.equal(explain.network.carrier, "unicom");
      assert.match(explain.network.org, /unicom/i);
      const line = (explain.steps as string[]).find((t) =>
        t.startsWith("isp_match")
      )!;
      assert.match(line, /carrier unicom/);
      assert.match(line, /bj-cu on unicom: on-net, first/);
      assert.match(line, /gz-cm on mobile: off-net, behind/);
      assert.match(explain.attribution, /RouteViews/);

      const dash =
        await (await fetch(`http://127.0.0.1:${s.httpPort}/api/dashboard`))
          .json();
      const byCarrier = new Map(
        (dash.routing.carriers as {
          carrier: string;
          queries: number;
          onNet: number;
        }[])
          .map((c) => [c.carrier, c]),
      );
      assert.ok(byCarrier.get("telecom")!.queries >= 2);
      assert.equal(
        byCarrier.get("telecom")!.onNet,
        byCarrier.get("telecom")!.queries,
      );
      assert.ok(
        byCarrier.get("mobile")!.onNet < byCarrier.get("mobile")!.queries,
        "failed over",
      );
      assert.ok(dash.routing.onNetShare > 0 && dash.routing.onNetShare < 1);
    } finally {
      await s.close();
      for (const h of health.values()) await h.server.shutdown();
    }
  },
});

Deno.test({
  name: "an unknown carrier in an edge's isp stops start-up naming the key",
  async fn() {
    const config = testConfig();
    await assert.rejects(
      startScheduler({
        ...config,
        edges: [{ ...config.edges[0]!, isp: ["telecom", "comcastt"] }],
      }),
      (e: unknown) =>
        (e as { key?: string }).key === "scheduler.edges[0].isp[1]" &&
        /comcastt/.test(String(e)),
    );
  },
});

Deno.test("startScheduler() with isp_match: a bad ASN file stops it naming the file and line; optional starts by place only", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bad = `${dir}/asn.csv`;
    await Deno.writeTextFile(bad, "1.0.0.0,1.0.0.255,13335,ok\nbroken row\n");
    const base = testConfig();
    const withChain = (optional: boolean) =>
      testConfig({
        dns: { ...base.dns, udpSocket: "deno", warmupQueries: 0 },
        asn: { ipv4Path: bad, ipv6Path: "", reloadCheckSeconds: 0 },
        zones: [{
          ...base.zones[0]!,
          steered: [{
            name: "live",
            ttlSeconds: 30,
            failoverTtlSeconds: 10,
            filters: [{ name: "geo_sort" }, { name: "isp_match", optional }],
          }],
        }],
      });
    await assert.rejects(
      startScheduler(withChain(false), { probe: () => Promise.resolve() }),
      (e: unknown) =>
        e instanceof AsnDatabaseError && e.message.includes(bad) &&
        e.line === 2,
    );
    const warnings: string[] = [];
    const log = {
      debug() {},
      info() {},
      warn: (msg: string) => void warnings.push(msg),
      error() {},
      child() {
        return log;
      },
    };
    const s = await startScheduler(withChain(true), {
      geo: createStaticGeoLookup([]),
      probe: () => Promise.resolve(),
      log,
    });
    try {
      assert.ok(warnings.some((w) => /steering by place only/.test(w)));
      const r = s.handler.explain("live.meridian.test", "81.2.69.0/24");
      assert.ok(typeof r !== "string");
      assert.equal(r.network, null);
      assert.ok(r.steps.some((t) => /isp_match: no ASN database open/.test(t)));
    } finally {
      await s.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
