/**
 * The metric families of one role (or of the process), rendered together at `/metrics`:
 * counters, gauges and histograms with label children resolved once, scrape-time collectors,
 * and bounded label cardinality.
 *
 * @module
 */

import { CodedError } from "../errors/mod.ts";
import {
  escapeHelp,
  formatLabels,
  formatSampleValue,
  LABEL_NAME,
  METRIC_NAME,
} from "./exposition.ts";

/** Label values by name, as the older call sites pass them (`inc({ kind: "a" })`). */
export type Labels = Readonly<Record<string, string | number>>;

/** The metric types of the text format this registry writes. */
export type MetricType = "counter" | "gauge" | "histogram";

/** The value a bounded label takes once its family holds its limit of distinct values. */
export const OTHER_LABEL_VALUE = "other";

/**
 * Series one family may hold whatever its labels. Past it, a new label set counts under every
 * label `other`: a bug that labels by something unbounded costs memory up to here, not more.
 */
export const MAX_SERIES_PER_FAMILY = 10_000;

/**
 * Distinct values a label of these names may take in one family unless the registry is told
 * otherwise (`metrics.labelLimits` in the config): streams, apps, edges and origins are named
 * by publishers, registries and config, so their number is the operator's, not ours.
 */
export const DEFAULT_LABEL_LIMITS: Readonly<Record<string, number>> = {
  stream: 100,
  app: 32,
  edge: 200,
  origin: 64,
};

/**
 * Request-time buckets (seconds) for HTTP and origin fetches: 0.5 ms (a cache hit on loopback)
 * to 10 s (the upstream timeout), about ×2.5 apart, as the Prometheus client libraries' default.
 */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.0005,
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
  5,
  10,
];

/** Codes of {@link MetricsError}. */
export const MetricsErrorCode = {
  /** A metric or label name the format does not allow. */
  BadName: "METRICS_BAD_NAME",
  /** A name registered again with another type, labels or buckets. */
  Conflict: "METRICS_CONFLICT",
  /** A label set with the wrong number of values. */
  BadLabels: "METRICS_BAD_LABELS",
} as const;

/** A misuse of the registry (thrown at registration, never while serving a scrape). */
export class MetricsError
  extends CodedError<typeof MetricsErrorCode[keyof typeof MetricsErrorCode]> {
  override name = "MetricsError";
}

/** Options of a family. */
export interface FamilyOptions {
  /** Label names, in the order {@link CounterFamily.labels} takes their values. @default [] */
  readonly labelNames?: readonly string[];
  /**
   * Distinct values per label name for this family, over the registry's limits (which apply
   * to labels named `stream`, `app`, `edge`, `origin` by default).
   */
  readonly labelLimits?: Readonly<Record<string, number>>;
}

/** Options of a histogram family. */
export interface HistogramOptions extends FamilyOptions {
  /** Upper bounds, ascending, without `+Inf`. @default LATENCY_BUCKETS_SECONDS */
  readonly buckets?: readonly number[];
}

/** A histogram's state as a collector reports it: per-bound counts, cumulative. */
export interface HistogramSnapshot {
  /** Upper bounds, ascending, without `+Inf`. */
  readonly buckets: readonly number[];
  /** Observations `<=` each bound (cumulative), same length as `buckets`. */
  readonly cumulativeCounts: readonly number[];
  /** All observations (the `+Inf` bucket). */
  readonly count: number;
  readonly sum: number;
}

/** One counter series: a handle the hot path keeps and bumps. */
export class CounterChild {
  /** The count; only {@link inc} should change it. */
  value = 0;
  /** @param by A non-negative amount. @default 1 */
  inc(by = 1): void {
    this.value += by;
  }
}

/** One gauge series. */
export class GaugeChild {
  value = 0;
  set(value: number): void {
    this.value = value;
  }
  inc(by = 1): void {
    this.value += by;
  }
  dec(by = 1): void {
    this.value -= by;
  }
}

