/**
 * One edge as its own OS process, for the cluster tests and `bench/purge_propagation.ts`: opens
 * the shared KV file, starts an edge on 127.0.0.1:0 with that store, prints
 * `{"port":N,"id":"…"}` on one line, and closes cleanly (deregistering) on SIGTERM or when
 * stdin closes. It exits by itself after MAX_SECONDS so a lost parent cannot leak it.
 *
 * Usage: `deno run -A edge_node.ts KV_PATH ORIGIN_URL OPTIONS_JSON`, where OPTIONS_JSON holds
 * `{ adminToken, registry: Partial<edge.registry>, purgePollIntervalMs, maxSeconds }`.
 *
 * @module
 */

import { EDGE_DEFAULTS, type EdgeConfig } from "../../../config/edge_schema.ts";
import { startEdge } from "../../../edge/mod.ts";
import { silentLogger } from "../../../log/mod.ts";
import { MetricsRegistry } from "../../../metrics/mod.ts";
import { KvStore } from "../../../store/mod.ts";

const [kvPath, originUrl, optionsJson] = Deno.args;
if (!kvPath || !originUrl) {
  console.error("usage: edge_node.ts KV_PATH ORIGIN_URL [OPTIONS_JSON]");
  Deno.exit(2);
}
const options = JSON.parse(optionsJson ?? "{}") as {
  adminToken?: string;
  registry?: Partial<EdgeConfig["registry"]>;
  purgePollIntervalMs?: number;
  maxSeconds?: number;
};

const store = await KvStore.open(kvPath);
const edge = await startEdge({
  ...EDGE_DEFAULTS,
  port: 0,
  adminToken: options.adminToken ?? "",
  origins: [{ url: originUrl, weight: 1, region: "" }],
  registry: { ...EDGE_DEFAULTS.registry, ...options.registry },
  purgePollIntervalMs: options.purgePollIntervalMs ??
    EDGE_DEFAULTS.purgePollIntervalMs,
}, {
  log: silentLogger,
  metrics: new MetricsRegistry(),
  store,
  healthChecks: false,
});
console.log(
  JSON.stringify({ port: edge.port, id: edge.registrar?.identity.id }),
);

const { promise: stop, resolve } = Promise.withResolvers<void>();
const onSignal = () => resolve();
Deno.addSignalListener("SIGTERM", onSignal);
const safety = setTimeout(resolve, (options.maxSeconds ?? 120) * 1000);
// Stdin closing (the parent went away) also stops the node.
(async () => {
  for await (const _ of Deno.stdin.readable) { /* ignore input */ }
  resolve();
})().catch(() => resolve());
await stop;
clearTimeout(safety);
Deno.removeSignalListener("SIGTERM", onSignal);
await edge.close();
await store.close();
Deno.exit(0);
