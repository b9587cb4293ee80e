/**
 * In-process origins for relay tests: each on free loopback ports, no demo channel, no VOD,
 * with the relay section given; closed by the test.
 *
 * @module
 */
import { parseConfig } from "../../../config/mod.ts";
import { createLogger } from "../../../log/mod.ts";
import { MetricsRegistry } from "../../../metrics/mod.ts";
import {
  type OriginDeps,
  type OriginHandle,
  startOrigin,
} from "../../../origin/mod.ts";

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
  deps: Partial<OriginDeps> = {},
): Promise<TestOrigin> {
  const config = parseConfig({
    origin: {
      rtmpPort: 0,
      httpPort: 0,
      virtualLive: [],
      vod: { libraries: [] },
      adminToken: TEST_ADMIN,
      ...extra,
      relay,
    },
  });
  const metrics = new MetricsRegistry();
  const level = Deno.env.get("TEST_LOG") === "1" ? "debug" : "error";
  const o = await startOrigin(config.origin, {
    log: createLogger("origin", { level, format: "json" }),
    metrics,
    ...deps,
  });
  return {
    ...o,
    rtmp: `rtmp://127.0.0.1:${o.rtmpPort}`,
    http: `http://127.0.0.1:${o.httpPort}`,
    metrics,
    close: () => o.close(),
  };
}

/** `GET /admin/relay` of an origin. */
export async function relayStatus(o: { http: string }): Promise<{
  nodeId: string;
  pulls: {
    stream: string;
    state: string;
    upstream: string;
    hops: number;
    switches: number;
    viewers: number;
    lastError: string;
  }[];
  pushes: {
    stream: string;
    target: string;
    state: string;
    connects: number;
    bytesOut: number;
    lastError: string;
  }[];
}> {
  const res = await fetch(`${o.http}/admin/relay`, {
    headers: { authorization: `Bearer ${TEST_ADMIN}` },
  });
  if (res.status !== 200) throw new Error(`/admin/relay: ${res.status}`);
  return await res.json();
}

/** One sample of a metric from `/metrics` text (`undefined` when absent). */
export function metricValue(
  text: string,
  name: string,
  labels = "",
): number | undefined {
  const line = text.split("\n").find((l) =>
    l.startsWith(labels === "" ? `${name} ` : `${name}{${labels}} `)
  );
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

/** Waits until `node`'s relay list (what it knows upstream, or publishes) has `app/name`. */
export async function waitListed(
  node: { http: string },
  app: string,
  name: string,
  headers: HeadersInit = {},
): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const res = await fetch(`${node.http}/api/relay/streams`, { headers });
    const body = await res.json();
    if (
      (body.streams as { app: string; name: string }[]).some((s) =>
        s.app === app && s.name === name
      )
    ) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${node.http} never listed ${app}/${name}`);
}