/** One histogram series: a fixed array of bucket counts. */
export class HistogramChild {
  /** Non-cumulative counts per bucket; the last one is `+Inf`. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  readonly #bounds: readonly number[];

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Counts one observation (Prometheus buckets are inclusive: `v <= le`). */
  observe(value: number): void {
    const b = this.#bounds;
    const n = b.length;
    let i = 0;
    while (i < n && value > b[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

type AnyChild = CounterChild | GaugeChild | HistogramChild;

interface Series<C> {
  readonly names: readonly string[];
  readonly values: readonly string[];
  readonly child: C;
}

type Sample = [Labels | undefined, number];
type HistogramSample = [Labels | undefined, HistogramSnapshot];

function checkLabelNames(family: string, names: readonly string[]): void {
  for (const n of names) {
    if (!LABEL_NAME.test(n)) {
      throw new MetricsError(
        MetricsErrorCode.BadName,
        `Invalid label name of '${family}': got '${n}', expected [a-zA-Z_][a-zA-Z0-9_]* not starting with __`,
      );
    }
  }
}

/**
 * The children of one family by label values, with the label caps: a bounded label's new value
 * past its limit counts as {@link OTHER_LABEL_VALUE}.
 */
class Children<C extends AnyChild> {
  readonly #series = new Map<string, Series<C>>();
  /** Bounded label name → its values in use → series using it. */
  readonly #inUse = new Map<string, Map<string, number>>();
  readonly #limits: Readonly<Record<string, number>>;
  readonly #make: () => C;
  readonly #onOverflow: () => void;

  constructor(
    limits: Readonly<Record<string, number>>,
    make: () => C,
    onOverflow: () => void,
  ) {
    this.#limits = limits;
    this.#make = make;
    this.#onOverflow = onOverflow;
  }

  get size(): number {
    return this.#series.size;
  }

  series(): IterableIterator<Series<C>> {
    return this.#series.values();
  }

  resolve(names: readonly string[], raw: readonly string[]): C {
    const key = seriesKey(names, raw);
    const found = this.#series.get(key);
    if (found) return found.child;
    let values = raw;
    let overflowed = false;
    if (this.#series.size >= MAX_SERIES_PER_FAMILY) {
      values = raw.map(() => OTHER_LABEL_VALUE);
      overflowed = true;
    } else {
      for (let i = 0; i < names.length; i++) {
        const limit = this.#limits[names[i]!];
        if (limit === undefined || raw[i] === OTHER_LABEL_VALUE) continue;
        const used = this.#inUse.get(names[i]!);
        if ((used?.has(raw[i]!) ?? false) || (used?.size ?? 0) < limit) {
          continue;
        }
        if (values === raw) values = [...raw];
        (values as string[])[i] = OTHER_LABEL_VALUE;
        overflowed = true;
      }
    }
    if (overflowed) this.#onOverflow();
    const k = overflowed ? seriesKey(names, values) : key;
    const existing = this.#series.get(k);
    if (existing) return existing.child;
    const child = this.#make();
    this.#series.set(k, { names, values, child });
    for (let i = 0; i < names.length; i++) {
      if (this.#limits[names[i]!] === undefined) continue;
      if (values[i] === OTHER_LABEL_VALUE) continue;
      let used = this.#inUse.get(names[i]!);
      if (!used) this.#inUse.set(names[i]!, used = new Map());
      used.set(values[i]!, (used.get(values[i]!) ?? 0) + 1);
    }
    return child;
  }

  /** Drops a series (a stream that ended); its bounded values free their slots. */
  remove(names: readonly string[], values: readonly string[]): void {
    const key = seriesKey(names, values);
    const s = this.#series.get(key);
    if (!s) return;
    this.#series.delete(key);
    for (let i = 0; i < names.length; i++) {
      const used = this.#inUse.get(names[i]!);
      const n = used?.get(values[i]!);
      if (used === undefined || n === undefined) continue;
      if (n <= 1) used.delete(values[i]!);
      else used.set(values[i]!, n - 1);
    }
  }
}

function seriesKey(
  names: readonly string[],
  values: readonly string[],
): string {
  // Names take part too: the older object form may give one family several label sets.
  return names.length === 0
    ? ""
    : `${names.join("\u0001")}\u0002${values.join("\u0001")}`;
}

function namesAndValues(
  labels: Labels | undefined,
): [readonly string[], string[]] {
  if (!labels) return [[], []];
  const names = Object.keys(labels);
  return [names, names.map((n) => String(labels[n]))];
}

abstract class Family<C extends AnyChild> {
  readonly name: string;
  readonly help: string;
  abstract readonly type: MetricType;
  readonly labelNames: readonly string[];
  readonly children: Children<C>;
  #checked = new Set<string>();

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    limits: Readonly<Record<string, number>>,
    make: () => C,
    onOverflow: () => void,
  ) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
    this.children = new Children(limits, make, onOverflow);
  }

  /**
   * The series of these label values (in {@link labelNames} order), created on first use.
   * Keep the handle: resolving builds a key string, the handle's methods do not.
   *
   * @throws {MetricsError} `METRICS_BAD_LABELS` when the count of values is wrong.
   */
  labels(...values: (string | number)[]): C {
    if (values.length !== this.labelNames.length) {
      throw new MetricsError(
        MetricsErrorCode.BadLabels,
        `Cannot label '${this.name}': got ${values.length} values, expected ${this.labelNames.length} (${
          this.labelNames.join(", ")
        })`,
      );
    }
    return this.children.resolve(this.labelNames, values.map(String));
  }

  /** Drops the series of these label values (a stream or edge that is gone). */
  remove(...values: (string | number)[]): void {
    this.children.remove(this.labelNames, values.map(String));
  }

  /** The series of a label object (the older call form); names in the object's order. */
  protected byObject(labels: Labels | undefined): C {
    if (!labels) return this.children.resolve([], []);
    const [names, values] = namesAndValues(labels);
    const key = names.join(",");
    if (!this.#checked.has(key)) {
      checkLabelNames(this.name, names);
      this.#checked.add(key);
    }
    return this.children.resolve(names, values);
  }
}

/** A counter family: only goes up. */
export class CounterFamily extends Family<CounterChild> {
  readonly type = "counter" as const;
  /** Adds `by` to the series of `labels` (resolves it each call: hot paths keep a child). */
  inc(labels?: Labels, by = 1): void {
    this.byObject(labels).inc(by);
  }
}

/** A gauge family. */
export class GaugeFamily extends Family<GaugeChild> {
  readonly type = "gauge" as const;
  /** Sets the series of `labels`. */
  set(value: number, labels?: Labels): void {
    this.byObject(labels).set(value);
  }
}

/** A histogram family with fixed buckets. */
export class HistogramFamily extends Family<HistogramChild> {
  readonly type = "histogram" as const;
  readonly buckets: readonly number[];

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    limits: Readonly<Record<string, number>>,
    buckets: readonly number[],
    onOverflow: () => void,
  ) {
    super(
      name,
      help,
      labelNames,
      limits,
      () => new HistogramChild(buckets),
      onOverflow,
    );
    this.buckets = buckets;
  }

  /** Counts `value` in the series of `labels`. */
  observe(value: number, labels?: Labels): void {
    this.byObject(labels).observe(value);
  }
}

/** The older names of the family types. */
export type Counter = CounterFamily;
export type Gauge = GaugeFamily;
export type Histogram = HistogramFamily;

interface Collector {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  fn: () => Iterable<Sample>;
  histogramFn?: () => Iterable<HistogramSample>;
}

/** Options of {@link MetricsRegistry}. */
export interface MetricsRegistryOptions {
  /**
   * Registries rendered before this one's families (the process's `process_*` and runtime
   * series in every role's registry). A name may live in only one of them.
   */
  readonly include?: readonly MetricsRegistry[];
  /**
   * Distinct values per label name in every family of this registry.
   * @default DEFAULT_LABEL_LIMITS
   */
  readonly labelLimits?: Readonly<Record<string, number>>;
}

/** The family of overflowed label sets, rendered by every registry that had one. */
const OVERFLOW_FAMILY = "meridian_metrics_label_overflow_total";

/**
 * A set of metric families rendered together at `/metrics`.
 *
 * @example
 * ```ts
 * import { MetricsRegistry } from "./registry.ts";
 * import assert from "node:assert/strict";
 * const m = new MetricsRegistry();
 * const hits = m.counter("meridian_demo_requests_total", "Requests by result", {
 *   labelNames: ["result"],
 * }).labels("hit");
 * hits.inc();
 * m.histogram("meridian_demo_seconds", "Time", { buckets: [0.1, 1] }).observe(0.5);
 * const text = m.render();
 * assert.match(text, /meridian_demo_requests_total\{result="hit"\} 1/);
 * assert.match(text, /meridian_demo_seconds_bucket\{le="1"\} 1/);
 * ```
 */
export class MetricsRegistry {
  readonly #families = new Map<
    string,
    CounterFamily | GaugeFamily | HistogramFamily | Collector
  >();
  readonly #include: readonly MetricsRegistry[];
  readonly #limits: Readonly<Record<string, number>>;
  readonly #overflow = new Map<string, number>();

  constructor(options: MetricsRegistryOptions = {}) {
    this.#include = options.include ?? [];
    this.#limits = options.labelLimits ?? DEFAULT_LABEL_LIMITS;
  }

  /** The label limits families of this registry get (for collectors folding their own). */
  get labelLimits(): Readonly<Record<string, number>> {
    return this.#limits;
  }

  /** Names of every family this registry renders (included registries' too). */
  names(): string[] {
    const out = this.#include.flatMap((r) => r.names());
    out.push(...this.#families.keys());
    if (this.#overflow.size > 0) out.push(OVERFLOW_FAMILY);
    return out;
  }

  #has(name: string): boolean {
    return this.#families.has(name) || this.#include.some((r) => r.#has(name));
  }

  #check(name: string, type: MetricType, labelNames: readonly string[]): void {
    if (!METRIC_NAME.test(name)) {
      throw new MetricsError(
        MetricsErrorCode.BadName,
        `Invalid metric name: got '${name}', expected [a-zA-Z_:][a-zA-Z0-9_:]*`,
      );
    }
    checkLabelNames(name, labelNames);
    if (type === "histogram" && labelNames.includes("le")) {
      throw new MetricsError(
        MetricsErrorCode.BadName,
        `Invalid label name of '${name}': got 'le', expected a name other than a histogram's bucket label`,
      );
    }
    if (this.#include.some((r) => r.#has(name))) {
      throw new MetricsError(
        MetricsErrorCode.Conflict,
        `Cannot register '${name}': an included registry has it`,
      );
    }
  }

  #existing<F extends CounterFamily | GaugeFamily | HistogramFamily>(
    name: string,
    type: MetricType,
    labelNames: readonly string[],
  ): F | undefined {
    const f = this.#families.get(name);
    if (!f) return undefined;
    if (
      !(f instanceof CounterFamily || f instanceof GaugeFamily ||
        f instanceof HistogramFamily) ||
      f.type !== type ||
      f.labelNames.join(",") !== labelNames.join(",")
    ) {
      throw new MetricsError(
        MetricsErrorCode.Conflict,
        `Cannot register '${name}' as a ${type} with labels [${labelNames}]: it is a ${f.type}${
          "labelNames" in f ? ` with labels [${f.labelNames}]` : " collector"
        }`,
      );
    }
    return f as F;
  }

  #limitsFor(
    options: FamilyOptions | undefined,
  ): Readonly<Record<string, number>> {
    return options?.labelLimits
      ? { ...this.#limits, ...options.labelLimits }
      : this.#limits;
  }

  #overflowed(name: string): () => void {
    return () => this.#overflow.set(name, (this.#overflow.get(name) ?? 0) + 1);
  }

