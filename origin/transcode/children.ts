/**
 * ffmpeg children that never outlive Meridian.
 *
 * - **Own process group.** Each child is started `detached` (a new session, so its process
 *   group id is its pid): stopping it kills the whole group, whatever ffmpeg started.
 * - **Parent-death signal.** Deno has no pre-exec hook to call `prctl(PR_SET_PDEATHSIG)`, so the
 *   child is run through util-linux's `setpriv --pdeathsig KILL --`, which sets it and execs
 *   ffmpeg in place (same pid): when Meridian dies, even by `kill -9`, the kernel kills the
 *   child. Checked once at the first spawn; without a working `setpriv` (not Linux, an old
 *   util-linux) children start plainly and a warning says so.
 * - **A pid file for what is left anyway.** Each child's pid and start time (`/proc/{pid}/stat`
 *   field 22, so a recycled pid is never mistaken for ours) are kept in
 *   `dataDir/transcode/children.json`; a starting origin kills the groups of the ones still
 *   running.
 *
 * Live renditions also read their input from a pipe Meridian holds, so a child that somehow
 * survives its parent sees end of input and ends itself.
 *
 * @module
 */

import type { Logger } from "../log.ts";
import { TranscodeError, TranscodeErrorCode } from "./errors.ts";

/** The pid file, below the origin's data directory. */
export const CHILDREN_FILE = "transcode/children.json";
/** How long a stopped child has after SIGTERM before SIGKILL (ms). */
export const STOP_GRACE_MS = 2_000;

/** What to run. */
export interface ChildSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly stdin: "piped" | "null";
  readonly stdout: "piped" | "null";
  readonly stderr: "piped" | "null";
  /** What it is, for the pid file and logs (`live app/cam_720p`, `job 3f2a`). */
  readonly label: string;
}

/** A running child. */
export interface SupervisedChild {
  readonly pid: number;
  readonly process: Deno.ChildProcess;
  /** Resolves when it has exited (and left the pid file). */
  readonly status: Promise<Deno.CommandStatus>;
  /** Signals the child's whole process group (SIGKILL by default). Never throws. */
  kill(signal?: Deno.Signal): void;
  /** SIGTERM, then SIGKILL after {@link STOP_GRACE_MS}; resolves when it has exited. */
  stop(): Promise<Deno.CommandStatus>;
}

interface PidEntry {
  readonly pid: number;
  readonly startTicks: string;
  readonly label: string;
}

/**
 * Field 22 (starttime) of `/proc/{pid}/stat`, or undefined when there is no such process or it
 * is a zombie (dead, waiting to be reaped: a container whose init reaps nothing keeps those).
 */
async function startTicksOf(pid: number): Promise<string | undefined> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z" || fields[0] === "X") return undefined; // field 3: state
    return fields[19]; // field 22 overall: the 20th after pid and comm
  } catch {
    return undefined;
  }
}

function killGroup(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(-pid, signal);
  } catch {
    try {
      Deno.kill(pid, signal);
    } catch {
      // gone already
    }
  }
}

/** Options of {@link ChildProcesses.open}. */
export interface ChildProcessesOptions {
  /** The origin's data directory; without it no pid file is kept. */
  readonly dataDir?: string | undefined;
  readonly log: Logger;
  /** The wrapper that sets the parent-death signal. @default "setpriv" */
  readonly setpriv?: string;
}

/** Every supervised child of the process, and the pid file that names them. */
export class ChildProcesses {
  readonly #file: string | undefined;
  readonly #log: Logger;
  readonly #setpriv: string;
  readonly #running = new Map<number, PidEntry>();
  readonly #children = new Set<SupervisedChild>();
  #wrapper: Promise<boolean> | undefined;
  #writing: Promise<void> = Promise.resolve();
  #leftoversKilled = 0;

  private constructor(options: ChildProcessesOptions) {
    this.#file = options.dataDir === undefined
      ? undefined
      : `${options.dataDir}/${CHILDREN_FILE}`;
    this.#log = options.log;
    this.#setpriv = options.setpriv ?? "setpriv";
  }

  /**
   * Opens the registry: children a previous process left running (its pid file) are killed
   * first.
   */
  static async open(options: ChildProcessesOptions): Promise<ChildProcesses> {
    const c = new ChildProcesses(options);
    await c.#reapLeftovers();
    return c;
  }

  /** Children running now. */
  get running(): number {
    return this.#children.size;
  }

  /** Leftovers of an earlier process killed at start-up. */
  get leftoversKilled(): number {
    return this.#leftoversKilled;
  }

