/**
 * What the archive tests share: a fake publish (the store reads only a hub's app, name and start),
 * segments of known sizes, a manual clock and a logger that keeps its lines.
 *
 * @module
 */

import type { HlsSegment } from "../../../origin/hls/mod.ts";
import type { Hub } from "../../../origin/stream/hub.ts";
import { createLogger, type Logger } from "../../../log/mod.ts";
import { DEFAULTS, parseConfig } from "../../../config/mod.ts";
import { ArchivePolicies } from "../../../origin/archive/policy.ts";

/** A publish of `app/name` that started at `startedAtMs`. */
export function fakeHub(app: string, name: string, startedAtMs: number): Hub {
  return { app, name, startedAtMs, live: true } as unknown as Hub;
}

/** A finished segment of `bytes` bytes (filled with `seq` so files differ). */
export function segment(
  prefix: string,
  seq: number,
  pdtMs: number,
  opts: { durationMs?: number; bytes?: number; discontinuity?: boolean } = {},
): HlsSegment {
  const bytes = new Uint8Array(opts.bytes ?? 1880).fill(seq & 0xff);
  return {
    name: `${prefix}-${seq}.ts`,
    sequence: seq,
    durationMs: opts.durationMs ?? 2000,
    programDateTimeMs: pdtMs,
    discontinuity: opts.discontinuity ?? false,
    bytes,
    mediaStartMs: seq * (opts.durationMs ?? 2000),
  };
}

/** A clock the test moves. */
export function manualClock(start: number): { now: () => number; ms: number } {
  const c = {
    ms: start,
    now: () => c.ms,
  };
  return c;
}

/** A logger whose JSON lines the test reads. */
export function captureLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return {
    log: createLogger("test", { format: "json", write: (l) => lines.push(l) }),
    lines,
  };
}

/** Policies from a partial `origin` section. */
export function policiesOf(origin: Record<string, unknown> = {}) {
  return new ArchivePolicies(parseConfig({ origin }).origin);
}

/** A tmpfs of `kib` KiB mounted for the test, or undefined when mounting is not allowed here. */
export async function smallDisk(kib: number): Promise<string | undefined> {
  const dir = await Deno.makeTempDir({ prefix: "meridian-dvr-full-" });
  const out = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", `size=${kib}k`, "tmpfs", dir],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => undefined);
  if (!out?.success) {
    await Deno.remove(dir);
    return undefined;
  }
  return dir;
}

export async function unmount(dir: string): Promise<void> {
  await new Deno.Command("umount", { args: [dir] }).output();
  await Deno.remove(dir, { recursive: true });
}

/** Whether this test process may mount a tmpfs (root in the CI container). */
export const canMount = await (async () => {
  const d = await smallDisk(64);
  if (d) await unmount(d);
  return d !== undefined;
})();

export { DEFAULTS };
