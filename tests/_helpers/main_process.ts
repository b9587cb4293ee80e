/**
 * `main.ts` as a child process with a YAML config of the test's choosing, so a test can kill a
 * whole node (SIGKILL: a crash, not a clean shutdown). Output goes to a log file the test can
 * show when something fails; the process is bounded in time and reaped by `kill()`.
 *
 * @module
 */
import { stringify } from "yaml";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** A running `main.ts`. */
export interface MainProcess {
  readonly child: Deno.ChildProcess;
  readonly dir: string;
  /** The process's stderr and stdout so far. */
  log(): Promise<string>;
  /** SIGKILL (or `signal`), then waits for the exit; idempotent. */
  kill(signal?: Deno.Signal): Promise<void>;
}

/**
 * Starts `main.ts --roles {roles} --config {config as YAML}` in a fresh data directory and
 * waits until `readyUrl` answers 200 (at most `timeoutMs`).
 *
 * @param wrap A command to run it under (e.g. `["ip", "netns", "exec", "lab-x"]`).
 */
export async function startMain(
  roles: string,
  config: Record<string, unknown>,
  readyUrl: string,
  options: {
    readonly wrap?: readonly string[];
    readonly timeoutMs?: number;
    readonly lifetimeMs?: number;
    readonly ready?: (url: string) => Promise<boolean>;
  } = {},
): Promise<MainProcess> {
  const dir = await Deno.makeTempDir({ prefix: "meridian-main-" });
  await Deno.writeTextFile(
    `${dir}/config.yaml`,
    stringify({ dataDir: `${dir}/data`, ...config }),
  );
  const logFile = await Deno.open(`${dir}/out.log`, {
    write: true,
    create: true,
  });
  const argv = [
    Deno.execPath(),
    "run",
    "-A",
    "--quiet",
    MAIN,
    "--roles",
    roles,
    "--config",
    `${dir}/config.yaml`,
  ];
  const wrap = options.wrap ?? [];
  const cmd = [...wrap, ...argv];
  const child = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).spawn();
  const pump = (s: ReadableStream<Uint8Array>) =>
    s.pipeTo(
      new WritableStream({
        write: (b) => {
          logFile.writeSync(b);
        },
      }),
    ).catch(() => {});
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let killed = false;
  const lifetime = setTimeout(
    () => void kill("SIGKILL"),
    options.lifetimeMs ?? 120_000,
  );
  async function kill(signal: Deno.Signal = "SIGKILL"): Promise<void> {
    clearTimeout(lifetime);
    if (!killed) {
      killed = true;
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
    }
    await child.status;
    await pumps;
    try {
      logFile.close();
    } catch {
      // closed
    }
  }
  const log = () => Deno.readTextFile(`${dir}/out.log`).catch(() => "");
  const ready = options.ready ??
    (async (url: string) => {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      return res.status === 200;
    });
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let exited = false;
  child.status.then(() => exited = true);
  for (;;) {
    if (exited) {
      await kill();
      throw new Error(`main.ts exited before ready: ${await log()}`);
    }
    if (await ready(readyUrl).catch(() => false)) break;
    if (Date.now() > deadline) {
      await kill();
      throw new Error(`main.ts not ready at ${readyUrl}: ${await log()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, dir, log, kill };
}