  /**
   * A counter family. Registering the same name, type and labels again returns the same one.
   *
   * @throws {MetricsError} For a bad name, or a name taken by another type or label set.
   */
  counter(name: string, help: string, options?: FamilyOptions): CounterFamily {
    const labelNames = options?.labelNames ?? [];
    const f = this.#existing<CounterFamily>(name, "counter", labelNames);
    if (f) return f;
    this.#check(name, "counter", labelNames);
    const made = new CounterFamily(
      name,
      help,
      labelNames,
      this.#limitsFor(options),
      () => new CounterChild(),
      this.#overflowed(name),
    );
    this.#families.set(name, made);
    return made;
  }

  /** A gauge family (see {@link counter}). */
  gauge(name: string, help: string, options?: FamilyOptions): GaugeFamily {
    const labelNames = options?.labelNames ?? [];
    const f = this.#existing<GaugeFamily>(name, "gauge", labelNames);
    if (f) return f;
    this.#check(name, "gauge", labelNames);
    const made = new GaugeFamily(
      name,
      help,
      labelNames,
      this.#limitsFor(options),
      () => new GaugeChild(),
      this.#overflowed(name),
    );
    this.#families.set(name, made);
    return made;
  }

  /** A histogram family with fixed buckets (see {@link counter}). */
  histogram(
    name: string,
    help: string,
    options?: HistogramOptions,
  ): HistogramFamily {
    const labelNames = options?.labelNames ?? [];
    const buckets = options?.buckets ?? LATENCY_BUCKETS_SECONDS;
    for (let i = 0; i < buckets.length; i++) {
      if (
        !Number.isFinite(buckets[i]) ||
        (i > 0 && buckets[i]! <= buckets[i - 1]!)
      ) {
        throw new MetricsError(
          MetricsErrorCode.BadName,
          `Invalid buckets of '${name}': got [${buckets}], expected finite bounds in ascending order`,
        );
      }
    }
    const f = this.#existing<HistogramFamily>(name, "histogram", labelNames);
    if (f) {
      if (f.buckets.join(",") !== buckets.join(",")) {
        throw new MetricsError(
          MetricsErrorCode.Conflict,
          `Cannot register '${name}' with buckets [${buckets}]: it has [${f.buckets}]`,
        );
      }
      return f;
    }
    this.#check(name, "histogram", labelNames);
    const made = new HistogramFamily(
      name,
      help,
      labelNames,
      this.#limitsFor(options),
      buckets,
      this.#overflowed(name),
    );
    this.#families.set(name, made);
    return made;
  }

