/**
 * The roles of one process, started in order and restarted one by one when the config
 * changes: a reload is a diff (STYLE.md B7, mediamtx `reloadConf`). Each role says which part
 * of the config it reads ({@link SupervisedRole.inputs}); a new config restarts exactly the
 * roles whose inputs changed, and if one of them cannot start with it, every role restarted
 * so far goes back to the old config, so the process never runs half a config.
 *
 * Generic over the config type and knowing no role (runtime/ is a floor): `main.ts` gives it
 * the roles.
 *
 * @module
 */

import { describeError, type Logger } from "../log/mod.ts";

/** A running role. */
export interface RoleHandle {
  /** Where its ports are reached, by name (`origin.http` → `http://127.0.0.1:8090`). */
  readonly endpoints: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

/** One role as the supervisor runs it. */
export interface SupervisedRole<C> {
  /** Starts the role with `config`. */
  start(config: C): Promise<RoleHandle>;
  /**
   * The parts of `config` the role reads (secrets included): compared as JSON, a change
   * restarts the role.
   */
  inputs(config: C): unknown;
}

/** What {@link RoleSupervisor.apply} did. */
export interface ApplyOutcome {
  /** Roles restarted with the new config (in start order). */
  readonly restarted: readonly string[];
  /** Roles that will restart right after the call returns (see `after`). */
  readonly deferred: readonly string[];
}

/** A role did not start; the roles started before it were closed, newest first. */
export class RoleStartError extends Error {
  override name = "RoleStartError";
  constructor(
    readonly role: string,
    /** The roles closed because of it, in the order they were closed. */
    readonly closed: readonly string[],
    options?: ErrorOptions,
  ) {
    super(`Cannot start role ${role}`, options);
  }
}

/** A role could not start with the new config; every role runs the old one again. */
export class RoleRestartError extends Error {
  override name = "RoleRestartError";
  constructor(readonly role: string, options?: ErrorOptions) {
    super(
      `Cannot apply config: role ${role} did not start with it (the old config runs again)`,
      options,
    );
  }
}

/**
 * Runs roles and applies config changes to them.
 *
 * @example
 * ```ts
 * import { RoleSupervisor } from "./supervisor.ts";
 * import { silentLogger } from "../log/mod.ts";
 * const started: string[] = [];
 * const role = (name: string) => ({
 *   inputs: (c: Record<string, number>) => c[name],
 *   start: (c: Record<string, number>) => {
 *     started.push(`${name}=${c[name]}`);
 *     return Promise.resolve({ endpoints: {}, close: () => Promise.resolve() });
 *   },
 * });
 * const s = new RoleSupervisor({ a: role("a"), b: role("b") }, ["a", "b"], { a: 1, b: 1 }, { log: silentLogger });
 * await s.start();
 * const out = await s.apply({ a: 1, b: 2 });
 * await s.close();
 * if (out.restarted.join() !== "b" || started.join() !== "a=1,b=1,b=2") throw new Error(started.join());
 * ```
 */
export class RoleSupervisor<C> {
  readonly #roles: Readonly<Record<string, SupervisedRole<C>>>;
  readonly #order: readonly string[];
  readonly #log: Logger;
  readonly #handles = new Map<string, RoleHandle>();
  #config: C;
  /** One apply at a time: a second waits for the first. */
  #queue: Promise<unknown> = Promise.resolve();
  #onChange: (() => void) | undefined;
  #closed = false;
  #deferTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    roles: Readonly<Record<string, SupervisedRole<C>>>,
    order: readonly string[],
    config: C,
    options: { readonly log: Logger },
  ) {
    this.#roles = roles;
    this.#order = order;
    this.#config = config;
    this.#log = options.log;
  }

  /** The config every role runs now. */
  get config(): C {
    return this.#config;
  }

  /** The roles this supervisor runs, in start order. */
  get roles(): readonly string[] {
    return this.#order;
  }

