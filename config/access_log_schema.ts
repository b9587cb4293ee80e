/**
 * The `accessLog` block every role's section has (`origin.accessLog`, `edge.accessLog`,
 * `scheduler.accessLog`, `control.accessLog`): shape, defaults and constraints, written once.
 *
 * @module
 */

import { type Constraint, numIn, oneOf } from "./constraints.ts";

/** One role's access log (see `log/access/`). */
export interface AccessLogConfig {
  /**
   * Write one line per HTTP request (and per RTMP session on the origin, per sampled DNS query
   * on the scheduler). Off by default: a busy edge writes tens of thousands of lines a second,
   * which the operator should choose (and rotate) knowingly, as Varnish leaves it to
   * varnishncsa.
   */
  readonly enabled: boolean;
  /** `json` (one object a line) or `combined` (nginx's `combined` and a few fields more). */
  readonly format: "json" | "combined";
  /**
   * `stdout`, `stderr`, or a file path (appended to, created when missing, reopened on SIGHUP
   * so logrotate can move it away).
   */
  readonly destination: string;
}

/** The scheduler's access log: its DNS queries are sampled. */
export interface SchedulerAccessLogConfig extends AccessLogConfig {
  /**
   * Share of DNS queries logged, 0..1 (every `1 / rate`-th query; 0 logs none). HTTP requests
   * to the scheduler are all logged. 0.01 keeps 1 line a second at 100 queries a second.
   */
  readonly dnsSampleRate: number;
}

/** The defaults of {@link AccessLogConfig}. */
export const ACCESS_LOG_DEFAULTS: AccessLogConfig = {
  enabled: false,
  format: "json",
  destination: "stdout",
};

const destination: Constraint = (v) =>
  typeof v === "string" && v.trim() !== "" && !v.includes("\0")
    ? undefined
    : "stdout, stderr or a file path";

/**
 * The constraints of an access log block at `key` (`origin.accessLog`, …).
 *
 * @example
 * ```ts
 * import { accessLogConstraints } from "./access_log_schema.ts";
 * const c = accessLogConstraints("edge.accessLog");
 * if (c["edge.accessLog.format"]!("xml") === undefined) throw new Error("accepted xml");
 * ```
 */
export function accessLogConstraints(
  key: string,
): Readonly<Record<string, Constraint>> {
  return {
    [`${key}.format`]: oneOf("json", "combined"),
    [`${key}.destination`]: destination,
  };
}

/** The scheduler's: {@link accessLogConstraints} and the sample rate. */
export function schedulerAccessLogConstraints(
  key: string,
): Readonly<Record<string, Constraint>> {
  return {
    ...accessLogConstraints(key),
    [`${key}.dnsSampleRate`]: numIn(0, 1),
  };
}
