/**
 * No orphans: Meridian (`main.ts`, as a user runs it) transcodes the demo channel; `kill -9` of
 * the Meridian process leaves no ffmpeg behind, and the next start finds nothing to reap.
 */
import assert from "node:assert/strict";
import { hasBinary, waitFor } from "../_helpers/peers.ts";
import { renditionsOf } from "./_transcode.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const DEMO = new URL("../../media/demo.flv", import.meta.url).pathname;
const haveFfmpeg = await hasBinary("ffmpeg");

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

function startMain(config: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      MAIN,
      "--roles",
      "origin",
      "--config",
      config,
    ],
    stdout: "null",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
}

Deno.test({
  name:
    "transcode orphans: kill -9 of Meridian leaves no ffmpeg running; the next start reaps nothing",
  ignore: !haveFfmpeg,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "meridian-transcode-" });
    const http = freePort();
    const config = `${dir}/meridian.yaml`;
    await Deno.writeTextFile(
      config,
      [
        `dataDir: ${dir}/data`,
        "log: { level: warn, format: json }",
        "origin:",
        `  rtmpPort: ${freePort()}`,
        `  httpPort: ${http}`,
        `  virtualLive: [{ app: live, stream: demo, file: ${DEMO} }]`,
        "  transcode:",
        "    apps: [{ name: live, start: always }]",
        "    profiles:",
        "      - { name: 180p, height: 180, videoKbps: 200, preset: ultrafast }",
        "      - { name: 90p, height: 90, videoKbps: 100, preset: ultrafast }",
        "",
      ].join("\n"),
    );
    let main = startMain(config);
    let pids: number[] = [];
    try {
      pids = await waitFor("both renditions running", async () => {
        const r = await renditionsOf(`http://127.0.0.1:${http}`, "demo");
        return r.length === 2 && r.every((x) =>
          x.state === "running" && x.pid
        ) &&
          r.map((x) => x.pid!);
      }, 20_000);
      assert.ok(pids.every(alive));
      main.kill("SIGKILL");
      assert.equal((await main.status).signal, "SIGKILL");
      await waitFor(
        "every ffmpeg gone with Meridian",
        () => pids.every((p) => !alive(p)),
        5_000,
      );

      // The pid file still names them (nothing ran to empty it); the next start finds them
      // gone and kills nothing.
      const file = JSON.parse(
        await Deno.readTextFile(`${dir}/data/transcode/children.json`),
      );
      assert.deepEqual(
        file.map((e: { pid: number }) => e.pid).sort(),
        [...pids].sort(),
      );
      main = startMain(config);
      const metrics = await waitFor("the restarted origin", async () => {
        const res = await fetch(`http://127.0.0.1:${http}/metrics`).catch(() =>
          undefined
        );
        return res?.ok && await res.text();
      }, 20_000);
      assert.match(
        metrics,
        /meridian_origin_transcode_leftovers_killed_total 0/,
      );
    } finally {
      try {
        main.kill("SIGKILL");
      } catch {
        // gone
      }
      await main.status;
      for (const p of pids) if (alive(p)) Deno.kill(p, "SIGKILL");
      await Deno.remove(dir, { recursive: true });
    }
  },
});
