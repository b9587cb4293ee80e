import assert from "node:assert/strict";
import { silentLogger } from "../../log/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { NetError } from "../../net/mod.ts";
import { startEdge } from "../../edge/mod.ts";
import { holdTcpPort } from "../_helpers/ports.ts";
import { edgeConfig } from "./_helpers/fixtures.ts";

// Deno's sanitizers (opt-in in Deno 2.9) on: a health-check timer, the HTTP client or the disk
// tier left open by the failed start fails this test.
Deno.test({
  name:
    "startEdge() with its port taken names the port and closes what it had opened",
  sanitizeOps: true,
  sanitizeResources: true,
}, async () => {
  const held = holdTcpPort();
  const dir = await Deno.makeTempDir({ prefix: "edge_start_" });
  try {
    const config = {
      ...edgeConfig(["http://127.0.0.1:9"], { cache: { diskDir: dir } }),
      port: held.port,
    };
    await assert.rejects(
      startEdge(config, { log: silentLogger, metrics: new MetricsRegistry() }),
      (e) =>
        e instanceof NetError && e.code === "NET_LISTEN" &&
        e.message ===
          `Cannot listen for HTTP on 127.0.0.1:${held.port}: the address is in use`,
    );
  } finally {
    held.close();
    await Deno.remove(dir, { recursive: true });
  }
});
