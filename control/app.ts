/**
 * The control port's Hono app: token service, console sign-in (`/console/login`), admin API
 * (bearer token or console session + CSRF token), `/healthz`, `/metrics`, the web console
 * (`/`, `/console/…` from web/console/) and the plain-text endpoint list (`/api`).
 *
 * @module
 */

import { Hono } from "hono";
import { describeError, type Logger } from "../log/mod.ts";
import type { MeridianConfig } from "../config/mod.ts";
import type { MetricsRegistry } from "../metrics/mod.ts";
import { type SharedStore, StoreError } from "../store/mod.ts";
import { textError } from "../net/http/respond.ts";
import { createAdminApp } from "./admin.ts";
import { BitrateSampler } from "./bitrate.ts";
import {
  type ControlEnv,
  createConsoleAuthRoutes,
  createControlGate,
} from "./console_auth.ts";
import { ConsoleSessions } from "./console_session.ts";
import { consoleCsp, ENDPOINTS_TEXT, loadConsoleFiles } from "./console.ts";
import { createTokenService } from "./gettoken.ts";
import type { OperatorAccount } from "./operators.ts";
import { createOriginProxyRoutes } from "./origin_proxy.ts";
import { OriginDirectory } from "./origins.ts";
import { createOverviewRoutes } from "./overview.ts";
import { createSchedulerViewRoutes } from "./scheduler_view.ts";
import { type ConfigSettings, createSettingsRoutes } from "./settings.ts";
import { FailureLockout, type LockoutOptions } from "../net/http/lockout.ts";
import { ControlMetrics } from "./metrics.ts";

/** The control app's slice of config, secrets resolved. */
export interface ControlAppOptions {
  /** The `token` `/gettoken` requires. */
  readonly servicePassword: string;
  /** The admin API's bearer token (and the console's admin sign-in). */
  readonly adminToken: string;
  /** Lifetime of a token minted without `duration`. */
  readonly defaultTokenDurationSeconds: number;
  /** 0 means unlimited uses. */
  readonly defaultTokenUses: number;
  /** Per-client lockout after wrong secrets. */
  readonly lockout: LockoutOptions;
  /** Named console accounts (`control.operators`). @default [] */
  readonly operators?: readonly OperatorAccount[];
  /** A console sign-in lasts this long. @default 28800 */
  readonly sessionSeconds?: number;
  /** Mark the session cookie `Secure` over plain HTTP too. @default false */
  readonly secureCookies?: boolean;
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
  /** The running config and the way to change it; without it the config is read-only. */
  readonly settings?: ConfigSettings;
}

/** Frame origins (scheme://host:port) of the console's CSP are re-read this often (ms). */
const FRAME_ORIGINS_TTL_MS = 5_000;

const CONSOLE_HEADERS = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-cache",
} as const;

/** The access rule of an app in a config (`auth.enabled` makes every app need a token). */
function accessOf(config: unknown, app: string): "open" | "token" {
  const c = config as Partial<MeridianConfig> | undefined;
  if (!c?.origin) return "open";
  if (c.auth?.enabled) return "token";
  return c.origin.apps?.find((a) => a.name === app)?.access ??
    c.origin.defaultApp?.access ?? "open";
}

/**
 * The base URL viewers reach through the scheduler's DNS: the first steered name that is not a
 * wildcard (relative names under their zone), on the edges' HTTP port.
 *
 * @example
 * ```ts
 * import { DEFAULTS } from "../config/mod.ts";
 * import { steeredBaseUrl } from "./app.ts";
 * if (steeredBaseUrl(DEFAULTS) !== "http://live.meridian.test:8080") throw new Error();
 * ```
 */
export function steeredBaseUrl(config: unknown): string | undefined {
  const c = config as Partial<MeridianConfig> | undefined;
  for (const z of c?.scheduler?.zones ?? []) {
    for (const s of z.steered) {
      if (s.name.includes("*")) continue;
      const name = s.name.endsWith(".")
        ? s.name.slice(0, -1)
        : `${s.name}.${z.name.replace(/\.$/, "")}`;
      return `http://${name}:${c?.edge?.port ?? 80}`;
    }
  }
  return undefined;
}

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
  // One lockout for every secret: a client guessing any of them is the same client.
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
  const currentConfig = () => deps.settings?.current() ?? deps.config;
  const sessions = new ConsoleSessions({
    store,
    sessionSeconds: options.sessionSeconds ?? 8 * 3600,
    clock,
  });
  const auth = {
    adminToken: options.adminToken,
    operators: options.operators ?? [],
    sessions,
    lockout,
    log,
    secureCookies: options.secureCookies ?? false,
  };
  const origins = new OriginDirectory(store, options.adminToken, clock);
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

  // The console: its page and files, framing only the player pages of known origins and edges.
  let frames: { atMs: number; list: Promise<string[]> } | undefined;
  const frameOrigins = () => {
    const now = clock();
    if (!frames || now - frames.atMs > FRAME_ORIGINS_TTL_MS) {
      frames = {
        atMs: now,
        list: (async () => {
          const [nodes, listings, edges] = await Promise.all([
            store.nodes.list(now),
            store.streams.list(now),
            store.edges.snapshot(now),
          ]);
          const urls = [
            ...nodes.flatMap((n) =>
              ["origin.http", "edge.http"].map((k) => n.endpoints[k])
            ),
            ...listings.map((l) => l.httpUrl),
            ...edges.edges.map((e) => e.baseUrl),
          ];
          const out = new Set<string>();
          for (const u of urls) {
            try {
              if (u) out.add(new URL(u).origin);
            } catch {
              // not a URL: not framed
            }
          }
          return [...out].sort();
        })().catch(() => []),
      };
    }
    return frames.list;
  };
  app.get("/", async (c) => {
    const files = await loadConsoleFiles();
    return c.html(files.page, 200, {
      ...CONSOLE_HEADERS,
      "Content-Security-Policy": consoleCsp(await frameOrigins()),
    });
  });
  app.route("/", createConsoleAuthRoutes(auth));
  app.get("/console/:file{.+}", async (c) => {
    const f = (await loadConsoleFiles()).file(c.req.param("file"));
    if (!f) return c.text("Not found", 404);
    return c.body(f.body, 200, {
      ...CONSOLE_HEADERS,
      "Content-Type": f.contentType,
    });
  });
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
  const admin = new Hono<ControlEnv>();
  // Counted before the gate, so refused requests (401, 403, 429) are counted too.
  admin.use("*", async (c, next) => {
    await next();
    counters.admin(c.req.path, c.res.status);
  });
  admin.use("*", createControlGate(auth));
  admin.route(
    "/",
    createAdminApp({
      store,
      log,
      clock,
      defaultTokenDurationSeconds: options.defaultTokenDurationSeconds,
      defaultTokenUses: options.defaultTokenUses,
      sampler: new BitrateSampler(),
      accessOf: (a) => accessOf(currentConfig(), a),
      dnsUrl: () => steeredBaseUrl(currentConfig()),
      counters,
    }),
  );
  admin.route("/", createOverviewRoutes({ store, clock }));
  admin.route("/", createOriginProxyRoutes({ origins, log }));
  admin.route("/", createSchedulerViewRoutes({ store, clock }));
  admin.route(
    "/",
    createSettingsRoutes({
      config: currentConfig,
      log,
      ...(deps.settings ? { settings: deps.settings } : {}),
    }),
  );
  app.route("/admin", admin);
  return app;
}
