/**
 * The Prometheus text exposition format, version 0.0.4: names, label values and sample values
 * written as Prometheus parses them.
 *
 * https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 *
 * @module
 */

/** The `Content-Type` of a scrape answer in this format. */
export const EXPOSITION_CONTENT_TYPE =
  "text/plain; version=0.0.4; charset=utf-8";

/** A metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*` (the data model's rule). */
export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** A label name: `[a-zA-Z_][a-zA-Z0-9_]*`, and not `__`-prefixed (reserved). */
export const LABEL_NAME = /^(?!__)[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * A label value escaped for the text format: backslash, double quote and line feed.
 *
 * @example
 * ```ts
 * import { escapeLabelValue } from "./exposition.ts";
 * import assert from "node:assert/strict";
 * assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
 * ```
 */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value)
    ? value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")
    : value;
}

/** A HELP text escaped for the text format: backslash and line feed (quotes stay). */
export function escapeHelp(help: string): string {
  return help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/**
 * A sample value as the format writes it: integers plainly, `+Inf`, `-Inf`, `NaN`.
 *
 * @example
 * ```ts
 * import { formatSampleValue } from "./exposition.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatSampleValue(3), "3");
 * assert.equal(formatSampleValue(0.25), "0.25");
 * assert.equal(formatSampleValue(Infinity), "+Inf");
 * ```
 */
export function formatSampleValue(value: number): string {
  if (Number.isFinite(value)) return String(value);
  if (Number.isNaN(value)) return "NaN";
  return value > 0 ? "+Inf" : "-Inf";
}

/**
 * `{a="x",b="y"}` for the names and values given (empty when there are none).
 *
 * @param names Label names, already validated.
 * @param values Their values, in the same order.
 * @param extra One more pair appended (a histogram's `le`).
 */
export function formatLabels(
  names: readonly string[],
  values: readonly string[],
  extra?: readonly [string, string],
): string {
  if (names.length === 0 && !extra) return "";
  let s = "{";
  for (let i = 0; i < names.length; i++) {
    if (i > 0) s += ",";
    s += `${names[i]}="${escapeLabelValue(values[i] ?? "")}"`;
  }
  if (extra) {
    s += `${names.length > 0 ? "," : ""}${extra[0]}="${
      escapeLabelValue(extra[1])
    }"`;
  }
  return s + "}";
}
