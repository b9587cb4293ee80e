import assert from "node:assert/strict";
import { silentLogger } from "../../log/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { NetError, TlsError } from "../../net/mod.ts";
import { DEFAULTS } from "../../config/mod.ts";
import { createTestCa, haveOpenssl, tlsSection } from "../_helpers/tls.ts";
import { startEdge } from "../../edge/mod.ts";
import { assertPortFree, freeTcpPort, holdTcpPort } from "../_helpers/ports.ts";
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

Deno.test({
  name:
    "startEdge() with edge.tls: a held HTTPS port or an unreadable tls.caFile stops start-up, closing the HTTP port",
  ignore: !haveOpenssl,
  sanitizeOps: true,
  sanitizeResources: true,
}, async () => {
  const ca = await createTestCa();
  const cert = await ca.issue("edge", { names: ["localhost"] });
  const held = holdTcpPort();
  try {
    const port = freeTcpPort();
    const base = { ...edgeConfig(["http://127.0.0.1:9"]), port };
    await assert.rejects(
      startEdge({ ...base, tls: tlsSection(cert, held.port) }, {
        log: silentLogger,
        metrics: new MetricsRegistry(),
      }),
      (e) =>
        e instanceof NetError &&
        e.message.startsWith(
          `Cannot listen for HTTPS on 127.0.0.1:${held.port}`,
        ),
    );
    assertPortFree(port);
    await assert.rejects(
      startEdge({ ...base, tls: tlsSection(cert) }, {
        log: silentLogger,
        metrics: new MetricsRegistry(),
        tls: { ...DEFAULTS.tls, caFile: `${ca.dir}/no-ca.pem` },
      }),
      (e) => e instanceof TlsError && /no-ca\.pem/.test(e.message),
    );
    assertPortFree(port);
  } finally {
    held.close();
    await ca.close();
  }
});
