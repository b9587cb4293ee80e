/**
 * The control port's Hono app: token service, admin API, `/healthz`, `/metrics`, the web console
 * (`/`, `web/console.html`) and the plain-text endpoint list (`/api`).
 *
 * @module
 */

import { Hono } from "hono";
import { describeError, type Logger } from "../log/mod.ts";
import type { MetricsRegistry } from "../metrics/mod.ts";
import { type SharedStore, StoreError } from "../store/mod.ts";
import { textError } from "../net/http/respond.ts";
import { createAdminApp } from "./admin.ts";
import { createBearerAuth } from "../net/http/admin_gate.ts";
import { ENDPOINTS_TEXT, loadConsolePage } from "./console.ts";
import { createTokenService } from "./gettoken.ts";
import { FailureLockout, type LockoutOptions } from "../net/http/lockout.ts";
import { ControlMetrics } from "./metrics.ts";

/** The control app's slice of config, secrets resolved. */
export interface ControlAppOptions {
  /** The `token` `/gettoken` requires. */
  readonly servicePassword: string;
  /** The admin API's bearer token. */
  readonly adminToken: string;
  /** Lifetime of a token minted without `duration`. */
  readonly defaultTokenDurationSeconds: number;
  /** 0 means unlimited uses. */
  readonly defaultTokenUses: number;
  /** Per-client lockout after wrong secrets. */
  readonly lockout: LockoutOptions;
}

/** What the control app needs from the process. */
export interface ControlAppDeps {
  /** Where tokens live. */
  readonly store: SharedStore;
  /** Rendered at `/metrics`; the control app adds its own series. */
  readonly metrics: MetricsRegistry;
  /** Component logger (secrets are never passed to it). */
  readonly log: Logger;
  /** Unix ms; tests pass a manual clock. @default Date.now */
  readonly clock?: () => number;
  /** The whole running config, for `GET /admin/config` (shown with secrets redacted). */
  readonly config?: unknown;
}

/**
 * The console page's policy: its own inline script and style, requests to this port only, and
 * no framing (the page holds the admin token).
 */
const CONSOLE_HEADERS = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; " +
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; " +
    "frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-cache",
} as const;

/**
 * Creates the control app.
 *
 * @example
 * ```ts
 * import { createControlApp } from "./app.ts";
 * import { KvStore } from "../store/mod.ts";
 * import { MetricsRegistry } from "../metrics/mod.ts";
 * import { silentLogger } from "../log/mod.ts";
 * const dir = await Deno.makeTempDir();
 * const store = await KvStore.open(`${dir}/m.kv`);
 * const app = createControlApp({
 *   servicePassword: "service-password", adminToken: "admin-token-0123456789",
 *   defaultTokenDurationSeconds: 60, defaultTokenUses: 0,
 *   lockout: { maxFailures: 5, windowSeconds: 60, lockSeconds: 300 },
 * }, { store, metrics: new MetricsRegistry(), log: silentLogger });
 * const res = await app.request("http://localhost/gettoken?token=service-password");
 * const token = await res.text();
 * await store.close();
 * await Deno.remove(dir, { recursive: true });
 * if (!/^[A-Za-z0-9]{16}$/.test(token)) throw new Error(token);
 * ```
 */
export function createControlApp(
  options: ControlAppOptions,
  deps: ControlAppDeps,
): Hono {
  const clock = deps.clock ?? Date.now;
  const { store, metrics, log } = deps;
  // One lockout for both secrets: a client guessing either is the same client.
  const lockout = new FailureLockout(options.lockout, clock);
  metrics.collect(
    "meridian_control_lockout_clients",
    "Clients with recent wrong secrets",
    "gauge",
    () => [[undefined, lockout.size]],
  );
  metrics.collect(
    "meridian_control_lockouts_total",
    "Times a client was locked out after wrong service passwords or admin tokens",
    "counter",
    () => [[undefined, lockout.lockouts]],
  );
  const counters = new ControlMetrics(metrics);
  const startedAt = clock();
  const app = new Hono();

  app.onError((err, c) => {
    if (err instanceof StoreError) {
      log.error("shared store failed", { error: describeError(err) });
      return textError(c, 503, "Token store unavailable");
    }
    log.error("request failed", {
      path: c.req.path,
      error: describeError(err),
    });
    return textError(c, 500, "Internal error");
  });

  app.get(
    "/",
    async (c) => c.html(await loadConsolePage(), 200, CONSOLE_HEADERS),
  );
  app.get("/api", (c) => c.text(ENDPOINTS_TEXT));
  app.get("/healthz", (c) => {
    // The shared store's reachability; "ok" stays: the node still serves what it knows.
    const h = store.health();
    return c.json({
      status: "ok",
      role: "control",
      uptimeSeconds: Math.round((clock() - startedAt) / 1000),
      store: {
        backend: h.backend,
        up: h.up,
        since: new Date(h.sinceMs).toISOString(),
      },
    });
  });
  app.get("/metrics", (c) =>
    c.body(metrics.render(), 200, {
      "Content-Type": "text/plain; version=0.0.4",
    }));

  app.route(
    "/",
    createTokenService(options, {
      store,
      lockout,
      metrics,
      log,
      clock,
      counters,
    }),
  );
  // Counted before the bearer gate, so refused requests (401, 429) are counted too.
  app.use("/admin/*", async (c, next) => {
    await next();
    counters.admin(c.req.path, c.res.status);
  });
  app.use(
    "/admin/*",
    createBearerAuth({ adminToken: options.adminToken, lockout, log }),
  );
  app.route(
    "/admin",
    createAdminApp({
      store,
      log,
      clock,
      defaultTokenDurationSeconds: options.defaultTokenDurationSeconds,
      defaultTokenUses: options.defaultTokenUses,
      ...(deps.config !== undefined ? { config: deps.config } : {}),
      counters,
    }),
  );
  return app;
}
