/**
 * Structured logging: one JSON object a line, or a readable line on a TTY.
 *
 * Every line carries the component (`origin/rtmp`, `origin/http`, …) and the fields passed in.
 * Secrets never reach a sink: fields named like credentials and `token=`/`key=` query values are
 * redacted here (`redact.ts`, shared with the access logs), once, instead of trusting every
 * call site.
 *
 * @module
 */

import { redactFields, redactQuery } from "./redact.ts";

export {
  isSecretField,
  isSecretParam,
  REDACTED,
  redactFields,
  redactQuery,
} from "./redact.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";
const LEVEL_RANK: Record<LogLevel, number> = {
  debug: 10,
  info: 20,
  warn: 30,
  error: 40,
};

/** A component logger. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger for a sub-component, e.g. `log.child("rtmp")` → `origin/rtmp`. */
  child(component: string): Logger;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Lowest level written. @default "info" */
  readonly level?: LogLevel;
  /** "json", "pretty", or "auto" (pretty on a TTY). @default "auto" */
  readonly format?: "json" | "pretty" | "auto";
  /** Where lines go. @default stderr */
  readonly write?: (line: string) => void;
}

/** `message (code) ← cause message`: the whole chain of an error on one line. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && depth < 5; depth++) {
    if (e instanceof Error) {
      const code = (e as { code?: unknown }).code;
      parts.push(
        typeof code === "string" ? `${e.message} (${code})` : e.message,
      );
      e = e.cause;
    } else {
      parts.push(String(e));
      break;
    }
  }
  return parts.join(" ← ");
}

/**
 * Creates the root logger of a process.
 *
 * @example
 * ```ts
 * import { createLogger } from "./mod.ts";
 * const lines: string[] = [];
 * const log = createLogger("origin", { format: "json", write: (l) => lines.push(l) });
 * log.child("rtmp").info("publish", { stream: "live/t?token=abc" });
 * if (!lines[0]!.includes("token=<redacted>")) throw new Error("not redacted");
 * ```
 */
export function createLogger(
  component: string,
  options: LoggerOptions = {},
): Logger {
  const min = LEVEL_RANK[options.level ?? "info"];
  let format = options.format ?? "auto";
  if (format === "auto") {
    format = Deno.stderr.isTerminal() ? "pretty" : "json";
  }
  const encoder = new TextEncoder();
  const write = options.write ??
    ((line: string) => Deno.stderr.writeSync(encoder.encode(line + "\n")));
  const pretty = format === "pretty";

  const make = (comp: string): Logger => {
    const emit = (
      level: LogLevel,
      msg: string,
      fields?: Record<string, unknown>,
    ) => {
      if (LEVEL_RANK[level] < min) return;
      const safe = fields ? redactFields(fields, describeError) : {};
      const time = new Date().toISOString();
      if (pretty) {
        const extra = Object.entries(safe).map(([k, v]) =>
          `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`
        ).join(" ");
        write(
          `${time} ${level.toUpperCase().padEnd(5)} [${comp}] ${
            redactQuery(msg)
          }${extra ? " " + extra : ""}`,
        );
      } else {
        write(
          JSON.stringify({
            time,
            level,
            component: comp,
            msg: redactQuery(msg),
            ...safe,
          }),
        );
      }
    };
    return {
      debug: (m, f) => emit("debug", m, f),
      info: (m, f) => emit("info", m, f),
      warn: (m, f) => emit("warn", m, f),
      error: (m, f) => emit("error", m, f),
      child: (c) => make(`${comp}/${c}`),
    };
  };
  return make(component);
}

/** A logger that drops everything (tests that do not assert on logs). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};
