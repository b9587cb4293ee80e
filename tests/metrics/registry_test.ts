import assert from "node:assert/strict";
import {
  MAX_SERIES_PER_FAMILY,
  MetricsError,
  MetricsRegistry,
  OTHER_LABEL_VALUE,
} from "../../metrics/mod.ts";
import {
  hasPromtool,
  parsePromText,
  promtoolCheckMetrics,
  samplesOf,
  sumOf,
} from "../_helpers/prom_text.ts";
import { createPrng } from "../_helpers/prng.ts";

const HAS_PROMTOOL = await hasPromtool();

Deno.test("MetricsRegistry.counter() children count without rebuilding labels, and render HELP/TYPE once", () => {
  const m = new MetricsRegistry();
  const f = m.counter("meridian_t_requests_total", "Requests", {
    labelNames: ["result", "status_class"],
  });
  const hit = f.labels("hit", "2xx");
  const miss = f.labels("miss", "5xx");
  for (let i = 0; i < 5; i++) hit.inc();
  miss.inc(2);
  assert.equal(
    f.labels("hit", "2xx"),
    hit,
    "the same handle for the same values",
  );
  const text = m.render();
  const s = parsePromText(text);
  assert.equal(s.types.get("meridian_t_requests_total"), "counter");
  assert.equal(s.help.get("meridian_t_requests_total"), "Requests");
  assert.equal(
    sumOf(s, "meridian_t_requests_total", {
      result: "hit",
      status_class: "2xx",
    }),
    5,
  );
  assert.equal(
    sumOf(s, "meridian_t_requests_total", { result: "miss" }),
    2,
  );
  assert.equal(text.match(/# TYPE meridian_t_requests_total/g)?.length, 1);
});

Deno.test("MetricsRegistry.counter() keeps the older object form (inc(labels, by))", () => {
  const m = new MetricsRegistry();
  const c = m.counter("meridian_t_old_total", "Old form");
  c.inc({ kind: "flv", status: 200 });
  c.inc({ kind: "flv", status: 200 }, 2);
  c.inc();
  const s = parsePromText(m.render());
  assert.equal(
    sumOf(s, "meridian_t_old_total", { kind: "flv", status: "200" }),
    3,
  );
  assert.equal(
    samplesOf(s, "meridian_t_old_total").find((x) =>
      Object.keys(x.labels).length === 0
    )?.value,
    1,
  );
});

Deno.test("MetricsRegistry.histogram() renders cumulative _bucket{le}, +Inf, _sum and _count", () => {
  const m = new MetricsRegistry();
  const h = m.histogram("meridian_t_seconds", "Time", {
    buckets: [0.1, 1],
    labelNames: ["cache"],
  }).labels("hit");
  h.observe(0.05);
  h.observe(0.1); // inclusive: le="0.1"
  h.observe(0.5);
  h.observe(7);
  const s = parsePromText(m.render());
  assert.equal(s.types.get("meridian_t_seconds"), "histogram");
  const b = (le: string) =>
    sumOf(s, "meridian_t_seconds_bucket", { cache: "hit", le });
  assert.equal(b("0.1"), 2);
  assert.equal(b("1"), 3);
  assert.equal(b("+Inf"), 4);
  assert.equal(sumOf(s, "meridian_t_seconds_count", { cache: "hit" }), 4);
  assert.equal(sumOf(s, "meridian_t_seconds_sum", { cache: "hit" }), 7.65);
});

Deno.test("MetricsRegistry: a bounded label past its limit counts as 'other', and remove() frees a slot", () => {
  const m = new MetricsRegistry({ labelLimits: { stream: 2 } });
  const f = m.gauge("meridian_t_viewers", "Viewers", {
    labelNames: ["protocol", "stream"],
  });
  f.labels("flv", "a").set(1);
  f.labels("flv", "b").set(2);
  f.labels("flv", "c").set(3); // third stream: other
  f.labels("rtmp", "a").set(4); // a known stream, another protocol: kept
  f.labels("flv", "d").inc(5); // other again, the same series
  let s = parsePromText(m.render());
  assert.deepEqual(
    samplesOf(s, "meridian_t_viewers").map((x) => x.labels.stream).sort(),
    ["a", "a", "b", OTHER_LABEL_VALUE],
  );
  assert.equal(
    sumOf(s, "meridian_t_viewers", { stream: OTHER_LABEL_VALUE }),
    8,
    "set(3) then inc(5)",
  );
  assert.equal(
    sumOf(s, "meridian_metrics_label_overflow_total", {
      family: "meridian_t_viewers",
    }),
    2,
  );
  f.remove("flv", "b");
  f.labels("flv", "e").set(9);
  s = parsePromText(m.render());
  assert.equal(sumOf(s, "meridian_t_viewers", { stream: "e" }), 9);
  assert.equal(sumOf(s, "meridian_t_viewers", { stream: "b" }), 0);
});

Deno.test("MetricsRegistry: any family stops at MAX_SERIES_PER_FAMILY series (then all 'other')", () => {
  const m = new MetricsRegistry();
  const f = m.counter("meridian_t_many_total", "Many", {
    labelNames: ["id"],
  });
  for (let i = 0; i < MAX_SERIES_PER_FAMILY + 50; i++) f.labels(`x${i}`).inc();
  const s = parsePromText(m.render());
  const series = samplesOf(s, "meridian_t_many_total");
  assert.equal(series.length, MAX_SERIES_PER_FAMILY + 1);
  assert.equal(
    sumOf(s, "meridian_t_many_total", { id: OTHER_LABEL_VALUE }),
    50,
  );
});

Deno.test("MetricsRegistry.collect() folds a bounded label to its limit, keeping the largest", () => {
  const m = new MetricsRegistry({ labelLimits: { stream: 2 } });
  m.collect("meridian_t_stream_viewers", "Viewers", "gauge", () => [
    [{ stream: "small" }, 1],
    [{ stream: "big" }, 50],
    [{ stream: "mid" }, 10],
    [{ stream: "tiny" }, 2],
  ]);
  const s = parsePromText(m.render());
  const got = Object.fromEntries(
    samplesOf(s, "meridian_t_stream_viewers").map((x) => [
      x.labels.stream,
      x.value,
    ]),
  );
  assert.deepEqual(got, { big: 50, mid: 10, other: 3 });
});

Deno.test("MetricsRegistry: included registries render first and cannot be shadowed", () => {
  const shared = new MetricsRegistry();
  shared.collect("process_open_fds", "Fds", "gauge", () => [[undefined, 7]]);
  const edge = new MetricsRegistry({ include: [shared] });
  const origin = new MetricsRegistry({ include: [shared] });
  edge.counter("meridian_edge_t_total", "Edge").inc();
  origin.counter("meridian_origin_t_total", "Origin").inc();
  const e = edge.render();
  assert.match(e, /^# HELP process_open_fds/);
  assert.match(e, /meridian_edge_t_total 1/);
  assert.doesNotMatch(e, /meridian_origin_t_total/);
  assert.throws(
    () => edge.counter("process_open_fds", "again"),
    (err: unknown) =>
      err instanceof MetricsError && err.code === "METRICS_CONFLICT",
  );
  assert.deepEqual(edge.names(), ["process_open_fds", "meridian_edge_t_total"]);
});

Deno.test("MetricsRegistry rejects bad names and conflicting registrations at start-up", () => {
  const m = new MetricsRegistry();
  const bad = (fn: () => unknown, code: string, re: RegExp) =>
    assert.throws(
      fn,
      (e: unknown) =>
        e instanceof MetricsError && e.code === code && re.test(e.message),
    );
  bad(() => m.counter("bad-name", "x"), "METRICS_BAD_NAME", /got 'bad-name'/);
  bad(
    () => m.counter("meridian_t_x_total", "x", { labelNames: ["__r"] }),
    "METRICS_BAD_NAME",
    /got '__r'/,
  );
  bad(
    () => m.histogram("meridian_t_h", "x", { labelNames: ["le"] }),
    "METRICS_BAD_NAME",
    /got 'le'/,
  );
  bad(
    () => m.histogram("meridian_t_h2", "x", { buckets: [1, 0.5] }),
    "METRICS_BAD_NAME",
    /ascending/,
  );
  const c = m.counter("meridian_t_c_total", "x", { labelNames: ["a"] });
  assert.equal(m.counter("meridian_t_c_total", "x", { labelNames: ["a"] }), c);
  bad(() => m.gauge("meridian_t_c_total", "x"), "METRICS_CONFLICT", /counter/);
  bad(
    () => m.counter("meridian_t_c_total", "x", { labelNames: ["b"] }),
    "METRICS_CONFLICT",
    /labels \[a\]/,
  );
  bad(() => c.labels("1", "2"), "METRICS_BAD_LABELS", /got 2 values/);
});

Deno.test("MetricsRegistry escapes label values and HELP so any text parses back (seeded fuzz)", async () => {
  const next = createPrng(21);
  const alphabet = 'ab"\\\n{}=,# \u00e9\u4e2d';
  const m = new MetricsRegistry({ labelLimits: {} });
  const f = m.counter(
    "meridian_t_fuzz_total",
    'Help with \\ and\nnewline "q"',
    {
      labelNames: ["v"],
    },
  );
  const values: string[] = [];
  for (let i = 0; i < 300; i++) {
    let v = "";
    const len = next() % 12;
    for (let j = 0; j < len; j++) v += alphabet[next() % alphabet.length];
    if (values.includes(v)) continue;
    values.push(v);
    f.labels(v).inc(i + 1);
  }
  const text = m.render();
  const s = parsePromText(text);
  assert.equal(
    s.help.get("meridian_t_fuzz_total"),
    'Help with \\ and\nnewline "q"',
  );
  const got = samplesOf(s, "meridian_t_fuzz_total").map((x) => x.labels.v);
  assert.deepEqual(got, values);
  if (HAS_PROMTOOL) assert.equal(await promtoolCheckMetrics(text), "");
});

Deno.test({
  name: "MetricsRegistry output of every kind passes promtool check metrics",
  ignore: !HAS_PROMTOOL,
  async fn() {
    const m = new MetricsRegistry();
    m.counter("meridian_t_bytes_total", "Bytes", { labelNames: ["source"] })
      .labels("origin").inc(1024);
    m.gauge("meridian_t_objects", "Objects").labels().set(3);
    m.histogram("meridian_t_duration_seconds", "Durations").labels().observe(
      0.002,
    );
    m.collect("meridian_t_up", "Up", "gauge", () => [[{ origin: "a" }, 1]]);
    m.collectHistogram("meridian_t_scope", "Scope", () => [[undefined, {
      buckets: [8, 24],
      cumulativeCounts: [1, 3],
      count: 4,
      sum: 80,
    }]]);
    assert.equal(await promtoolCheckMetrics(m.render()), "");
  },
});
