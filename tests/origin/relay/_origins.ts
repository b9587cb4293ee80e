/**
 * In-process origins for relay tests: each on free loopback ports, no demo channel, no VOD,
 * with the relay section given; closed by the test.
 *
 * @module
 */
import { parseConfig } from "../../../config/mod.ts";
import { createLogger } from "../../../log/mod.ts";
import { MetricsRegistry } from "../../../metrics/mod.ts";
import { type OriginHandle, startOrigin } from "../../../origin/mod.ts";

/** A started origin with its URLs and metrics. */
export interface TestOrigin extends OriginHandle {
  readonly rtmp: string;
  readonly http: string;
  readonly metrics: MetricsRegistry;
}

/** A secret of the right length for tests. */
export const TEST_SECRET = "test-relay-secret-0123";
/** The admin token of every test origin. */
export const TEST_ADMIN = "test-admin-token-0123456789";

/** Starts an origin; `relay` and `extra` are merged into its `origin` section. */
export async function startTestOrigin(
  relay: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): Promise<TestOrigin> {
  const config = parseConfig({
    origin: {
      rtmpPort: 0,
      httpPort: 0,
      virtualLive: [],
      vod: { libraries: [] },
      adminToken: TEST_ADMIN,
      hls: { targetDurationSeconds: 1 },
      ...extra,
      relay,
    },
  });
  const metrics = new MetricsRegistry();
  const level = Deno.env.get("TEST_LOG") === "1" ? "debug" : "error";
  const o = await startOrigin(config.origin, {
    log: createLogger("origin", { level, format: "json" }),
    metrics,
  });
  return {
    ...o,
    rtmp: `rtmp://127.0.0.1:${o.rtmpPort}`,
    http: `http://127.0.0.1:${o.httpPort}`,
    metrics,
    close: () => o.close(),
  };
}
