/**
 * Edges as separate OS processes sharing one KV file (`edge_node.ts`), and the purge
 * propagation measurement used by `tests/integration/cluster_purge_test.ts` and
 * `bench/purge_propagation.ts`.
 *
 * @module
 */

import type { EdgeConfig } from "../../../config/edge_schema.ts";
import { startTestOrigin, type TestOrigin } from "../_helpers/fixtures.ts";

const NODE_SCRIPT = new URL("./edge_node.ts", import.meta.url).pathname;

/** A running edge process. */
export interface EdgeNode {
  readonly port: number;
  /** Its id in the edge registry. */
  readonly id: string;
  /** SIGTERM: the edge closes and deregisters. */
  stop(): Promise<void>;
  /** SIGKILL: the edge vanishes without deregistering (heartbeats just stop). */
  kill(): Promise<void>;
}

/** Options of {@link spawnEdgeNode}. */
export interface EdgeNodeOptions {
  readonly adminToken?: string;
  readonly registry?: Partial<EdgeConfig["registry"]>;
  readonly purgePollIntervalMs?: number;
  /** The node exits by itself after this long. @default 120 */
  readonly maxSeconds?: number;
  /** Give up waiting for the port line after this long (ms). @default 20000 */
  readonly startTimeoutMs?: number;
}

/** Spawns `deno run edge_node.ts` and waits for its port line. */
export async function spawnEdgeNode(
  kvPath: string,
  originUrl: string,
  options: EdgeNodeOptions = {},
): Promise<EdgeNode> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      NODE_SCRIPT,
      kvPath,
      originUrl,
      JSON.stringify(options),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, options.startTimeoutMs ?? 20_000);
  let line: string | undefined;
  try {
    while (line === undefined) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += value;
      const nl = buffered.indexOf("\n");
      if (nl >= 0) line = buffered.slice(0, nl);
    }
  } finally {
    clearTimeout(timer);
  }
  // Keep draining stdout so the child never blocks on a full pipe; done when it exits.
  const drained = (async () => {
    try {
      while (!(await reader.read()).done) { /* discard */ }
    } catch {
      // closed
    }
  })();
  const finish = async (signal: Deno.Signal) => {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
    await child.stdin.close().catch(() => {});
    await child.status;
    await drained;
  };
  if (line === undefined) {
    await finish("SIGKILL");
    throw new Error("Edge node exited before printing its port");
  }
  const info = JSON.parse(line) as { port: number; id: string };
  let finished: Promise<void> | undefined;
  return {
    port: info.port,
    id: info.id,
    stop: () => finished ??= finish("SIGTERM"),
    kill: () => finished ??= finish("SIGKILL"),
  };
}

/** Result of {@link measurePurgePropagation}. */
export interface PropagationResult {
  /** Milliseconds from sending the purge to edge A until edge B first misses, per purge. */
  readonly latenciesMs: readonly number[];
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** The q-quantile (0..1) of `values`, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  const i = Math.min(
    sorted.length - 1,
    Math.max(0, Math.ceil(q * sorted.length) - 1),
  );
  return sorted[i]!;
}

/** An origin answering every path with a cacheable body naming how often it was asked. */
export function startCountingOrigin(): TestOrigin {
  return startTestOrigin((_r, _u, n) =>
    new Response(`v${n}`, {
      headers: {
        "cache-control": "public, max-age=3600",
        "content-type": "video/mp2t",
      },
    })
  );
}

/**
 * Caches `/vod/purge/{i}.ts` on edge B, purges it through edge A's admin API, then asks B every
 * `probeEveryMs` until B misses (its origin count for that path goes up), `count` times.
 *
 * @throws {Error} When one purge takes longer than `timeoutMs` to reach B.
 */
export async function measurePurgePropagation(
  a: EdgeNode,
  b: EdgeNode,
  origin: TestOrigin,
  adminToken: string,
  options: {
    count: number;
    timeoutMs?: number;
    probeEveryMs?: number;
    /**
     * Random wait (0..jitterMs) before each purge. Without it every purge lands right after
     * B's previous poll (the loop phase-locks to it) and measures the worst case each time.
     * @default 100
     */
    jitterMs?: number;
  },
): Promise<PropagationResult> {
  const timeoutMs = options.timeoutMs ?? 1000;
  const probeEveryMs = options.probeEveryMs ?? 2;
  const getB = async (path: string) => {
    const r = await fetch(`http://127.0.0.1:${b.port}${path}`);
    await r.body?.cancel();
    return r.headers.get("x-cache");
  };
  const latencies: number[] = [];
  const run = `${Date.now().toString(36)}`;
  for (let i = 0; i < options.count; i++) {
    const path = `/vod/purge/${run}-${i}.ts`;
    await getB(path);
    const again = await getB(path);
    if (again !== "HIT") {
      throw new Error(`Edge B did not cache ${path}: x-cache ${again}`);
    }
    await new Promise((res) =>
      setTimeout(res, Math.random() * (options.jitterMs ?? 100))
    );
    const before = origin.count(path);
    const t0 = performance.now();
    const r = await fetch(`http://127.0.0.1:${a.port}/admin/purge`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${adminToken}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ urls: [path] }),
    });
    await r.body?.cancel();
    if (r.status !== 200) {
      throw new Error(`Purge on edge A: status ${r.status}`);
    }
    while (true) {
      await getB(path);
      if (origin.count(path) > before) break;
      if (performance.now() - t0 > timeoutMs) {
        throw new Error(
          `Purge of ${path} did not reach edge B within ${timeoutMs} ms`,
        );
      }
      await new Promise((res) => setTimeout(res, probeEveryMs));
    }
    latencies.push(performance.now() - t0);
  }
  return {
    latenciesMs: latencies,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    maxMs: Math.max(...latencies),
  };
}
