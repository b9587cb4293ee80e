import assert from "node:assert/strict";
import { SCHEDULER_DEFAULTS } from "../../config/scheduler_schema.ts";
import { AsnDatabaseError, findDefaultAsnDatabase } from "../../geo/mod.ts";
import type { Logger } from "../../log/mod.ts";
import { NetworkDirectory, openNetworks } from "../../scheduler/networks.ts";
import { rangesOf } from "../geo/_asn_data.ts";

const HAVE_ASN = findDefaultAsnDatabase("asn-ipv4-num.csv") !== undefined;

function recordingLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (msg: string, f?: Record<string, unknown>) =>
    void lines.push(`${level} ${msg} ${JSON.stringify(f ?? {})}`);
  const log = {
    lines,
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: () => log,
  };
  return log;
}

const zonesWith = (filter: Record<string, unknown>) => [{
  ...SCHEDULER_DEFAULTS.zones[0]!,
  steered: [{
    ...SCHEDULER_DEFAULTS.zones[0]!.steered[0]!,
    filters: [{ name: "geo_sort" }, filter],
  }],
}];

Deno.test({
  name:
    "the default carriers' ASNs are in the shipped data under their organisations",
  ignore: !HAVE_ASN,
  async fn() {
    const orgOf = new Map<string, RegExp>([
      ["telecom", /chinanet|china telecom/i],
      ["unicom", /unicom/i],
      ["mobile", /china mobile/i],
      ["cernet", /education and research/i],
    ]);
    const text = await Deno.readTextFile(
      findDefaultAsnDatabase("asn-ipv4-num.csv")!,
    );
    for (const c of SCHEDULER_DEFAULTS.isps) {
      for (const asn of c.asns) {
        assert.ok((await rangesOf(asn)).length > 0, `AS${asn}`);
        const m = new RegExp(`^\\d+,\\d+,${asn},"?([^\\n"]*)`, "m").exec(text);
        assert.match(m![1]!, orgOf.get(c.name)!, `AS${asn} of ${c.name}`);
      }
    }
  },
});

Deno.test("openNetworks() opens the database only for isp_match, fails naming the file, or warns when optional", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const d = new NetworkDirectory(SCHEDULER_DEFAULTS.isps);
    const asn = {
      ipv4Path: `${dir}/missing.csv`,
      ipv6Path: "",
      reloadCheckSeconds: 0,
    };
    // No isp_match: nothing is opened, whatever the paths.
    assert.equal(
      await openNetworks(
        d,
        { zones: SCHEDULER_DEFAULTS.zones, asn },
        recordingLog(),
      ),
      undefined,
    );
    await assert.rejects(
      openNetworks(
        d,
        { zones: zonesWith({ name: "isp_match" }), asn },
        recordingLog(),
      ),
      (e: unknown) =>
        e instanceof AsnDatabaseError &&
        e.message.includes(`${dir}/missing.csv`),
    );
    await Deno.writeTextFile(`${dir}/bad.csv`, "1.0.0.0,1.0.0.255,x,y\n");
    const log = recordingLog();
    assert.equal(
      await openNetworks(d, {
        zones: zonesWith({ name: "isp_match", optional: true }),
        asn: { ...asn, ipv4Path: `${dir}/bad.csv` },
      }, log),
      undefined,
    );
    assert.ok(
      log.lines.some((l) =>
        l.startsWith("warn") && l.includes("steering by place only") &&
        l.includes("bad.csv line 1")
      ),
      log.lines.join("\n"),
    );
    assert.equal(d.hasDatabase, false);
    // A good file is attached.
    await Deno.writeTextFile(
      `${dir}/ok.csv`,
      "36.1.0.0,36.1.255.255,4837,CU\n",
    );
    const db = await openNetworks(d, {
      zones: zonesWith({ name: "isp_match" }),
      asn: { ...asn, ipv4Path: `${dir}/ok.csv` },
    }, recordingLog());
    try {
      assert.equal(
        d.lookupClient(new Uint8Array([36, 1, 2, 3]))?.carrier,
        "unicom",
      );
    } finally {
      db?.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deploy/examples/scheduler.yaml: carriers, edges' isp names and both chains parse", async () => {
  const { loadConfig } = await import("../../config/mod.ts");
  const { Authority } = await import("../../scheduler/zone.ts");
  const path = new URL("../../deploy/examples/scheduler.yaml", import.meta.url)
    .pathname;
  const config = (await loadConfig(path, {})).config.scheduler;
  const d = NetworkDirectory.fromConfig(config);
  assert.equal(d.carrierOf(4837), "unicom");
  assert.equal(d.carrierOf(3320), "dtag");
  const bgp = config.edges.find((e) => e.id === "bj-bgp")!;
  assert.deepEqual(bgp.isp, ["telecom", "mobile"]);
  const a = Authority.fromConfig(config, { networks: d });
  const wild = a.lookup("demo.live.live.cdn.example.net");
  assert.equal(wild.kind, "node");
  assert.ok(
    wild.kind === "node" &&
      wild.node.steered!.filters.some((f) => f.name === "stream_affinity"),
  );
});
