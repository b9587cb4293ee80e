/**
 * The series a PromQL expression reads, and the families the docs name: for the tests that
 * check deploy/prometheus's dashboards and alerts against what Meridian exports.
 *
 * @module
 */

/**
 * Metric names in `expr` (`meridian_*`, `process_*` and `up`): label matchers, strings and
 * range selectors removed first, so label names and values never count as names.
 */
export function metricNamesOf(expr: string): Set<string> {
  const cleaned = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ");
  const out = new Set<string>();
  for (const m of cleaned.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const n = m[0];
    if (/^(meridian_|process_)/.test(n) || n === "up") out.add(n);
  }
  return out;
}

/** The family a sample name belongs to: `x_bucket`, `x_sum`, `x_count` are `x`'s when `x` is known. */
export function familyOf(name: string, known: ReadonlySet<string>): string {
  if (known.has(name)) return name;
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (name.endsWith(suffix) && known.has(name.slice(0, -suffix.length))) {
      return name.slice(0, -suffix.length);
    }
  }
  return name;
}

/** Backticked family names in the part of `markdown` under `heading` (to the next `## `). */
export function documentedNames(
  markdown: string,
  heading: string,
): Set<string> {
  const start = markdown.indexOf(heading);
  if (start < 0) throw new Error(`No section '${heading}'`);
  const rest = markdown.slice(start + heading.length);
  const end = rest.search(/\n## /);
  const section = end < 0 ? rest : rest.slice(0, end);
  const out = new Set<string>();
  for (
    const m of section.matchAll(
      /`((?:meridian|process)_[a-z0-9_]+)(?:\{[^`]*\})?`/g,
    )
  ) {
    out.add(m[1]!);
  }
  return out;
}

/** Every `expr` of a Grafana dashboard's panels (rows' nested panels included). */
export function dashboardExprs(
  dashboard: unknown,
): { panel: string; expr: string }[] {
  const out: { panel: string; expr: string }[] = [];
  const walk = (panels: unknown) => {
    for (const p of (panels ?? []) as Record<string, unknown>[]) {
      for (const t of (p.targets ?? []) as Record<string, unknown>[]) {
        out.push({ panel: String(p.title), expr: String(t.expr) });
      }
      walk(p.panels);
    }
  };
  walk((dashboard as { panels?: unknown }).panels);
  return out;
}

/** Every `expr` of a rules file's rules, by alert name (parsed YAML). */
export function ruleExprs(rules: unknown): { alert: string; expr: string }[] {
  const out: { alert: string; expr: string }[] = [];
  for (
    const g of (rules as { groups: { rules: Record<string, unknown>[] }[] })
      .groups
  ) {
    for (const r of g.rules) {
      out.push({ alert: String(r.alert ?? r.record), expr: String(r.expr) });
    }
  }
  return out;
}
