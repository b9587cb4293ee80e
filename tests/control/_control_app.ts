/**
 * A control app over a temporary store, with a manual clock and fixed secrets.
 *
 * @module
 */

import type { Hono } from "hono";
import { createControlApp } from "../../control/mod.ts";
import { silentLogger } from "../../log/mod.ts";
import { MetricsRegistry } from "../../metrics/mod.ts";
import type { KvStore } from "../../store/mod.ts";
import { withStore } from "../store/_temp_store.ts";

export const SERVICE_PASSWORD = "service-password-1";
export const ADMIN_TOKEN = "admin-token-0123456789abcdef";
export const T0 = 1_700_000_000_000;

/** What a test gets. */
export interface ControlFixture {
  readonly app: Hono;
  readonly store: KvStore;
  /** The store's KV file, for opening a second handle (as another process would). */
  readonly kvPath: string;
  readonly metrics: MetricsRegistry;
  /** The manual clock: set `clock.now`. */
  readonly clock: { now: number };
  /** `app.request` from a given client address. */
  request(path: string, init?: RequestInit, ip?: string): Promise<Response>;
}

/** Runs `fn` with a fresh control app; the store is closed and removed afterwards. */
export function withControlApp<T>(
  fn: (f: ControlFixture) => Promise<T>,
  over: {
    defaultTokenUses?: number;
    maxFailures?: number;
    /** Passed as the control app's `config` (GET /admin/config). */
    config?: unknown;
  } = {},
): Promise<T> {
  return withStore(async (store, kvPath) => {
    const clock = { now: T0 };
    const metrics = new MetricsRegistry();
    const app = createControlApp({
      servicePassword: SERVICE_PASSWORD,
      adminToken: ADMIN_TOKEN,
      defaultTokenDurationSeconds: 3600,
      defaultTokenUses: over.defaultTokenUses ?? 0,
      lockout: {
        maxFailures: over.maxFailures ?? 5,
        windowSeconds: 60,
        lockSeconds: 300,
      },
    }, {
      store,
      metrics,
      log: silentLogger,
      clock: () => clock.now,
      ...(over.config !== undefined ? { config: over.config } : {}),
    });
    return await fn({
      app,
      store,
      kvPath,
      metrics,
      clock,
      request: (path, init, ip = "192.0.2.1") =>
        Promise.resolve(
          app.request(`http://localhost${path}`, init, {
            remoteAddr: { hostname: ip, port: 40000, transport: "tcp" },
          }),
        ),
    });
  });
}

/** Mints a token through `/gettoken` and returns it. */
export async function mint(f: ControlFixture, query = ""): Promise<string> {
  const res = await f.request(
    `/gettoken?token=${SERVICE_PASSWORD}${query}`,
  );
  const body = await res.text();
  if (res.status !== 200) throw new Error(`gettoken ${res.status}: ${body}`);
  return body;
}
