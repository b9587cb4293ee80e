/**
 * Prometheus text exposition (format 0.0.4) for counters and gauges, with labels.
 *
 * Small on purpose: our metrics are a few dozen series, read by a scrape every few seconds, so a
 * map of label strings per metric is all the structure needed. Gauges can be computed at scrape
 * time (`collect`) so hot paths never touch them.
 *
 * @module
 */

type Labels = Readonly<Record<string, string | number>>;

function labelKey(labels: Labels | undefined): string {
  if (!labels) return "";
  const parts = Object.entries(labels).map(([k, v]) =>
    `${k}="${
      String(v).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(
        /\n/g,
        "\\n",
      )
    }"`
  );
  return parts.length ? `{${parts.join(",")}}` : "";
}

interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "gauge";
  readonly values: Map<string, number>;
  collect?: () => Iterable<[Labels | undefined, number]>;
}

/** A counter: only goes up. */
export interface Counter {
  inc(labels?: Labels, by?: number): void;
}

/** A gauge: set directly, or computed at scrape time. */
export interface Gauge {
  set(value: number, labels?: Labels): void;
}

/**
 * A set of metric families rendered together at `/metrics`.
 *
 * @example
 * ```ts
 * import { MetricsRegistry } from "./mod.ts";
 * const m = new MetricsRegistry();
 * m.counter("meridian_test_total", "Test events").inc({ kind: "a" });
 * if (!m.render().includes('meridian_test_total{kind="a"} 1')) throw new Error("missing");
 * ```
 */
export class MetricsRegistry {
  #families = new Map<string, Family>();

  #family(name: string, help: string, type: "counter" | "gauge"): Family {
    let f = this.#families.get(name);
    if (!f) {
      f = { name, help, type, values: new Map() };
      this.#families.set(name, f);
    }
    return f;
  }

  counter(name: string, help: string): Counter {
    const f = this.#family(name, help, "counter");
    return {
      inc(labels, by = 1) {
        const k = labelKey(labels);
        f.values.set(k, (f.values.get(k) ?? 0) + by);
      },
    };
  }

  gauge(name: string, help: string): Gauge {
    const f = this.#family(name, help, "gauge");
    return { set: (value, labels) => f.values.set(labelKey(labels), value) };
  }

  /** A gauge (or counter) whose samples are computed at scrape time. */
  collect(
    name: string,
    help: string,
    type: "counter" | "gauge",
    fn: () => Iterable<[Labels | undefined, number]>,
  ): void {
    this.#family(name, help, type).collect = fn;
  }

  /**
   * The sum of every sample of one family (all label sets, collected ones included), or
   * `undefined` when no such family is registered: for a node's own rates (the node
   * directory's DNS queries per second), without parsing the text format.
   *
   * @example
   * ```ts
   * import { MetricsRegistry } from "./mod.ts";
   * const m = new MetricsRegistry();
   * const c = m.counter("meridian_x_total", "X");
   * c.inc({ a: "1" }, 2);
   * c.inc({ a: "2" }, 3);
   * if (m.sum("meridian_x_total") !== 5 || m.sum("nope") !== undefined) throw new Error();
   * ```
   */
  sum(name: string): number | undefined {
    const f = this.#families.get(name);
    if (!f) return undefined;
    let total = 0;
    for (const v of f.values.values()) total += v;
    if (f.collect) { for (const [, v] of f.collect()) total += v; }
    return total;
  }

  render(): string {
    const lines: string[] = [];
    for (const f of this.#families.values()) {
      lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
      for (const [k, v] of f.values) lines.push(`${f.name}${k} ${v}`);
      if (f.collect) {
        for (const [l, v] of f.collect()) {
          lines.push(`${f.name}${labelKey(l)} ${v}`);
        }
      }
    }
    return lines.join("\n") + "\n";
  }
}