  /**
   * A family whose samples are computed at scrape time, so hot paths never touch it. Bounded
   * labels (see {@link MetricsRegistryOptions.labelLimits}) are folded at render: past the
   * limit, the values with the smallest samples are summed into `other`. Registering the name
   * again replaces the function.
   *
   * @throws {MetricsError} For a bad name, or a name taken by a family of another kind.
   */
  collect(
    name: string,
    help: string,
    type: "counter" | "gauge",
    fn: () => Iterable<Sample>,
  ): void {
    const f = this.#families.get(name);
    if (
      f && !(f instanceof CounterFamily || f instanceof GaugeFamily ||
        f instanceof HistogramFamily) &&
      f.type === type && !f.histogramFn
    ) {
      f.fn = fn;
      return;
    }
    if (f) {
      throw new MetricsError(
        MetricsErrorCode.Conflict,
        `Cannot register '${name}' as a ${type} collector: it is registered as another kind`,
      );
    }
    this.#check(name, type, []);
    this.#families.set(name, { name, help, type, fn });
  }

  /** A histogram whose state is read at scrape time (a collector's own bucket array). */
  collectHistogram(
    name: string,
    help: string,
    fn: () => Iterable<HistogramSample>,
  ): void {
    const f = this.#families.get(name);
    if (
      f && !(f instanceof CounterFamily || f instanceof GaugeFamily ||
        f instanceof HistogramFamily) &&
      f.histogramFn
    ) {
      f.histogramFn = fn;
      return;
    }
    if (f) {
      throw new MetricsError(
        MetricsErrorCode.Conflict,
        `Cannot register '${name}' as a histogram collector: it is registered as another kind`,
      );
    }
    this.#check(name, "histogram", []);
    this.#families.set(name, {
      name,
      help,
      type: "histogram",
      fn: () => [],
      histogramFn: fn,
    });
  }

  /**
   * The sum of every sample of a counter or gauge family (this registry's or an included
   * one's): what a caller needs for a node-wide rate without parsing the text format.
   *
   * @returns The sum, or `undefined` when no registry here has the family (or it is a
   * histogram).
   *
   * @example
   * ```ts
   * import { MetricsRegistry } from "./registry.ts";
   * import assert from "node:assert/strict";
   * const m = new MetricsRegistry();
   * const c = m.counter("meridian_x_total", "X", { labelNames: ["a"] });
   * c.inc({ a: "1" }, 2);
   * c.inc({ a: "2" }, 3);
   * assert.equal(m.sum("meridian_x_total"), 5);
   * assert.equal(m.sum("meridian_nope_total"), undefined);
   * ```
   */
  sum(name: string): number | undefined {
    let found = false;
    let total = 0;
    for (const r of this.#include) {
      const v = r.sum(name);
      if (v !== undefined) {
        found = true;
        total += v;
      }
    }
    const f = this.#families.get(name);
    if (f instanceof CounterFamily || f instanceof GaugeFamily) {
      found = true;
      for (const s of f.children.series()) total += s.child.value;
    } else if (f && !(f instanceof HistogramFamily) && !f.histogramFn) {
      found = true;
      for (const [, v] of f.fn()) total += v;
    }
    return found ? total : undefined;
  }

  /** Every family in the text format 0.0.4 (included registries first). */
  render(): string {
    const lines: string[] = [];
    const overflow = new Map<string, number>();
    this.#renderInto(lines, overflow);
    if (overflow.size > 0) {
      lines.push(
        `# HELP ${OVERFLOW_FAMILY} Label sets counted under 'other' because a bounded label (stream, app, edge, origin) reached its limit (metrics.labelLimits)`,
        `# TYPE ${OVERFLOW_FAMILY} counter`,
      );
      for (const [family, n] of overflow) {
        lines.push(`${OVERFLOW_FAMILY}{family="${family}"} ${n}`);
      }
    }
    return lines.join("\n") + "\n";
  }

  #renderInto(lines: string[], overflow: Map<string, number>): void {
    for (const r of this.#include) r.#renderInto(lines, overflow);
    for (const [k, v] of this.#overflow) {
      overflow.set(k, (overflow.get(k) ?? 0) + v);
    }
    for (const f of this.#families.values()) {
      lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
      lines.push(`# TYPE ${f.name} ${f.type}`);
      if (f instanceof HistogramFamily) {
        for (const s of f.children.series()) {
          renderHistogram(lines, f.name, s.names, s.values, {
            buckets: f.buckets,
            cumulativeCounts: cumulative(s.child.counts, f.buckets.length),
            count: s.child.count,
            sum: s.child.sum,
          });
        }
      } else if (f instanceof CounterFamily || f instanceof GaugeFamily) {
        for (const s of f.children.series()) {
          lines.push(
            `${f.name}${formatLabels(s.names, s.values)} ${
              formatSampleValue(s.child.value)
            }`,
          );
        }
      } else if (f.histogramFn) {
        for (const [labels, h] of f.histogramFn()) {
          const [names, values] = namesAndValues(labels);
          renderHistogram(lines, f.name, names, values, h);
        }
      } else {
        const folded = foldBounded(f.fn(), this.#limits);
        if (folded.overflowed) {
          overflow.set(f.name, (overflow.get(f.name) ?? 0) + folded.overflowed);
        }
        for (const [names, values, v] of folded.samples) {
          lines.push(
            `${f.name}${formatLabels(names, values)} ${formatSampleValue(v)}`,
          );
        }
      }
    }
  }
}

