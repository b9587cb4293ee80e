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
  serveHttp1,
} from "../net/mod.ts";
import type { SharedStore } from "../store/mod.ts";
import { createControlApp } from "./app.ts";
import { type ControlSecrets, resolveControlSecrets } from "./secrets.ts";

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
   * The top-level `limits` section (connection caps, trusted networks, request and idle
   * deadlines of the port). @default DEFAULTS.limits
   */
  readonly limits?: MeridianConfig["limits"];
}

/** A running control role. */
export interface ControlHandle {
  /** The bound address. */
  readonly hostname: string;
  /** The bound port (the real one when configured as 0). */
  readonly port: number;
  /** `http://host:port/`, the console. */
  readonly url: string;
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
    },
    {
      store: deps.store,
      metrics: deps.metrics,
      log,
      ...(deps.clock ? { clock: deps.clock } : {}),
      ...(deps.fullConfig ? { config: deps.fullConfig } : {}),
    },
  );
  const accessLog = await openAccessLog(config.accessLog, {
    role: "control",
    metrics: deps.metrics,
    log: log.child("access-log"),
  });
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
    await accessLog?.close();
    throw e;
  });
  const port = (server.addr as Deno.NetAddr).port;
  const host = config.hostname.includes(":")
    ? `[${config.hostname}]`
    : config.hostname;
  const url = `http://${host}:${port}/`;
  log.info("control listening", { url });
  return {
    hostname: config.hostname,
    port,
    url,
    generated: secrets.generated,
    async close() {
      await server.shutdown();
      await accessLog?.close();
    },
  };
}
