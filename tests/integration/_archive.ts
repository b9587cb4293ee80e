/**
 * What the archive's integration tests share: ffprobe's measure of a playlist, the origin run
 * as a user runs it (`main.ts` in a child process), free ports.
 *
 * @module
 */
import assert from "node:assert/strict";
import { runPeer } from "../_helpers/peers.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** The presented span of the video in `url`, seconds (last pts + one frame - first pts). */
export async function probedSeconds(url: string): Promise<number> {
  const out = await runPeer("ffprobe", [
    "-v",
    "error",
    "-select_streams",
    "v:0",
    "-show_entries",
    "packet=pts_time,duration_time",
    "-of",
    "json",
    url,
  ], 60_000);
  assert.equal(out.code, 0, out.stderr.slice(0, 500));
  const packets = (JSON.parse(out.stdout).packets ?? []) as {
    pts_time?: string;
    duration_time?: string;
  }[];
  const pts = packets.map((p) => Number(p.pts_time)).filter(Number.isFinite);
  assert.ok(pts.length > 10, `only ${pts.length} video packets in ${url}`);
  const frame = Number(packets[0]?.duration_time ?? 0.04) || 0.04;
  return Math.max(...pts) + frame - Math.min(...pts);
}

/** A port that was free a moment ago (the child binds it next). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** `main.ts --roles origin` as a child; its output is drained and kept for failures. */
export function startMain(configFile: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      MAIN,
      "--roles",
      "origin",
      "--config",
      configFile,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const drain = (s: ReadableStream<Uint8Array>) =>
    (async () => {
      for await (const t of s.pipeThrough(new TextDecoderStream())) output += t;
    })();
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  return {
    get output() {
      return output;
    },
    async kill(): Promise<void> {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await child.status;
      await drained;
    },
  };
}