function cumulative(counts: Float64Array, bounds: number): number[] {
  const out = new Array<number>(bounds);
  let acc = 0;
  for (let i = 0; i < bounds; i++) out[i] = acc += counts[i]!;
  return out;
}

function renderHistogram(
  lines: string[],
  name: string,
  names: readonly string[],
  values: readonly string[],
  h: HistogramSnapshot,
): void {
  for (let i = 0; i < h.buckets.length; i++) {
    lines.push(
      `${name}_bucket${
        formatLabels(names, values, ["le", formatSampleValue(h.buckets[i]!)])
      } ${formatSampleValue(h.cumulativeCounts[i] ?? 0)}`,
    );
  }
  lines.push(
    `${name}_bucket${formatLabels(names, values, ["le", "+Inf"])} ${
      formatSampleValue(h.count)
    }`,
  );
  lines.push(
    `${name}_sum${formatLabels(names, values)} ${formatSampleValue(h.sum)}`,
  );
  lines.push(
    `${name}_count${formatLabels(names, values)} ${formatSampleValue(h.count)}`,
  );
}

/**
 * A collector's samples with each bounded label kept to its limit: the values with the largest
 * sums stay, the rest are summed under `other` (per combination of the other labels). Samples
 * of one label set are summed too, so a collector never renders a duplicate series.
 */
