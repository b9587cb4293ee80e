/**
 * Option readers shared by the filter plug-ins: each throws ConfigError naming the key.
 *
 * @module
 */

import { ConfigError } from "../../config/mod.ts";

type Raw = Readonly<Record<string, unknown>>;

/** Rejects keys other than `known` (and `name`). */
export function onlyKeys(
  raw: Raw,
  key: string,
  known: readonly string[],
): void {
  for (const k of Object.keys(raw)) {
    if (k !== "name" && !known.includes(k)) {
      throw new ConfigError(
        `${key}.${k}`,
        raw[k],
        known.length
          ? `one of the known keys: ${known.join(", ")}`
          : "no options",
      );
    }
  }
}

/** A number option within bounds, or its default. */
export function numberOption(
  raw: Raw,
  key: string,
  field: string,
  def: number,
  min: number,
  max: number,
): number {
  const v = raw[field] ?? def;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
    throw new ConfigError(`${key}.${field}`, v, `a number ${min}..${max}`);
  }
  return v;
}

/** A string option, or its default. */
export function stringOption(
  raw: Raw,
  key: string,
  field: string,
  def: string,
): string {
  const v = raw[field] ?? def;
  if (typeof v !== "string") {
    throw new ConfigError(`${key}.${field}`, v, "a string");
  }
  return v;
}

/** A list option, or its default (empty). */
export function listOption(
  raw: Raw,
  key: string,
  field: string,
): readonly unknown[] {
  const v = raw[field] ?? [];
  if (!Array.isArray(v)) throw new ConfigError(`${key}.${field}`, v, "a list");
  return v;
}

/** A map option of numbers, or its default (empty). */
export function numberMapOption(
  raw: Raw,
  key: string,
  field: string,
): ReadonlyMap<string, number> {
  const v = raw[field] ?? {};
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new ConfigError(`${key}.${field}`, v, "a map");
  }
  const out = new Map<string, number>();
  for (const [k, n] of Object.entries(v)) {
    if (typeof n !== "number" || !Number.isFinite(n)) {
      throw new ConfigError(`${key}.${field}.${k}`, n, "a number");
    }
    out.set(k, n);
  }
  return out;
}
