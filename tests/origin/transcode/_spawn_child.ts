/**
 * A stand-in for Meridian in children_test.ts: opens the child registry on the data directory
 * given as the first argument, spawns `sleep 300` (through `sh -c`, so the child has a child of
 * its own), prints the shell's pid and waits to be killed.
 *
 * @module
 */
import { silentLogger } from "../../../origin/log.ts";
import { ChildProcesses } from "../../../origin/transcode/mod.ts";

const [dataDir, setpriv] = Deno.args;
const children = await ChildProcesses.open({
  dataDir,
  log: silentLogger,
  ...(setpriv ? { setpriv } : {}),
});
const child = await children.spawn({
  command: "sh",
  args: ["-c", "sleep 300 & wait"],
  stdin: "null",
  stdout: "null",
  stderr: "null",
  label: "test sleeper",
});
console.log(child.pid);
await new Promise(() => {}); // until killed
