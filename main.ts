/**
 * Meridian's one entry point: `deno task start [--config FILE] [--roles origin,...]`.
 *
 * Loads and validates the config once, then starts the roles named by `--roles` (default: every
 * role this build has) with their own config sections.
 *
 * Metrics: each role gets its own registry, so each role's port shows its own series (the
 * origin's on the origin's HTTP port, the edge's on the edge's); the process's series
 * (`process_*`, `meridian_runtime_*`, the shared store's) are in every one of them, since in
 * an all-in-one process every port is the same process.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ConfigError, loadConfig, type MeridianConfig } from "./config/mod.ts";
import { createLogger, describeError, type Logger } from "./log/mod.ts";
import { MetricsRegistry, startProcessMetrics } from "./metrics/mod.ts";
import { startOrigin } from "./origin/mod.ts";
import { startMemoryTrim } from "./runtime/memory_trim.ts";
import type { ControlSecrets } from "./control/mod.ts";
import { openStore, type SharedStore } from "./store/mod.ts";

/** A running role. */
interface RoleHandle {
  close(): Promise<void>;
}

/** What the process shares with every role it starts. */
interface RoleContext {
  readonly log: Logger;
  /** The role's own registry (the process's series included). */
  readonly metrics: MetricsRegistry;
  /** The one shared store of the process, opened before any role that needs it. */
  readonly store: SharedStore;
  /** The node's service password and admin token (configured, or generated once in dataDir). */
  readonly secrets: ControlSecrets;
}

type RoleStarter = (
  config: MeridianConfig,
  ctx: RoleContext,
) => Promise<RoleHandle>;

/**
 * The roles this build has, in start order (the local edge registers before the scheduler reads).
 * Roles other than the origin are imported when started: an origin-only node does not hold the
 * edge's, scheduler's and console's modules (7 MiB of idle RSS, BENCHMARKS.md). The specifiers
 * are literal, so `deno compile` still bundles them.
 */
const ROLES: Readonly<Record<string, RoleStarter>> = {
  origin: async (config, { log, metrics, store, secrets }) => {
    // One admin token for the whole node unless the origin names its own (as the edge does).
    const originConfig = {
      ...config.origin,
      adminToken: config.origin.adminToken || secrets.adminToken,
    };
    const o = await startOrigin(originConfig, {
      log: log.child("origin"),
      metrics,
      store,
      auth: config.auth,
      dataDir: config.dataDir,
      limits: config.limits,
    });
    console.log(
      `Meridian origin:    player http://${config.origin.hostname}:${o.httpPort}/  ` +
        `publish rtmp://${config.origin.hostname}:${o.rtmpPort}/{app}/{stream}`,
    );
    return o;
  },
  control: async (config, { log, metrics, store, secrets }) => {
    const { startControl } = await import("./control/mod.ts");
    const c = await startControl(config.control, {
      store,
      dataDir: config.dataDir,
      log: log.child("control"),
      metrics,
      secrets,
      fullConfig: config,
      limits: config.limits,
    });
    console.log(
      `Meridian control:   console ${c.url}  tokens ${c.url}gettoken?token={service password}`,
    );
    return c;
  },
  edge: async (config, { log, metrics, store, secrets }) => {
    // One admin token for the whole node unless the edge names its own.
    const edgeConfig = {
      ...config.edge,
      adminToken: config.edge.adminToken || secrets.adminToken,
    };
    const { startEdge } = await import("./edge/mod.ts");
    const e = await startEdge(edgeConfig, {
      log: log.child("edge"),
      metrics,
      store,
      auth: config.auth,
      limits: config.limits,
    });
    console.log(`Meridian edge:      viewers http://${e.hostname}:${e.port}/`);
    return e;
  },
  scheduler: async (config, { log, metrics, store, secrets }) => {
    const schedulerConfig = {
      ...config.scheduler,
      adminToken: config.scheduler.adminToken || secrets.adminToken,
    };
    const { startScheduler } = await import("./scheduler/mod.ts");
    const s = await startScheduler(schedulerConfig, {
      log: log.child("scheduler"),
      metrics,
      store,
      limits: config.limits,
    });
    console.log(
      `Meridian scheduler: DNS ${config.scheduler.hostname}:${s.dnsPort} (udp+tcp)  ` +
        `dashboard http://${config.scheduler.hostname}:${s.httpPort}/dashboard`,
    );
    return s;
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
  const trim = startMemoryTrim(config.memory.trimIntervalSeconds * 1000);
  const labelLimits = config.metrics.labelLimits;
  // The process's series, shown on every role's port.
  const metrics = new MetricsRegistry({ labelLimits });
  const processMetrics = startProcessMetrics(metrics);
  const stopProcess = () => {
    trim?.stop();
    processMetrics.stop();
  };

  // One store for the whole process (one KV handle, one feed poller), closed after the roles.
  let store: SharedStore;
  let secrets: ControlSecrets;
  try {
    store = await openStore(config.store, config.dataDir, {
      log: log.child("store"),
      metrics,
    });
    // Every role has an admin API now (the origin's: virtual-live channels); an origin-only
    // node that names its own origin.adminToken still never makes the node's secrets.
    secrets = roles.some((r) =>
        r !== "origin"
      ) || config.origin.adminToken === ""
      ? await (await import("./control/mod.ts")).resolveControlSecrets(
        config.control,
        config.dataDir,
      )
      : { servicePassword: "", adminToken: "", generated: {} };
  } catch (err) {
    log.error("start-up failed", { error: describeError(err) });
    stopProcess();
    return 1;
  }
  // Printed once, at the first start that generated them; never logged (they live in dataDir).
  if (secrets.generated.servicePassword) {
    console.log(
      `Generated token-service password: ${secrets.generated.servicePassword}`,
    );
  }
  if (secrets.generated.adminToken) {
    console.log(
      `Generated admin token:            ${secrets.generated.adminToken}`,
    );
  }
  const ctx: RoleContext = { log, metrics, store, secrets };
  const handles: { role: string; handle: RoleHandle }[] = [];
  for (const role of roles) {
    try {
      const roleMetrics = new MetricsRegistry({
        include: [metrics],
        labelLimits,
      });
      handles.push({
        role,
        handle: await ROLES[role]!(config, { ...ctx, metrics: roleMetrics }),
      });
    } catch (err) {
      // The failed role closed what it had opened; close the roles started before it, newest
      // first, so the process leaves nothing bound while it exits (or a supervisor retries).
      log.error("start-up failed", { role, error: describeError(err) });
      for (const { role: started, handle } of handles.reverse()) {
        await handle.close().catch((e) =>
          log.warn("close failed", { role: started, error: describeError(e) })
        );
      }
      await store.close().catch(() => {});
      log.info("closed the roles started before the failure", {
        roles: handles.map((h) => h.role),
      });
      stopProcess();
      return 1;
    }
  }

  const { promise: stopped, resolve } = Promise.withResolvers<string>();
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(sig, () => resolve(sig));
  }
  const sig = await stopped;
  log.info("shutting down", { signal: sig });
  for (const { role, handle } of handles.reverse()) {
    await handle.close().catch((e) =>
      log.warn("close failed", { role, error: describeError(e) })
    );
  }
  await store.close().catch((e) =>
    log.warn("close failed", { error: describeError(e) })
  );
  stopProcess();
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
