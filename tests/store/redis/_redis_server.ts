/**
 * A throw-away redis-server for the Redis store tests: started on a free loopback port with no
 * persistence (or with an append-only file, for restart tests), in a temporary directory, and
 * killed afterwards. Tests skip, with the reason printed, when redis-server is missing.
 *
 * @module
 */

/** Where Debian's `redis-server` package installs the server. */
export const REDIS_SERVER = "/usr/bin/redis-server";
/** How long a server may take to accept connections (ms). */
const START_TIMEOUT_MS = 10_000;

/** Why Redis tests cannot run here, or `undefined` when they can. */
export const REDIS_SKIP: string | undefined = (() => {
  try {
    Deno.statSync(REDIS_SERVER);
    return undefined;
  } catch {
    return `${REDIS_SERVER} not found (apt-get install redis-server)`;
  }
})();

/** A free loopback TCP port. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Options of {@link RedisServer.start}. */
export interface RedisServerOptions {
  /** @default a free port */
  readonly port?: number;
  /** Data directory. @default a new temporary one, removed by `stop()` */
  readonly dir?: string;
  /** Keep data across a restart (append-only file, fsync always). @default false */
  readonly persist?: boolean;
  /** `requirepass`. @default none */
  readonly password?: string;
  /** Extra arguments (e.g. `--sentinel`). */
  readonly args?: readonly string[];
  /** A config file to start from (sentinels need one). */
  readonly configFile?: string;
}

/** One running redis-server child. */
export class RedisServer {
  readonly port: number;
  readonly dir: string;
  readonly #ownsDir: boolean;
  readonly #options: RedisServerOptions;
  #child: Deno.ChildProcess | undefined;

  private constructor(
    port: number,
    dir: string,
    ownsDir: boolean,
    options: RedisServerOptions,
  ) {
    this.port = port;
    this.dir = dir;
    this.#ownsDir = ownsDir;
    this.#options = options;
  }

  /** Starts a server and waits until it accepts connections. */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const dir = options.dir ??
      await Deno.makeTempDir({ prefix: "meridian_redis_" });
    const server = new RedisServer(
      options.port ?? freePort(),
      dir,
      options.dir === undefined,
      options,
    );
    await server.restart();
    return server;
  }

  /** `redis://127.0.0.1:PORT` (with the password when one is set). */
  get url(): string {
    const auth = this.#options.password
      ? `:${encodeURIComponent(this.#options.password)}@`
      : "";
    return `redis://${auth}127.0.0.1:${this.port}`;
  }

  /** Starts the server again on the same port and directory (after `kill()`). */
  async restart(): Promise<void> {
    if (this.#child) throw new Error("redis-server is already running");
    const o = this.#options;
    const args = [
      ...(o.configFile ? [o.configFile] : []),
      "--port",
      String(this.port),
      "--bind",
      "127.0.0.1",
      "--dir",
      this.dir,
      "--save",
      "",
      "--appendonly",
      o.persist ? "yes" : "no",
      ...(o.persist ? ["--appendfsync", "always"] : []),
      ...(o.password ? ["--requirepass", o.password] : []),
      ...(o.args ?? []),
    ];
    this.#child = new Deno.Command(REDIS_SERVER, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (true) {
      try {
        const c = await Deno.connect({
          hostname: "127.0.0.1",
          port: this.port,
        });
        c.close();
        return;
      } catch {
        if (Date.now() > deadline) {
          await this.kill();
          throw new Error(
            `redis-server did not start on port ${this.port} within ${START_TIMEOUT_MS} ms`,
          );
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** Kills the server at once (SIGKILL: no goodbye to clients, as a crash). */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
  }

  /** Kills the server and removes its directory when it made it. */
  async stop(): Promise<void> {
    await this.kill();
    if (this.#ownsDir) {
      await Deno.remove(this.dir, { recursive: true }).catch(() => {});
    }
  }
}