function foldBounded(
  samples: Iterable<Sample>,
  limits: Readonly<Record<string, number>>,
): {
  samples: [readonly string[], string[], number][];
  overflowed: number;
} {
  const rows: [readonly string[], string[], number][] = [];
  for (const [labels, v] of samples) {
    const [names, values] = namesAndValues(labels);
    rows.push([names, values, v]);
  }
  let overflowed = 0;
  const boundedNames = new Set<string>();
  for (const [names] of rows) {
    for (const n of names) if (limits[n] !== undefined) boundedNames.add(n);
  }
  for (const label of boundedNames) {
    const limit = limits[label]!;
    const totals = new Map<string, number>();
    for (const [names, values, v] of rows) {
      const i = names.indexOf(label);
      if (i < 0 || values[i] === OTHER_LABEL_VALUE) continue;
      totals.set(values[i]!, (totals.get(values[i]!) ?? 0) + v);
    }
    if (totals.size <= limit) continue;
    const keep = new Set(
      [...totals].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, limit).map(([k]) => k),
    );
    for (const row of rows) {
      const i = row[0].indexOf(label);
      if (i < 0 || keep.has(row[1][i]!)) continue;
      row[1][i] = OTHER_LABEL_VALUE;
      overflowed++;
    }
  }
  // Merge rows that now share a label set (and duplicates a collector yielded).
  const merged = new Map<string, [readonly string[], string[], number]>();
  for (const row of rows) {
    const k = seriesKey(row[0], row[1]);
    const m = merged.get(k);
    if (m) m[2] += row[2];
    else merged.set(k, row);
  }
  return { samples: [...merged.values()], overflowed };
}
