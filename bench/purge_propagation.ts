/**
 * Purge propagation between edges that share a store: two edge processes on one KV file, a
 * purge sent to edge A's admin API, and the time until edge B misses the purged object.
 *
 * Not a `Deno.bench` (each sample is a cross-process round trip bounded by the feed poll, not
 * a hot loop), so `deno task bench` does not run it; run it by hand:
 *
 *     deno run -A bench/purge_propagation.ts [COUNT=200] [POLL_MS=100 50 ...]
 *
 * It prints one line per poll interval with p50/p99/max and, with `--json`, a JSON summary.
 *
 * @module
 */

import {
  measurePurgePropagation,
  spawnEdgeNode,
  startCountingOrigin,
} from "../tests/edge/registry/_cluster.ts";

const TOKEN = "bench-purge-token-0123456789";
const json = Deno.args.includes("--json");
const nums = Deno.args.filter((a) => !a.startsWith("--")).map(Number);
const count = nums[0] || 200;
const polls = nums.length > 1 ? nums.slice(1) : [100];

const results = [];
for (const pollMs of polls) {
  const dir = await Deno.makeTempDir({ prefix: "meridian_purge_bench_" });
  const origin = startCountingOrigin();
  const nodes = [];
  try {
    const opts = {
      adminToken: TOKEN,
      purgePollIntervalMs: pollMs,
      maxSeconds: 600,
    };
    const kvPath = `${dir}/m.kv`;
    const [a, b] = await Promise.all([
      spawnEdgeNode(kvPath, origin.url, {
        ...opts,
        registry: { id: "bench-a" },
      }),
      spawnEdgeNode(kvPath, origin.url, {
        ...opts,
        registry: { id: "bench-b" },
      }),
    ]);
    nodes.push(a, b);
    const r = await measurePurgePropagation(a, b, origin, TOKEN, {
      count,
      timeoutMs: 5_000,
      jitterMs: pollMs,
    });
    results.push({
      pollMs,
      count,
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      maxMs: r.maxMs,
    });
    console.log(
      `poll ${pollMs} ms, ${count} purges: p50 ${r.p50Ms.toFixed(1)} ms  p99 ${
        r.p99Ms.toFixed(1)
      } ms  max ${r.maxMs.toFixed(1)} ms`,
    );
  } finally {
    for (const n of nodes) await n.stop();
    await origin.close();
    await Deno.remove(dir, { recursive: true });
  }
}
if (json) console.log(JSON.stringify(results));
