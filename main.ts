/**
 * Meridian's one entry point: `deno task start [--config FILE] [--roles origin,...]`.
 *
 * Loads and validates the config once, then starts the roles named by `--roles` (default: every
 * role this build has) with their own config sections.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ConfigError, loadConfig, type MeridianConfig } from "./config/mod.ts";
import { createLogger, describeError, type Logger } from "./log/mod.ts";
import { MetricsRegistry } from "./metrics/mod.ts";
import { startOrigin } from "./origin/mod.ts";
import { startControl } from "./control/mod.ts";
import { openStore } from "./store/mod.ts";

/** A running role. */
interface RoleHandle {
  close(): Promise<void>;
}

type RoleStarter = (
  config: MeridianConfig,
  log: Logger,
  metrics: MetricsRegistry,
) => Promise<RoleHandle>;

/** The roles this build has, in start order. */
const ROLES: Readonly<Record<string, RoleStarter>> = {
  origin: async (config, log, metrics) => {
    const o = await startOrigin(config.origin, {
      log: log.child("origin"),
      metrics,
    });
    console.log(
      `Meridian origin: player http://${config.origin.hostname}:${o.httpPort}/  ` +
        `publish rtmp://${config.origin.hostname}:${o.rtmpPort}/{app}/{stream}`,
    );
    return o;
  },
  control: async (config, log, metrics) => {
    const store = await openStore(config.store, config.dataDir, {
      log: log.child("store"),
    });
    try {
      const c = await startControl(config.control, {
        store,
        dataDir: config.dataDir,
        log: log.child("control"),
        metrics,
      });
      console.log(
        `Meridian control: console ${c.url}  tokens ${c.url}gettoken?token={service password}`,
      );
      // Printed once, at the first start that generated them; never logged (they live in dataDir).
      if (c.generated.servicePassword) {
        console.log(
          `  generated service password: ${c.generated.servicePassword}`,
        );
      }
      if (c.generated.adminToken) {
        console.log(`  generated admin token:      ${c.generated.adminToken}`);
      }
      return {
        async close() {
          await c.close();
          await store.close();
        },
      };
    } catch (err) {
      await store.close();
      throw err;
    }
  },
};

const USAGE = `Usage: deno task start [--config meridian.yaml] [--roles ${
  Object.keys(ROLES).join(",")
}]

  --config FILE   YAML config (every key has a default; MERIDIAN_<SECTION>_<KEY> env overrides)
  --roles LIST    roles to run in this process (default: all: ${
  Object.keys(ROLES).join(",")
})
  --help          this text`;

async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        config: { type: "string", short: "c" },
        roles: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    });
  } catch (err) {
    console.error(`${describeError(err)}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  const roles = (parsed.values.roles ?? Object.keys(ROLES).join(",")).split(",")
    .map((r) => r.trim()).filter(Boolean);
  for (const r of roles) {
    if (!(r in ROLES)) {
      console.error(
        `Unknown role '${r}': this build has ${Object.keys(ROLES).join(", ")}`,
      );
      return 2;
    }
  }

  let config: MeridianConfig;
  let warnings: string[];
  try {
    ({ config, warnings } = await loadConfig(parsed.values.config));
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(describeError(err));
      return 2;
    }
    throw err;
  }
  const log = createLogger("meridian", config.log);
  for (const w of warnings) log.warn(w);
  const metrics = new MetricsRegistry();

  const handles: RoleHandle[] = [];
  try {
    for (const r of roles) handles.push(await ROLES[r]!(config, log, metrics));
  } catch (err) {
    log.error("start-up failed", { error: describeError(err) });
    for (const h of handles.reverse()) await h.close().catch(() => {});
    return 1;
  }

  const { promise: stopped, resolve } = Promise.withResolvers<string>();
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(sig, () => resolve(sig));
  }
  const sig = await stopped;
  log.info("shutting down", { signal: sig });
  for (const h of handles.reverse()) {
    await h.close().catch((e) =>
      log.warn("close failed", { error: describeError(e) })
    );
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