  /** Whether children get the parent-death signal (`setpriv` works here). */
  async hasDeathSignal(): Promise<boolean> {
    return await (this.#wrapper ??= this.#probeWrapper());
  }

  /**
   * Starts a child in its own process group, with the parent-death signal when available.
   *
   * @throws {TranscodeError} `TRANSCODE_FFMPEG_MISSING` when the command is not installed,
   *   `TRANSCODE_SPAWN` when it cannot be started.
   */
  async spawn(spec: ChildSpec): Promise<SupervisedChild> {
    const wrapped = await this.hasDeathSignal();
    const [command, args] = wrapped
      ? [this.#setpriv, [
        "--pdeathsig",
        "KILL",
        "--",
        spec.command,
        ...spec.args,
      ]]
      : [spec.command, [...spec.args]];
    if (wrapped) {
      // setpriv reports a missing command only by its exit status: look first.
      await this.#checkCommand(spec.command);
    }
    let process: Deno.ChildProcess;
    try {
      process = new Deno.Command(command, {
        args,
        stdin: spec.stdin,
        stdout: spec.stdout,
        stderr: spec.stderr,
        detached: true,
      }).spawn();
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new TranscodeError(
          TranscodeErrorCode.FfmpegMissing,
          `Cannot start ${spec.label}: '${spec.command}' is not installed`,
          { cause: e },
        );
      }
      throw new TranscodeError(
        TranscodeErrorCode.Spawn,
        `Cannot start ${spec.label}: ${e instanceof Error ? e.message : e}`,
        { cause: e },
      );
    }
    const pid = process.pid;
    const entry: PidEntry = {
      pid,
      startTicks: (await startTicksOf(pid)) ?? "",
      label: spec.label,
    };
    this.#running.set(pid, entry);
    this.#save();
    // On disk before the caller goes on: a kill -9 from now on leaves it findable.
    await this.#writing;
    const status = process.status.finally(() => {
      this.#running.delete(pid);
      this.#children.delete(child);
      this.#save();
    });
    const child: SupervisedChild = {
      pid,
      process,
      status,
      kill: (signal: Deno.Signal = "SIGKILL") => killGroup(pid, signal),
      stop: async () => {
        killGroup(pid, "SIGTERM");
        const timer = setTimeout(
          () => killGroup(pid, "SIGKILL"),
          STOP_GRACE_MS,
        );
        try {
          return await status;
        } finally {
          clearTimeout(timer);
        }
      },
    };
    this.#children.add(child);
    return child;
  }

  /** Kills every child (SIGKILL to each group) and waits for them; the pid file is emptied. */
  async closeAll(): Promise<void> {
    const all = [...this.#children];
    for (const c of all) c.kill("SIGKILL");
    await Promise.allSettled(all.map((c) => c.status));
    await this.#writing;
  }

  async #checkCommand(command: string): Promise<void> {
    if (command.includes("/")) {
      try {
        await Deno.stat(command);
        return;
      } catch (e) {
        throw new TranscodeError(
          TranscodeErrorCode.FfmpegMissing,
          `Cannot start ffmpeg: '${command}' is not installed`,
          { cause: e },
        );
      }
    }
    for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
      if (dir === "") continue;
      try {
        const s = await Deno.stat(`${dir}/${command}`);
        if (s.isFile) return;
      } catch {
        // not in this folder
      }
    }
    throw new TranscodeError(
      TranscodeErrorCode.FfmpegMissing,
      `Cannot start ffmpeg: '${command}' is not installed (not on PATH)`,
    );
  }

  async #probeWrapper(): Promise<boolean> {
    try {
      const out = await new Deno.Command(this.#setpriv, {
        args: ["--pdeathsig", "KILL", "--", "true"],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).output();
      if (out.success) return true;
    } catch {
      // not installed
    }
    this.#log.warn(
      "setpriv --pdeathsig unavailable: ffmpeg children may outlive a killed Meridian until the next start reaps them",
      { wrapper: this.#setpriv },
    );
    return false;
  }

  #save(): void {
    const file = this.#file;
    if (!file) return;
    const text = JSON.stringify([...this.#running.values()]);
    this.#writing = this.#writing.then(async () => {
      try {
        await Deno.mkdir(file.slice(0, file.lastIndexOf("/")), {
          recursive: true,
        });
        const tmp = `${file}.tmp`;
        await Deno.writeTextFile(tmp, text);
        await Deno.rename(tmp, file);
      } catch (e) {
        this.#log.warn("cannot write the transcoder pid file", {
          file,
          error: e instanceof Error ? e.message : String(e),
        });
      }
    });
  }

  async #reapLeftovers(): Promise<void> {
    const file = this.#file;
    if (!file) return;
    let entries: PidEntry[];
    try {
      const parsed = JSON.parse(await Deno.readTextFile(file));
      entries = Array.isArray(parsed) ? parsed : [];
    } catch {
      return; // no file (first start) or unreadable: nothing known to reap
    }
    for (const e of entries) {
      if (!Number.isSafeInteger(e?.pid) || e.pid <= 1) continue;
      const ticks = await startTicksOf(e.pid);
      if (ticks === undefined || ticks !== e.startTicks) continue; // gone, or a recycled pid
      killGroup(e.pid, "SIGKILL");
      this.#leftoversKilled++;
      this.#log.warn("killed a transcoder left by an earlier process", {
        pid: e.pid,
        label: String(e.label).slice(0, 200),
      });
    }
    this.#save();
    await this.#writing;
  }
}
