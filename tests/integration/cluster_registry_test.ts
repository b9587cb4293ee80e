/**
 * A real scheduler and two edge processes that register themselves through one KV file: the
 * steered name answers both edges (in-process `handleQuery`, and dig when installed); draining
 * one through the scheduler's HTTP endpoint removes it from every scheduler's answers;
 * clearing the drain brings it back; an edge killed without deregistering drops out once its
 * heartbeats expire; a clean shutdown deregisters at once.
 */
import { waitFor } from "../_helpers/peers.ts";
import assert from "node:assert/strict";
import { parseIp } from "../../geo/mod.ts";
import { runPeer } from "../_helpers/peers.ts";
import { KvStore } from "../../store/mod.ts";
import { decodePacket, encodePacket } from "../../scheduler/dns/packet.ts";
import type { DnsHandler } from "../../scheduler/answer/handler.ts";
import { type SchedulerHandle, startScheduler } from "../../scheduler/mod.ts";
import {
  spawnEdgeNode,
  startCountingOrigin,
} from "../edge/registry/_cluster.ts";

import { GEO, testConfig } from "../scheduler/_fixtures.ts";

const ADMIN = "sched-admin-0123456789";
const HAVE_DIG = await (async () => {
  try {
    return (await new Deno.Command("dig", {
      args: ["-v"],
      stdout: "null",
      stderr: "null",
    }).output()).success;
  } catch {
    return false;
  }
})();
if (!HAVE_DIG) {
  console.warn(
    "SKIP the dig part of cluster_registry_test: 'dig' not on PATH (apt-get install bind9-dnsutils)",
  );
}

/** A addresses answered for `live.meridian.test` to a resolver on 127.0.0.1. */
function answerA(handler: DnsHandler): string[] {
  const q = encodePacket({
    type: "query",
    id: 7,
    flags: 1 << 8,
    questions: [{ name: "live.meridian.test", type: "A", class: "IN" }],
  });
  const r = handler.handleQuery(q, {
    address: parseIp("127.0.0.1")!.bytes,
    transport: "udp",
  })!;
  return (decodePacket(r).answers ?? []).filter((a) => a.type === "A")
    .map((a) => String(a.data)).sort();
}

async function digA(port: number): Promise<string[]> {
  const out = await runPeer("dig", [
    "@127.0.0.1",
    "-p",
    String(port),
    "+time=2",
    "+tries=1",
    "+short",
    "live.meridian.test",
    "A",
  ], 15_000);
  assert.equal(out.code, 0, out.stderr);
  return out.stdout.trim().split("\n").filter(Boolean).sort();
}

async function drain(
  s: SchedulerHandle,
  id: string,
  method: "POST" | "DELETE",
  token = ADMIN,
): Promise<Response> {
  return await fetch(`http://127.0.0.1:${s.httpPort}/api/edges/${id}/drain`, {
    method,
    headers: { authorization: `Bearer ${token}` },
  });
}

const same = (a: string[], b: string[]) => a.join() === b.join();

Deno.test("cluster: scheduler answers registered edges; drain over HTTP, heartbeat expiry and deregistration remove them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "meridian_cluster_" });
  const kvPath = `${dir}/m.kv`;
  const origin = startCountingOrigin();
  const stores: KvStore[] = [];
  const schedulers: SchedulerHandle[] = [];
  const nodes = [];
  try {
    const registry = { heartbeatSeconds: 0.5, latitude: 50.1, longitude: 8.7 };
    const [a, b] = await Promise.all([
      spawnEdgeNode(kvPath, origin.url, {
        registry: { ...registry, id: "edge-a", publicAddress: "192.0.2.11" },
      }),
      spawnEdgeNode(kvPath, origin.url, {
        registry: { ...registry, id: "edge-b", publicAddress: "192.0.2.12" },
      }),
    ]);
    nodes.push(a, b);

    // Two schedulers, each with its own store handle, as two scheduler hosts would have.
    for (let i = 0; i < 2; i++) {
      const store = await KvStore.open(kvPath, { pollIntervalMs: 100 });
      stores.push(store);
      schedulers.push(
        await startScheduler(
          testConfig({
            adminToken: ADMIN,
            registry: { source: "store", refreshMs: 200 },
          }),
          { geo: GEO, store },
        ),
      );
    }
    const [s1, s2] = schedulers as [SchedulerHandle, SchedulerHandle];
    const both = ["192.0.2.11", "192.0.2.12"];

    // Both edges registered and pass the scheduler's checks of their real /healthz.
    for (const s of schedulers) {
      await waitFor(
        "both edges answered",
        () => same(answerA(s.handler), both),
        5_000,
      );
    }
    const ids = s1.edges.list().map((e) => e.edge.id).sort();
    assert.deepEqual(ids, ["edge-a", "edge-b"]);
    const edgeB = s1.edges.list().find((e) => e.edge.id === "edge-b")!.edge;
    assert.equal(edgeB.healthTarget, `http://127.0.0.1:${b.port}/healthz`);
    if (HAVE_DIG) assert.deepEqual(await digA(s1.dnsPort), both);

    // The drain endpoint: bearer token required.
    assert.equal((await drain(s1, "edge-b", "POST", "wrong")).status, 401);
    assert.equal((await drain(s1, "nope", "POST")).status, 404);
    const r = await drain(s1, "edge-b", "POST");
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { id: "edge-b", draining: true });
    // At once on the scheduler that took the call, within a feed poll on the other.
    assert.deepEqual(answerA(s1.handler), ["192.0.2.11"]);
    await waitFor(
      "drain seen by the second scheduler",
      () => same(answerA(s2.handler), ["192.0.2.11"]),
      2_000,
    );
    if (HAVE_DIG) assert.deepEqual(await digA(s2.dnsPort), ["192.0.2.11"]);

    assert.equal((await drain(s2, "edge-b", "DELETE")).status, 200);
    for (const s of schedulers) {
      await waitFor(
        "undrained edge back",
        () => same(answerA(s.handler), both),
        2_000,
      );
    }

    // Edge B dies without deregistering: gone from the registry once 3 heartbeats are missed.
    await b.kill();
    const killedAt = performance.now();
    await waitFor(
      "edge-b expired from the registry",
      () => !s1.edges.list().some((e) => e.edge.id === "edge-b"),
      5_000,
    );
    const tookMs = performance.now() - killedAt;
    console.log(`edge-b dropped out ${tookMs.toFixed(0)} ms after SIGKILL`);
    assert.ok(tookMs >= 500, `expired too early: ${tookMs} ms`);
    assert.deepEqual(answerA(s1.handler), ["192.0.2.11"]);

    // Edge A shuts down cleanly: deregistered, announced on the feed.
    await a.stop();
    await waitFor(
      "edge-a deregistered",
      () => s2.edges.list().length === 0,
      1_500,
    );
  } finally {
    for (const n of nodes) await n.kill();
    for (const s of schedulers) await s.close();
    for (const st of stores) await st.close();
    await origin.close();
    await Deno.remove(dir, { recursive: true });
  }
});
