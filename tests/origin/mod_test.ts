import assert from "node:assert/strict";
import { parseConfig } from "../../config/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { NetError } from "../../net/mod.ts";
import { silentLogger } from "../../origin/log.ts";
import { startOrigin } from "../../origin/mod.ts";
import { assertPortFree, freeTcpPort, holdTcpPort } from "../_helpers/ports.ts";

// Deno's sanitizers (opt-in in Deno 2.9) are on: a timer or resource the failed start left
// behind fails the test, beside the port checks.

Deno.test({
  name:
    "startOrigin() with its HTTP port taken names the port and closes the RTMP listener it opened",
  sanitizeOps: true,
  sanitizeResources: true,
}, async () => {
  const held = holdTcpPort();
  const rtmpPort = freeTcpPort();
  try {
    const config = parseConfig({
      origin: { rtmpPort, httpPort: held.port, virtualLive: [] },
    });
    await assert.rejects(
      startOrigin(config.origin, {
        log: silentLogger,
        metrics: new MetricsRegistry(),
      }),
      (e) =>
        e instanceof NetError && e.code === "NET_LISTEN" &&
        e.message ===
          `Cannot listen for HTTP on 127.0.0.1:${held.port}: the address is in use`,
    );
    assertPortFree(rtmpPort);
  } finally {
    held.close();
  }
});

Deno.test({
  name:
    "startOrigin() with its RTMP port taken names the port and opens nothing",
  sanitizeOps: true,
  sanitizeResources: true,
}, async () => {
  const held = holdTcpPort();
  const httpPort = freeTcpPort();
  try {
    const config = parseConfig({
      origin: { rtmpPort: held.port, httpPort, virtualLive: [] },
    });
    await assert.rejects(
      startOrigin(config.origin, {
        log: silentLogger,
        metrics: new MetricsRegistry(),
      }),
      (e) =>
        e instanceof NetError &&
        e.message.startsWith(
          `Cannot listen for RTMP on 127.0.0.1:${held.port}`,
        ),
    );
    assertPortFree(httpPort);
  } finally {
    held.close();
  }
});
