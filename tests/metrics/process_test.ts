import assert from "node:assert/strict";
import { MetricsRegistry, startProcessMetrics } from "../../metrics/mod.ts";
import {
  parseBootTime,
  parseMaxOpenFiles,
  parseProcStat,
} from "../../metrics/process.ts";
import {
  hasPromtool,
  parsePromText,
  promtoolCheckMetrics,
  sumOf,
} from "../_helpers/prom_text.ts";
import { waitFor } from "../_helpers/peers.ts";

const LINUX = Deno.build.os === "linux";

Deno.test("parseProcStat() reads CPU ticks, vsize and start past a command name with spaces and parens", () => {
  const line =
    "30652 (my (odd) cmd) R 30607 30607 19783 0 -1 4194304 101 0 0 0 123 77 0 0 20 0 1 0 837825 3133440 383 18446744073709551615";
  assert.deepEqual(parseProcStat(line), {
    cpuSeconds: 2,
    virtualBytes: 3133440,
    startTicks: 837825,
  });
  assert.equal(parseProcStat("garbage"), undefined);
  assert.equal(parseProcStat("1 (x) R 1 2"), undefined);
});

Deno.test("parseMaxOpenFiles() and parseBootTime() read /proc/self/limits and /proc/stat", () => {
  assert.equal(
    parseMaxOpenFiles(
      "Limit                     Soft Limit           Hard Limit           Units\nMax open files            20000                40000                files\n",
    ),
    20000,
  );
  assert.equal(
    parseMaxOpenFiles(
      "Max open files            unlimited            unlimited",
    ),
    undefined,
  );
  assert.equal(parseBootTime("cpu 1 2\nbtime 1700000000\n"), 1700000000);
});

Deno.test({
  name:
    "startProcessMetrics() shows this process's CPU, memory, fds and start time from /proc",
  ignore: !LINUX,
  async fn() {
    const m = new MetricsRegistry();
    const p = startProcessMetrics(m);
    try {
      const s = parsePromText(m.render());
      const v = (n: string) => sumOf(s, n);
      assert.ok(v("process_cpu_seconds_total") > 0);
      assert.ok(v("process_resident_memory_bytes") > 10 * 1024 * 1024);
      assert.ok(
        v("process_virtual_memory_bytes") >= v("process_resident_memory_bytes"),
      );
      // The test's own files: one more once it opens one.
      const before = v("process_open_fds");
      assert.ok(before > 3);
      const f = await Deno.open(new URL(import.meta.url).pathname);
      try {
        const during = sumOf(parsePromText(m.render()), "process_open_fds");
        assert.equal(during, before + 1);
      } finally {
        f.close();
      }
      assert.ok(v("process_max_fds") >= before);
      const start = v("process_start_time_seconds");
      const now = Date.now() / 1000;
      assert.ok(
        start <= now && start > now - 3600,
        `start ${start}, now ${now}`,
      );
      assert.ok(v("meridian_runtime_heap_used_bytes") > 0);
      assert.ok(
        v("meridian_runtime_heap_total_bytes") >=
          v("meridian_runtime_heap_used_bytes"),
      );
      if (await hasPromtool()) {
        assert.equal(await promtoolCheckMetrics(m.render()), "");
      }
    } finally {
      p.stop();
    }
  },
});

Deno.test("startProcessMetrics(): a blocked event loop shows in meridian_runtime_event_loop_delay_seconds", async () => {
  const m = new MetricsRegistry();
  const p = startProcessMetrics(m);
  try {
    const count = () =>
      sumOf(
        parsePromText(m.render()),
        "meridian_runtime_event_loop_delay_seconds_count",
      );
    await waitFor("two samples", () => count() >= 2, 5_000);
    const slow = () =>
      sumOf(
        parsePromText(m.render()),
        "meridian_runtime_event_loop_delay_seconds_bucket",
        { le: "0.1" },
      );
    const fastBefore = slow();
    const countBefore = count();
    // Hold the loop for 400 ms: the next sample fires about 300 ms late.
    const until = performance.now() + 400;
    while (performance.now() < until) { /* busy */ }
    await waitFor("the late sample", () => count() > countBefore, 5_000);
    // The late sample is above 0.1 s: the count grew, the le=0.1 bucket did not take it.
    assert.ok(
      count() - slow() > countBefore - fastBefore,
      `count ${count()} le0.1 ${slow()} before ${countBefore}/${fastBefore}`,
    );
  } finally {
    p.stop();
  }
});
