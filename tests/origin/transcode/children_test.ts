import assert from "node:assert/strict";
import { silentLogger } from "../../../origin/log.ts";
import {
  ChildProcesses,
  CHILDREN_FILE,
  TranscodeError,
} from "../../../origin/transcode/mod.ts";
import { waitFor } from "../../_helpers/peers.ts";

const SPAWNER = new URL("./_spawn_child.ts", import.meta.url).pathname;
const haveSetpriv = await new Deno.Command("setpriv", {
  args: ["--pdeathsig", "KILL", "--", "true"],
  stdout: "null",
  stderr: "null",
}).output().then((o) => o.success, () => false);

function alive(pid: number): boolean {
  try {
    // Zombies count as gone: field 3 of /proc/{pid}/stat is the state.
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !==
      "Z";
  } catch {
    return false;
  }
}

/** The pids of `pid`'s children (from /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(e.name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Starts the stand-in Meridian; returns it and the pid of the child it spawned. */
async function startSpawner(dataDir: string, setpriv?: string) {
  const parent = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SPAWNER, dataDir, ...(setpriv ? [setpriv] : [])],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const reader = parent.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const r = await reader.read();
    if (r.done) throw new Error(`spawner ended: ${text}`);
    text += new TextDecoder().decode(r.value);
  }
  reader.releaseLock();
  void parent.stdout.cancel().catch(() => {});
  return { parent, childPid: Number(text.trim()) };
}

Deno.test({
  name:
    "ChildProcesses: kill -9 of the parent kills the child (parent-death signal); the child leads its own process group",
  ignore: !haveSetpriv,
  async fn() {
    const dataDir = await Deno.makeTempDir();
    const { parent, childPid } = await startSpawner(dataDir);
    let grandchild: number | undefined;
    try {
      grandchild = await waitFor("the sleeper", () => childrenOf(childPid)[0]);
      assert.ok(alive(childPid) && alive(grandchild));
      // Its own process group and session (setsid): pgid == pid.
      const stat = await Deno.readTextFile(`/proc/${childPid}/stat`);
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      assert.equal(Number(f[2]), childPid, "process group");
      // The pid file names it.
      const file = JSON.parse(
        await Deno.readTextFile(`${dataDir}/${CHILDREN_FILE}`),
      );
      assert.deepEqual(file.map((e: { pid: number }) => e.pid), [childPid]);

      parent.kill("SIGKILL");
      await parent.status;
      await waitFor(
        "the child to die with its parent",
        () => !alive(childPid),
        5_000,
      );
    } finally {
      for (const pid of [childPid, grandchild]) {
        if (pid && alive(pid)) Deno.kill(pid, "SIGKILL");
      }
      try {
        parent.kill("SIGKILL");
      } catch {
        // gone
      }
      await parent.status;
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "ChildProcesses.open(): children an earlier process left running (pid file) are killed, a recycled pid is not",
  async fn() {
    const dataDir = await Deno.makeTempDir();
    // Without the parent-death signal (a setpriv that does not exist), the child outlives its
    // parent: what the pid file is for.
    const { parent, childPid } = await startSpawner(
      dataDir,
      "/nonexistent/setpriv",
    );
    const bystander = new Deno.Command("sleep", {
      args: ["300"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      parent.kill("SIGKILL");
      await parent.status;
      assert.ok(alive(childPid), "the child survived its parent");
      // A pid file entry whose start time does not match is another process now.
      const file = `${dataDir}/${CHILDREN_FILE}`;
      const entries = JSON.parse(await Deno.readTextFile(file));
      entries.push({ pid: bystander.pid, startTicks: "1", label: "recycled" });
      await Deno.writeTextFile(file, JSON.stringify(entries));

      const again = await ChildProcesses.open({ dataDir, log: silentLogger });
      assert.equal(again.leftoversKilled, 1);
      await waitFor("the leftover to die", () => !alive(childPid), 5_000);
      assert.ok(
        alive(bystander.pid),
        "a process that reused a pid is left alone",
      );
      assert.deepEqual(JSON.parse(await Deno.readTextFile(file)), []);
    } finally {
      if (alive(childPid)) Deno.kill(-childPid, "SIGKILL");
      bystander.kill("SIGKILL");
      await bystander.status;
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

Deno.test("ChildProcesses.spawn(): a missing command is TRANSCODE_FFMPEG_MISSING naming it; stop() ends the group", async () => {
  const children = await ChildProcesses.open({ log: silentLogger });
  await assert.rejects(
    () =>
      children.spawn({
        command: "/nonexistent/ffmpeg",
        args: [],
        stdin: "null",
        stdout: "null",
        stderr: "null",
        label: "test",
      }),
    (e: unknown) =>
      e instanceof TranscodeError && e.code === "TRANSCODE_FFMPEG_MISSING" &&
      e.status === 501 &&
      /'\/nonexistent\/ffmpeg' is not installed/.test(e.message),
  );
  const c = await children.spawn({
    command: "sh",
    args: ["-c", "sleep 300 & wait"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
    label: "test",
  });
  const grandchild = await waitFor("the sleeper", () => childrenOf(c.pid)[0]);
  assert.equal(children.running, 1);
  const status = await c.stop();
  assert.equal(status.success, false);
  await waitFor(
    "the grandchild to die with its group",
    () => !alive(grandchild),
    5_000,
  );
  assert.equal(children.running, 0);
  await children.closeAll();
});
