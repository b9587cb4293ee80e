/**
 * Starts the control role's HTTP listener, on Meridian's HTTP/1.1 server
 * (`net/http1/`) so that the connection limits and request deadlines of every
 * HTTP port (`limits.http`) hold here too.
 *
 * @module
 */

import { DEFAULTS, type MeridianConfig } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { MetricsRegistry } from "../metrics/mod.ts";
import { openAccessLog } from "../log/access/mod.ts";
import {
  accessRecordOf,
  http1Limits,
  openListener,
  openTlsServing,
  serveHttp1,
  StartupCleanup,
} from "../net/mod.ts";
import type { SharedStore } from "../store/mod.ts";
import { createControlApp } from "./app.ts";
import { type ControlSecrets, resolveControlSecrets } from "./secrets.ts";
import type { ConfigSettings } from "./settings.ts";

/** The `control` config section. */
export type ControlConfig = MeridianConfig["control"];

/** What the control role needs from the process. */
export interface ControlDeps {
  /** The shared store; the caller opens and closes it. */
  readonly store: SharedStore;
  /** Where generated secrets are kept. */
  readonly dataDir: string;
  /** Component logger. */
  readonly log: Logger;
  /** Shared with the other roles of the process. */
  readonly metrics: MetricsRegistry;
  /** Unix ms. @default Date.now */
  readonly clock?: () => number;
  /** Secrets already resolved by the process (shared with edge and scheduler admin APIs). */
  readonly secrets?: ControlSecrets;
  /**
   * The whole running config, shown by `GET /admin/config` with every secret-named key
   * redacted; without it that route answers 501.
   */
  readonly fullConfig?: MeridianConfig;
  /**
   * The running config and the way to change it (the process's role supervisor): with it the
   * console's config panel edits and applies sections; without it the config is read-only.
   */
  readonly settings?: ConfigSettings;
  /**
   * The top-level `limits` section (connection caps, trusted networks, request and idle
   * deadlines of the port). @default DEFAULTS.limits
   */
  readonly limits?: MeridianConfig["limits"];
  /** The top-level `tls` section (the HTTPS port's). @default DEFAULTS.tls */
  readonly tls?: MeridianConfig["tls"];
}

/** A running control role. */
export interface ControlHandle {
  /** The bound address. */
  readonly hostname: string;
  /** The bound port (the real one when configured as 0). */
  readonly port: number;
  /** `http://host:port/`, the console. */
  readonly url: string;
  /** `https://host:port/` when `control.tls` has a certificate. */
  readonly httpsUrl: string | undefined;
  /** Secrets generated at this start (first start only): print them once, never log them. */
  readonly generated: ControlSecrets["generated"];
  /** Stops the listener (the store is the caller's to close). */
  close(): Promise<void>;
}

/**
 * Resolves the secrets and starts the control port.
 *
 * @throws {ControlError} For a weak configured secret or an unusable secrets file.
 * @throws {NetError} `NET_LISTEN` when the port cannot be bound (it names the address).
 * @throws {TlsError} When a certificate or key of `control.tls` cannot be read or used.
 */
export async function startControl(
  config: ControlConfig,
  deps: ControlDeps,
): Promise<ControlHandle> {
  const secrets = deps.secrets ??
    await resolveControlSecrets(config, deps.dataDir);
  const log = deps.log;
  const app = createControlApp(
    {
      servicePassword: secrets.servicePassword,
      adminToken: secrets.adminToken,
      defaultTokenDurationSeconds: config.defaultTokenDurationSeconds,
      defaultTokenUses: config.defaultTokenUses,
      lockout: config.lockout,
      operators: config.operators,
      sessionSeconds: config.sessionSeconds,
      secureCookies: config.secureCookies,
    },
    {
      store: deps.store,
      metrics: deps.metrics,
      log,
      ...(deps.clock ? { clock: deps.clock } : {}),
      ...(deps.fullConfig ? { config: deps.fullConfig } : {}),
      ...(deps.settings ? { settings: deps.settings } : {}),
    },
  );
  const opened = new StartupCleanup();
  const accessLog = await openAccessLog(config.accessLog, {
    role: "control",
    metrics: deps.metrics,
    log: log.child("access-log"),
  });
  if (accessLog) opened.add(() => accessLog.close());
  const server = await openListener(
    "HTTP",
    config.hostname,
    config.port,
    () =>
      serveHttp1({
        hostname: config.hostname,
        port: config.port,
        ...http1Limits(
          deps.limits ?? DEFAULTS.limits,
          deps.metrics,
          "control_http",
        ),
        ...(accessLog
          ? { observe: (x) => accessLog.http(accessRecordOf(x)) }
          : {}),
        onError: (message, context) => log.debug(message, context),
      }, (req, info) => app.fetch(req, info)),
  ).catch(async (e) => {
    await opened.close();
    throw e;
  });
  opened.add(() => server.shutdown());
  // HTTPS: the console and admin API over TLS (`control.tls`).
  const serving = await opened.run(() =>
    openTlsServing(config.tls, deps.tls ?? DEFAULTS.tls, "control_https", {
      log: log.child("tls"),
      metrics: deps.metrics,
    })
  );
  opened.add(() => serving?.certificates.close());
  const https = serving
    ? await opened.listen(
      "HTTPS",
      config.hostname,
      config.tls.port,
      () =>
        serveHttp1({
          hostname: config.hostname,
          port: config.tls.port,
          ...http1Limits(
            deps.limits ?? DEFAULTS.limits,
            deps.metrics,
            "control_https",
          ),
          tls: serving,
          ...(accessLog
            ? { observe: (x) => accessLog.http(accessRecordOf(x)) }
            : {}),
          onError: (message, context) => log.debug(message, context),
        }, (req, info) => app.fetch(req, info)),
    )
    : undefined;
  const port = (server.addr as Deno.NetAddr).port;
  const host = config.hostname.includes(":")
    ? `[${config.hostname}]`
    : config.hostname;
  const url = `http://${host}:${port}/`;
  const httpsUrl = https ? `https://${host}:${https.addr.port}/` : undefined;
  log.info("control listening", { url, ...(httpsUrl ? { httpsUrl } : {}) });
  return {
    hostname: config.hostname,
    port,
    url,
    httpsUrl,
    generated: secrets.generated,
    async close() {
      await server.shutdown();
      await https?.shutdown();
      serving?.certificates.close();
      await accessLog?.close();
    },
  };
}
