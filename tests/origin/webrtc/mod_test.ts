import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../../../config/mod.ts";
import { MetricsRegistry } from "../../../metrics/mod.ts";
import { silentLogger } from "../../../origin/log.ts";
import { NO_INGEST_METRICS } from "../../../origin/ingest/mod.ts";
import { StreamRegistry } from "../../../origin/stream/registry.ts";
import { startWebrtc } from "../../../origin/webrtc/mod.ts";

Deno.test("origin.webrtc: defaults, and each key validated with its name", () => {
  const c = parseConfig({}).origin.webrtc;
  assert.deepEqual(c, {
    enabled: true,
    iceAddresses: ["127.0.0.1"],
    icePortMin: 20_000,
    icePortMax: 20_999,
    maxSessions: 256,
    gatherTimeoutMs: 3000,
    connectTimeoutMs: 15_000,
    opusAudio: true,
  });
  const bad: [Record<string, unknown>, RegExp][] = [
    [
      { iceAddresses: ["localhost"] },
      /origin\.webrtc\.iceAddresses\[0\].*IPv4/,
    ],
    [{ iceAddresses: ["10.0.0.256"] }, /IPv4/],
    [{ icePortMin: 80 }, /origin\.webrtc\.icePortMin/],
    [{ maxSessions: 0 }, /origin\.webrtc\.maxSessions/],
    [{ gatherTimeoutMs: "fast" }, /origin\.webrtc\.gatherTimeoutMs/],
    [{ stun: "x" }, /origin\.webrtc\.stun/],
  ];
  for (const [webrtc, message] of bad) {
    assert.throws(
      () => parseConfig({ origin: { webrtc } }),
      (e: unknown) => e instanceof ConfigError && message.test(e.message),
      JSON.stringify(webrtc),
    );
  }
});

Deno.test("origin.webrtc: a port range that is not a range stops start-up", () => {
  const config = parseConfig({
    origin: { webrtc: { icePortMin: 30_000, icePortMax: 30_000 } },
  }).origin;
  assert.throws(
    () =>
      startWebrtc(config.webrtc, {
        ingest: {
          registry: new StreamRegistry({
            gopCache: false,
            maxGopCacheBytes: 0,
            flushIntervalMs: 0,
            encoders: {} as never,
            log: silentLogger,
          }),
          access: undefined,
          maxStreams: 1,
          metrics: NO_INGEST_METRICS,
          log: silentLogger,
        },
        metrics: new MetricsRegistry(),
      }),
    (e: unknown) =>
      e instanceof ConfigError && /origin\.webrtc\.icePortMax/.test(e.message),
  );
});
