/**
 * The standard process series (the names every Prometheus client library exports, so stock
 * dashboards and alerts work) and the runtime's: V8 heap and the event loop's delay.
 *
 * On Linux they come from `/proc/self` at scrape time, as the Go and Python clients read them:
 * `stat` for CPU time, virtual memory and start time (in clock ticks: USER_HZ, 100 on every
 * Linux architecture Deno runs on), `fd/` for open files, `limits` for their cap. Elsewhere, or
 * without read permission, only what Deno itself tells is shown (resident memory, heap, start
 * time). Nothing here runs per request: the only timer is the event-loop sampler.
 *
 * @module
 */

import type { MetricsRegistry } from "./registry.ts";

/** Linux's USER_HZ: `/proc/self/stat` counts CPU time and start time in these ticks. */
export const CLOCK_TICKS_PER_SECOND = 100;

/** How often the event-loop sampler wakes (ms): 10 wake-ups a second cost nothing measurable. */
export const EVENT_LOOP_SAMPLE_MS = 100;

/**
 * Event-loop delay buckets (seconds): from 1 ms (timer slack) to 2.5 s (a stalled process:
 * every viewer and DNS answer waits that long).
 */
export const EVENT_LOOP_BUCKETS_SECONDS: readonly number[] = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
];

/** What `/proc/self/stat` says of the process. */
export interface ProcStat {
  readonly cpuSeconds: number;
  readonly virtualBytes: number;
  /** Ticks after boot when the process started. */
  readonly startTicks: number;
}

/**
 * Parses `/proc/self/stat` (proc(5)): the fields after the command name, which may hold spaces
 * and parentheses, so the split starts after the last `)`.
 *
 * @returns `undefined` when the text is not a stat line.
 *
 * @example
 * ```ts
 * import { parseProcStat } from "./process.ts";
 * import assert from "node:assert/strict";
 * const line = "7 (a b) R 1 7 7 0 -1 4194304 101 0 0 0 250 50 0 0 20 0 1 0 837825 3133440 383";
 * assert.deepEqual(parseProcStat(line), { cpuSeconds: 3, virtualBytes: 3133440, startTicks: 837825 });
 * ```
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  const f = text.slice(close + 2).trim().split(/\s+/);
  // proc(5) numbers fields from 1; field 3 (state) is f[0]: utime 14, stime 15, starttime 22,
  // vsize 23.
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  const start = Number(f[19]);
  const vsize = Number(f[20]);
  if (![utime, stime, start, vsize].every(Number.isFinite)) return undefined;
  return {
    cpuSeconds: (utime + stime) / CLOCK_TICKS_PER_SECOND,
    virtualBytes: vsize,
    startTicks: start,
  };
}

/** The soft `Max open files` of `/proc/self/limits`; `undefined` for "unlimited" or none. */
export function parseMaxOpenFiles(text: string): number | undefined {
  const m = /^Max open files\s+(\d+)/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** `btime` of `/proc/stat`: the boot time, seconds since the epoch. */
export function parseBootTime(text: string): number | undefined {
  const m = /^btime\s+(\d+)/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

function readText(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined; // not Linux, or no read permission
  }
}

function countOpenFds(): number | undefined {
  try {
    let n = 0;
    for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
    return n - 1; // the directory handle being read is one of them
  } catch {
    return undefined;
  }
}

/** The running process metrics: stop the sampler when the process shuts down. */
export interface ProcessMetrics {
  stop(): void;
}

/**
 * Registers `process_*` and `meridian_runtime_*` in `registry` and starts the event-loop
 * sampler (one unref'd timer).
 *
 * Families: `process_cpu_seconds_total`, `process_resident_memory_bytes`,
 * `process_virtual_memory_bytes`, `process_open_fds`, `process_max_fds`,
 * `process_start_time_seconds`, `meridian_runtime_heap_used_bytes`,
 * `meridian_runtime_heap_total_bytes`, `meridian_runtime_external_memory_bytes`,
 * `meridian_runtime_event_loop_delay_seconds` (histogram).
 *
 * @example
 * ```ts
 * import { MetricsRegistry } from "./registry.ts";
 * import { startProcessMetrics } from "./process.ts";
 * const m = new MetricsRegistry();
 * const p = startProcessMetrics(m);
 * if (!m.render().includes("process_resident_memory_bytes ")) throw new Error(m.render());
 * p.stop();
 * ```
 */
export function startProcessMetrics(registry: MetricsRegistry): ProcessMetrics {
  const startedAt = Date.now() / 1000;
  const boot = parseBootTime(readText("/proc/stat") ?? "");
  const first = parseProcStat(readText("/proc/self/stat") ?? "");
  // Where the kernel says the process started (the role may start long after exec).
  const startTime = boot !== undefined && first
    ? boot + first.startTicks / CLOCK_TICKS_PER_SECOND
    : startedAt;

  registry.collect(
    "process_cpu_seconds_total",
    "User and system CPU time spent by the process, in seconds",
    "counter",
    () => {
      const s = parseProcStat(readText("/proc/self/stat") ?? "");
      return s ? [[undefined, s.cpuSeconds]] : [];
    },
  );
  registry.collect(
    "process_resident_memory_bytes",
    "Resident memory size of the process, in bytes",
    "gauge",
    () => [[undefined, Deno.memoryUsage().rss]],
  );
  registry.collect(
    "process_virtual_memory_bytes",
    "Virtual memory size of the process, in bytes",
    "gauge",
    () => {
      const s = parseProcStat(readText("/proc/self/stat") ?? "");
      return s ? [[undefined, s.virtualBytes]] : [];
    },
  );
  registry.collect(
    "process_open_fds",
    "Open file descriptors of the process (sockets included)",
    "gauge",
    () => {
      const n = countOpenFds();
      return n === undefined ? [] : [[undefined, n]];
    },
  );
  registry.collect(
    "process_max_fds",
    "The process's soft limit of open file descriptors",
    "gauge",
    () => {
      const n = parseMaxOpenFiles(readText("/proc/self/limits") ?? "");
      return n === undefined ? [] : [[undefined, n]];
    },
  );
  registry.collect(
    "process_start_time_seconds",
    "Start time of the process since the Unix epoch, in seconds",
    "gauge",
    () => [[undefined, Math.round(startTime * 100) / 100]],
  );
  registry.collect(
    "meridian_runtime_heap_used_bytes",
    "V8 heap in use (Deno.memoryUsage().heapUsed), in bytes",
    "gauge",
    () => [[undefined, Deno.memoryUsage().heapUsed]],
  );
  registry.collect(
    "meridian_runtime_heap_total_bytes",
    "V8 heap reserved (Deno.memoryUsage().heapTotal), in bytes",
    "gauge",
    () => [[undefined, Deno.memoryUsage().heapTotal]],
  );
  registry.collect(
    "meridian_runtime_external_memory_bytes",
    "Memory of JavaScript objects held outside the V8 heap (buffers), in bytes",
    "gauge",
    () => [[undefined, Deno.memoryUsage().external]],
  );
  const delay = registry.histogram(
    "meridian_runtime_event_loop_delay_seconds",
    `How late a ${EVENT_LOOP_SAMPLE_MS} ms timer fires: time every request, viewer write and DNS answer waits behind other work, in seconds`,
    { buckets: EVENT_LOOP_BUCKETS_SECONDS },
  ).labels();
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    delay.observe(Math.max(0, now - last - EVENT_LOOP_SAMPLE_MS) / 1000);
    last = now;
  }, EVENT_LOOP_SAMPLE_MS);
  Deno.unrefTimer(timer);
  return { stop: () => clearInterval(timer) };
}
