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
import { endpointUrl, NodeAnnouncer } from "./runtime/node_announcer.ts";
import { writeConfigChanges } from "./runtime/config_file.ts";
import {
  RoleStartError,
  RoleSupervisor,
  type SupervisedRole,
} from "./runtime/supervisor.ts";
import type { ControlSecrets } from "./control/mod.ts";
import { openStore, type SharedStore } from "./store/mod.ts";

/** What the roles run with: the config and the node's secrets resolved from it. */
interface RunConfig {
  readonly config: MeridianConfig;
  readonly secrets: ControlSecrets;
}

/** What the process shares with every role it starts. */
interface RoleContext {
  readonly log: Logger;
  /** The role's own registry (the process's series included). */
  readonly metrics: MetricsRegistry;
  /** The one shared store of the process, opened before any role that needs it. */
  readonly store: SharedStore;
  /** The console's view of the running config and its way to change it. */
  readonly settings: {
    current(): MeridianConfig;
    apply(next: MeridianConfig): Promise<unknown>;
  };
}

/** Secrets without the one-time `generated` note (which must not restart anything). */
const secretInputs = (s: ControlSecrets) => ({
  adminToken: s.adminToken,
  servicePassword: s.servicePassword,
});

/**
 * The roles this build has, in start order (the local edge registers before the scheduler reads).
 * Roles other than the origin are imported when started: an origin-only node does not hold the
 * edge's, scheduler's and console's modules (7 MiB of idle RSS, BENCHMARKS.md). The specifiers
 * are literal, so `deno compile` still bundles them. `inputs` is what each reads from the
 * config: a console edit restarts exactly the roles whose inputs changed.
 */
const ROLES: Readonly<
  Record<string, (ctx: RoleContext) => SupervisedRole<RunConfig>>