  /** Called after roles restarted (their endpoints may have moved). */
  onChange(fn: () => void): void {
    this.#onChange = fn;
  }

  /** Every running role's endpoints, merged. */
  endpoints(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const r of this.#order) {
      Object.assign(out, this.#handles.get(r)?.endpoints);
    }
    return out;
  }

  /**
   * Starts every role in order.
   *
   * @throws {RoleStartError} Naming the role that failed (its error as the cause); the roles
   *   started before it are closed first, newest first.
   */
  async start(): Promise<void> {
    for (const r of this.#order) {
      try {
        this.#handles.set(r, await this.#roles[r]!.start(this.#config));
      } catch (cause) {
        const closed = [...this.#handles.keys()].reverse();
        await this.close();
        throw new RoleStartError(r, closed, { cause });
      }
    }
  }

  /** The roles whose inputs differ between the running config and `next`. */
  plan(next: C): string[] {
    return this.#order.filter((r) => {
      const role = this.#roles[r]!;
      return JSON.stringify(role.inputs(this.#config)) !==
        JSON.stringify(role.inputs(next));
    });
  }

  /**
   * Restarts the roles whose inputs change with `next`; others keep running untouched.
   *
   * @param after Roles to restart only after this call has returned (the role answering the
   *   request that asked for the change: it cannot wait for its own close).
   * @throws {RoleRestartError} When a role does not start with `next` (everything runs the
   *   old config again).
   */
  apply(next: C, after: readonly string[] = []): Promise<ApplyOutcome> {
    const run = this.#queue.then(() => this.#apply(next, after));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #apply(next: C, after: readonly string[]): Promise<ApplyOutcome> {
    const changed = this.plan(next);
    const now = changed.filter((r) => !after.includes(r));
    const later = changed.filter((r) => after.includes(r));
    const old = this.#config;
    const done: string[] = [];
    for (const r of now) {
      try {
        await this.#restart(r, next);
        done.push(r);
      } catch (cause) {
        this.#log.error("role did not start with the new config", {
          role: r,
          error: describeError(cause),
        });
        for (const back of [r, ...done.reverse()]) {
          await this.#restart(back, old).catch((e) =>
            this.#log.error("role did not start again with the old config", {
              role: back,
              error: describeError(e),
            })
          );
        }
        this.#onChange?.();
        throw new RoleRestartError(r, { cause });
      }
    }
    this.#config = next;
    if (done.length) this.#onChange?.();
    if (later.length) {
      // After the caller's response is on its way; a failure here is logged and the old
      // config's role started again.
      this.#deferTimer = setTimeout(() => {
        this.#deferTimer = undefined;
        this.#queue = this.#queue.then(async () => {
          if (this.#closed) return;
          for (const r of later) {
            await this.#restart(r, next).catch(async (e) => {
              this.#log.error("role did not start with the new config", {
                role: r,
                error: describeError(e),
              });
              await this.#restart(r, old).catch(() => {});
            });
          }
          this.#onChange?.();
        });
      }, 0);
    }
    this.#log.info("config applied", {
      restarted: done.join(",") || "none",
      deferred: later.join(",") || "none",
    });
    return { restarted: done, deferred: later };
  }

  async #restart(role: string, config: C): Promise<void> {
    const h = this.#handles.get(role);
    this.#handles.delete(role);
    await h?.close().catch((e) =>
      this.#log.warn("close failed", { role, error: describeError(e) })
    );
    this.#handles.set(role, await this.#roles[role]!.start(config));
  }

  /** Closes every role, last started first. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#deferTimer !== undefined) clearTimeout(this.#deferTimer);
    await this.#queue;
    for (const r of [...this.#order].reverse()) {
      const h = this.#handles.get(r);
      this.#handles.delete(r);
      await h?.close().catch((e) =>
        this.#log.warn("close failed", { role: r, error: describeError(e) })
      );
    }
  }
}
