/**
 * Purge propagation between two edge processes sharing one KV file: a purge sent to edge A's
 * admin API empties edge B's cache within 1 s, 50 times in a row; p50/p99 are printed.
 */
import assert from "node:assert/strict";
import {
  measurePurgePropagation,
  spawnEdgeNode,
  startCountingOrigin,
} from "../edge/registry/_cluster.ts";

const TOKEN = "purge-test-token-0123456789";

Deno.test("cluster: a purge sent to edge A reaches edge B (another process) within 1 s, 50 times", async () => {
  const dir = await Deno.makeTempDir({ prefix: "meridian_cluster_" });
  const kvPath = `${dir}/m.kv`;
  const origin = startCountingOrigin();
  const nodes = [];
  try {
    const opts = {
      adminToken: TOKEN,
      purgePollIntervalMs: 100,
      maxSeconds: 90,
    };
    const [a, b] = await Promise.all([
      spawnEdgeNode(kvPath, origin.url, {
        ...opts,
        registry: { id: "edge-a" },
      }),
      spawnEdgeNode(kvPath, origin.url, {
        ...opts,
        registry: { id: "edge-b" },
      }),
    ]);
    nodes.push(a, b);
    const r = await measurePurgePropagation(a, b, origin, TOKEN, {
      count: 50,
      timeoutMs: 1000,
    });
    console.log(
      `purge propagation over ${r.latenciesMs.length} purges (poll 100 ms): ` +
        `p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, max ${
          r.maxMs.toFixed(1)
        } ms`,
    );
    assert.equal(r.latenciesMs.length, 50);
    assert.ok(r.maxMs < 1000, `max ${r.maxMs} ms`);
  } finally {
    for (const n of nodes) await n.stop();
    await origin.close();
    await Deno.remove(dir, { recursive: true });
  }
});