> = {
  origin: ({ log, metrics, store }) => ({
    inputs: ({ config, secrets }) => ({
      // One admin token for the whole node unless the origin names its own (as the edge does).
      origin: {
        ...config.origin,
        adminToken: config.origin.adminToken || secrets.adminToken,
      },
      auth: config.auth,
      dataDir: config.dataDir,
      limits: config.limits,
      tls: config.tls,
    }),
    start: async ({ config, secrets }) => {
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
        tls: config.tls,
      });
      console.log(
        `Meridian origin:    player http://${config.origin.hostname}:${o.httpPort}/  ` +
          `publish rtmp://${config.origin.hostname}:${o.rtmpPort}/{app}/{stream}` +
          (o.rtmpsPort
            ? `  rtmps://${config.origin.hostname}:${o.rtmpsPort}/{app}/{stream}`
            : "") +
          (o.httpsPort
            ? `  https://${config.origin.hostname}:${o.httpsPort}/`
            : ""),
      );
      return {
        endpoints: {
          "origin.http": endpointUrl(
            "http",
            config.origin.hostname,
            o.httpPort,
          ),
          "origin.rtmp": endpointUrl(
            "rtmp",
            config.origin.hostname,
            o.rtmpPort,
          ),
          ...(o.httpsPort
            ? {
              "origin.https": endpointUrl(
                "https",
                config.origin.hostname,
                o.httpsPort,
              ),
            }
            : {}),
          ...(o.rtmpsPort
            ? {
              "origin.rtmps": endpointUrl(
                "rtmps",
                config.origin.hostname,
                o.rtmpsPort,
              ),
            }
            : {}),
        },
        close: () => o.close(),
      };
    },
  }),
  control: ({ log, metrics, store, settings }) => ({
    inputs: ({ config, secrets }) => ({
      control: config.control,
      secrets: secretInputs(secrets),
      dataDir: config.dataDir,
      limits: config.limits,
      tls: config.tls,
    }),
    start: async ({ config, secrets }) => {
      const { startControl } = await import("./control/mod.ts");
      const c = await startControl(config.control, {
        store,
        dataDir: config.dataDir,
        log: log.child("control"),
        metrics,
        secrets,
        fullConfig: config,
        settings,
        limits: config.limits,
        tls: config.tls,
      });
      console.log(
        `Meridian control:   console ${c.url}  tokens ${c.url}gettoken?token={service password}` +
          (c.httpsUrl ? `  ${c.httpsUrl}` : ""),
      );
      return {
        endpoints: {
          "control.http": c.url.replace(/\/$/, ""),
          ...(c.httpsUrl
            ? { "control.https": c.httpsUrl.replace(/\/$/, "") }
            : {}),
        },
        close: () => c.close(),
      };
    },
  }),
  edge: ({ log, metrics, store }) => ({
    inputs: ({ config, secrets }) => ({
      edge: {
        ...config.edge,
        adminToken: config.edge.adminToken || secrets.adminToken,
      },
      auth: config.auth,
      limits: config.limits,
      tls: config.tls,
    }),
    start: async ({ config, secrets }) => {
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
        tls: config.tls,
      });
      console.log(
        `Meridian edge:      viewers http://${e.hostname}:${e.port}/` +
          (e.httpsPort ? `  https://${e.hostname}:${e.httpsPort}/` : ""),
      );
      return {
        endpoints: {
          "edge.http": endpointUrl("http", e.hostname, e.port),
          ...(e.httpsPort
            ? { "edge.https": endpointUrl("https", e.hostname, e.httpsPort) }
            : {}),
        },
        close: () => e.close(),
      };
    },
  }),
  scheduler: ({ log, metrics, store }) => ({
    inputs: ({ config, secrets }) => ({
      scheduler: {
        ...config.scheduler,
        adminToken: config.scheduler.adminToken || secrets.adminToken,
      },
      limits: config.limits,
      tls: config.tls,
    }),
    start: async ({ config, secrets }) => {
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
        tls: config.tls,
      });
      console.log(
        `Meridian scheduler: DNS ${config.scheduler.hostname}:${s.dnsPort} (udp+tcp)  ` +
          `dashboard http://${config.scheduler.hostname}:${s.httpPort}/dashboard`,
      );
      return {
        endpoints: {
          "scheduler.http": endpointUrl(
            "http",
            config.scheduler.hostname,
            s.httpPort,
          ),
          "scheduler.dns": endpointUrl(
            "dns",
            config.scheduler.hostname,
            s.dnsPort,
          ),
          ...(s.httpsPort
            ? {
              "scheduler.https": endpointUrl(
                "https",
                config.scheduler.hostname,
                s.httpsPort,
              ),
            }
            : {}),
        },
        close: () => s.close(),
      };
    },
  }),
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

  // Every role has an admin API now (the origin's: virtual-live channels, clips, recordings,
  // programmes); an origin-only node that names its own origin.adminToken still never makes
  // the node's secrets.
  const resolveSecrets = async (c: MeridianConfig): Promise<ControlSecrets> =>
    roles.some((r) => r !== "origin") || c.origin.adminToken === ""
      ? await (await import("./control/mod.ts")).resolveControlSecrets(
        c.control,
        c.dataDir,
      )
      : { servicePassword: "", adminToken: "", generated: {} };

  // One store for the whole process (one KV handle, one feed poller), closed after the roles.
  let store: SharedStore;
  let secrets: ControlSecrets;
  try {
    store = await openStore(config.store, config.dataDir, {
      log: log.child("store"),
      metrics,
    });
    secrets = await resolveSecrets(config);
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
  const configPath = parsed.values.config;
  // deno-lint-ignore prefer-const
  let supervisor: RoleSupervisor<RunConfig>;
  const ctx: RoleContext = {
    log,
    metrics,
    store,
    settings: {
      current: () => supervisor.config.config,
      // The role answering the request that asked for it (control) restarts after answering;
      // a change that runs is then written into the --config file (comments kept).
      apply: async (next) => {
        const before = supervisor.config.config;
        const outcome = await supervisor.apply(
          { config: next, secrets: await resolveSecrets(next) },
          ["control"],
        );
        if (!configPath) return { ...outcome, persisted: false };
        try {
          const keys = await writeConfigChanges(configPath, before, next);
          log.info("config file updated", {
            file: configPath,
            keys: keys.length,
          });
          return { ...outcome, persisted: true };
        } catch (e) {
          log.warn("config applied but not written to its file", {
            file: configPath,
            error: describeError(e),
          });
          return { ...outcome, persisted: false };
        }
      },
    },
  };
  // Each role its own registry (its port shows its own series), kept across its restarts:
  // registering a family again returns the same one.
  const roleMetrics = roles.map(() =>
    new MetricsRegistry({ include: [metrics], labelLimits })
  );
  const supervised: Record<string, SupervisedRole<RunConfig>> = {};
  roles.forEach((r, i) => {
    supervised[r] = ROLES[r]!({ ...ctx, metrics: roleMetrics[i]! });
  });
  supervisor = new RoleSupervisor(supervised, roles, { config, secrets }, {
    log,
  });
  try {
    await supervisor.start();
  } catch (err) {
    // The failed role closed what it had opened; the supervisor closed the roles started
    // before it, newest first, so the process leaves nothing bound while it exits.
    const failed = err instanceof RoleStartError ? err : undefined;
    log.error("start-up failed", {
      ...(failed ? { role: failed.role } : {}),
      error: describeError(failed?.cause ?? err),
    });
    await store.close().catch(() => {});
    log.info("closed the roles started before the failure", {
      roles: failed?.closed ?? [],
    });
    stopProcess();
    return 1;
  }
  const announcer = new NodeAnnouncer(store.nodes, {
    roles,
    endpoints: supervisor.endpoints(),
    // Node-wide rates: the roles' families, each in one role's registry.
    metrics: {
      sum: (name) => {
        let found = false;
        let total = 0;
        for (const m of roleMetrics) {
          const v = m.sum(name);
          if (v !== undefined) {
            found = true;
            total += v;
          }
        }
        return found ? total : undefined;
      },
    },
    log: log.child("nodes"),
  });
  supervisor.onChange(() => announcer.update(roles, supervisor.endpoints()));
  announcer.start();

  const { promise: stopped, resolve } = Promise.withResolvers<string>();
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(sig, () => resolve(sig));
  }
  const sig = await stopped;
  log.info("shutting down", { signal: sig });
  await announcer.close();
  await supervisor.close();
  await store.close().catch((e) =>
    log.warn("close failed", { error: describeError(e) })
  );
  stopProcess();
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
