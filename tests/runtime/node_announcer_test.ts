/**
 * The node announcer against a real KV store: the record names the roles, endpoints, version,
 * uptime, RSS, CPU and the rates of the process's metrics; it is rewritten on update and
 * withdrawn on close.
 */
import assert from "node:assert/strict";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { endpointUrl, NodeAnnouncer } from "../../runtime/node_announcer.ts";
import { VERSION } from "../../runtime/version.ts";
import { KvStore } from "../../store/mod.ts";
import { waitFor } from "../_helpers/peers.ts";

Deno.test("NodeAnnouncer: announces roles, endpoints, load and metric rates; update and close", async () => {
  const dir = await Deno.makeTempDir({ prefix: "meridian_nodes_" });
  const store = await KvStore.open(`${dir}/m.kv`);
  const metrics = new MetricsRegistry();
  const dns = metrics.counter("meridian_dns_queries_total", "DNS", {
    labelNames: ["rcode"],
  });
  let now = 1_000_000;
  const a = new NodeAnnouncer(store.nodes, {
    id: "host-a:1",
    roles: ["origin", "scheduler"],
    endpoints: { "origin.http": "http://127.0.0.1:8090" },
    metrics,
    intervalMs: 50,
    clock: () => now,
  });
  try {
    // Rates come from the growth since the last sample (the constructor's): 50 in 2 s.
    dns.inc({ rcode: "NOERROR" }, 10);
    now += 2000;
    dns.inc({ rcode: "NXDOMAIN" }, 40);
    const r = a.snapshot();
    assert.equal(r.id, "host-a:1");
    assert.deepEqual(r.roles, ["origin", "scheduler"]);
    assert.equal(r.version, VERSION);
    assert.equal(r.rates.dnsQueriesPerSecond, 25);
    assert.equal(
      r.rates.edgeRequestsPerSecond,
      undefined,
      "no such family here",
    );
    assert.ok(r.rssBytes > 1_000_000);
    assert.ok(r.cpu >= 0);
    assert.ok(r.startedAtMs <= now);
    assert.equal(r.ttlMs, 150);
    a.start();
    const listed = await waitFor(
      "record",
      async () => (await store.nodes.list(now))[0],
      5000,
    );
    assert.equal(listed.endpoints["origin.http"], "http://127.0.0.1:8090");
    a.update(["origin"], { "origin.http": "http://127.0.0.1:9000" });
    await waitFor(
      "updated record",
      async () =>
        (await store.nodes.list(now))[0]?.endpoints["origin.http"] ===
          "http://127.0.0.1:9000",
      5000,
    );
    await a.close();
    assert.deepEqual(await store.nodes.list(now), []);
  } finally {
    await a.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("endpointUrl() brackets IPv6 and names this host for a wildcard bind", () => {
  assert.equal(endpointUrl("http", "127.0.0.1", 80), "http://127.0.0.1:80");
  assert.equal(endpointUrl("http", "::1", 80), "http://[::1]:80");
  assert.ok(!endpointUrl("rtmp", "0.0.0.0", 1935).includes("0.0.0.0"));
});
