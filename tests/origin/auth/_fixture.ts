/**
 * An origin with access control over a real store (temporary KV file), a control app on a
 * second store handle of the same file (another "node"), and a log that tests can search.
 *
 * @module
 */

import type { Hono } from "hono";
import { parseConfig } from "../../../config/mod.ts";
import { createControlApp } from "../../../control/mod.ts";
import { createLogger, type Logger } from "../../../log/mod.ts";
import { MetricsRegistry } from "../../../metrics/mod.ts";
import { type OriginHandle, startOrigin } from "../../../origin/mod.ts";
import { KvStore } from "../../../store/mod.ts";

export const SERVICE_PASSWORD = "service-password-1";
export const ADMIN_TOKEN = "admin-token-0123456789abcdef";

/** What a test gets. */
export interface AccessFixture {
  readonly origin: OriginHandle;
  readonly http: string;
  readonly rtmp: string;
  /** The origin's store. */
  readonly store: KvStore;
  /** The control app, on its own store handle (as another node would be). */
  readonly control: Hono;
  readonly metrics: MetricsRegistry;
  /** Every log line written so far (JSON). */
  readonly logs: string[];
  /** Mints a token through `/gettoken` (`query` like `&app=live&limit=1`). */
  mint(query?: string): Promise<string>;
  /** Revokes a token through the admin API. */
  revoke(token: string): Promise<void>;
}

/** A logger that keeps its JSON lines. */
export function captureLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    log: createLogger("test", {
      format: "json",
      level: "debug",
      write: (l) => lines.push(l),
    }),
  };
}

/**
 * Runs `fn` against a started origin configured by `raw` (merged over ports 0 and no virtual
 * channels); everything is closed and removed afterwards.
 */
export async function withAccessOrigin(
  raw: {
    origin?: Record<string, unknown>;
    auth?: Record<string, unknown>;
    /** Give the origin a data directory (the archive: DVR, recordings, clips). */
    dataDir?: boolean;
  },
  fn: (f: AccessFixture) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "meridian_access_" });
  const kvPath = `${dir}/m.kv`;
  const store = await KvStore.open(kvPath, { pollIntervalMs: 100 });
  const controlStore = await KvStore.open(kvPath, { pollIntervalMs: 100 });
  const { log, lines } = captureLogger();
  const metrics = new MetricsRegistry();
  let origin: OriginHandle | undefined;
  try {
    const config = parseConfig({
      origin: { rtmpPort: 0, httpPort: 0, virtualLive: [], ...raw.origin },
      auth: raw.auth ?? {},
    });
    origin = await startOrigin(config.origin, {
      log,
      metrics,
      store,
      auth: config.auth,
      ...(raw.dataDir ? { dataDir: `${dir}/data` } : {}),
    });
    const control = createControlApp({
      servicePassword: SERVICE_PASSWORD,
      adminToken: ADMIN_TOKEN,
      defaultTokenDurationSeconds: 3600,
      defaultTokenUses: 0,
      lockout: { maxFailures: 50, windowSeconds: 60, lockSeconds: 1 },
    }, { store: controlStore, metrics: new MetricsRegistry(), log });
    const f: AccessFixture = {
      origin,
      http: `http://127.0.0.1:${origin.httpPort}`,
      rtmp: `rtmp://127.0.0.1:${origin.rtmpPort}`,
      store,
      control,
      metrics,
      logs: lines,
      async mint(query = "") {
        const res = await control.request(
          `http://localhost/gettoken?token=${SERVICE_PASSWORD}${query}`,
        );
        const body = await res.text();
        if (res.status !== 200) {
          throw new Error(`gettoken ${res.status}: ${body}`);
        }
        return body;
      },
      async revoke(token) {
        const res = await control.request(
          `http://localhost/admin/tokens/${token}`,
          {
            method: "DELETE",
            headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
          },
        );
        await res.body?.cancel();
        if (!res.ok) throw new Error(`revoke ${res.status}`);
      },
    };
    await fn(f);
  } finally {
    await origin?.close();
    await controlStore.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** A hook target on 127.0.0.1:0: `/allow` 204, `/deny` 403, `/slow` answers after 2 s. */
export async function withHookServer(
  fn: (base: string, bodies: Record<string, unknown>[]) => Promise<void>,
): Promise<void> {
  const bodies: Record<string, unknown>[] = [];
  const slow = new Set<() => void>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      bodies.push(await req.json());
      const path = new URL(req.url).pathname;
      if (path === "/slow") {
        await new Promise<void>((r) => {
          const t = setTimeout(r, 2000);
          slow.add(() => {
            clearTimeout(t);
            r();
          });
        });
      }
      return new Response(null, { status: path === "/deny" ? 403 : 204 });
    },
  );
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`, bodies);
  } finally {
    for (const release of slow) release();
    await server.shutdown();
  }
}
