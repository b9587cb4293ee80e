/**
 * The one reader of config: YAML file, then `MERIDIAN_*` environment overrides, validated
 * against {@link DEFAULTS} and {@link CONSTRAINTS} into a frozen {@link MeridianConfig}.
 *
 * @module
 */

import { parse as parseYaml } from "yaml";
import { ConfigError } from "./errors.ts";
import {
  CONSTRAINTS,
  DEFAULTS,
  LIST_ITEMS,
  type MeridianConfig,
} from "./schema.ts";

type Plain = Record<string, unknown>;

function isPlain(v: unknown): v is Plain {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function typeName(v: unknown): string {
  return Array.isArray(v) ? "a list" : v === null ? "null" : `a ${typeof v}`;
}

/** Merges `raw` over `defaults`, checking every key and type. */
function mergeChecked(defaults: unknown, raw: unknown, key: string): unknown {
  if (raw === undefined) return defaults;
  if (Array.isArray(defaults)) return checkList(defaults, raw, key, key);
  if (isPlain(defaults)) {
    if (!isPlain(raw)) throw new ConfigError(key, raw, "a map of keys");
    const out: Plain = {};
    for (const k of Object.keys(raw)) {
      if (!(k in defaults)) {
        throw new ConfigError(
          key ? `${key}.${k}` : k,
          raw[k],
          `one of the known keys: ${Object.keys(defaults).join(", ")}`,
        );
      }
    }
    for (const [k, d] of Object.entries(defaults)) {
      const sub = key ? `${key}.${k}` : k;
      out[k] = mergeChecked(d, raw[k], sub);
      const c = CONSTRAINTS[sub];
      const problem = c?.(out[k]);
      if (problem) throw new ConfigError(sub, out[k], problem);
    }
    return out;
  }
  if (typeof raw !== typeof defaults) {
    throw new ConfigError(key, raw, typeName(defaults));
  }
  return raw;
}

/**
 * A list: each item checked against its schema ({@link LIST_ITEMS}, else the default's first
 * item with every key required). `key` names the value (`origin.apps[2]`), `constraintKey`
 * the schema (`origin.apps[]`).
 */
function checkList(
  defaults: readonly unknown[],
  raw: unknown,
  key: string,
  constraintKey: string,
): unknown[] {
  if (!Array.isArray(raw)) throw new ConfigError(key, raw, "a list");
  const schema = LIST_ITEMS[`${constraintKey}[]`];
  const template = schema ? schema.template : defaults[0];
  if (template === undefined) return raw;
  const required = schema ? new Set(schema.required ?? []) : undefined;
  const optional = new Set(schema?.optional ?? []);
  return raw.map((item, i) =>
    checkItem(
      template,
      required,
      item,
      `${key}[${i}]`,
      `${constraintKey}[]`,
      optional,
    )
  );
}

/**
 * One list item: no unknown keys; keys in `required` (every key when it is undefined) must be
 * given, keys in `optional` stay absent when not given, the others default to the template's
 * value; nested lists are checked the same way.
 */
function checkItem(
  template: unknown,
  required: ReadonlySet<string> | undefined,
  item: unknown,
  key: string,
  constraintKey: string,
  optional: ReadonlySet<string> = new Set(),
): unknown {
  if (!isPlain(template)) {
    if (typeof item !== typeof template) {
      throw new ConfigError(key, item, typeName(template));
    }
    const problem = CONSTRAINTS[constraintKey]?.(item);
    if (problem) throw new ConfigError(key, item, problem);
    return item;
  }
  if (!isPlain(item)) throw new ConfigError(key, item, "a map of keys");
  for (const k of Object.keys(item)) {
    if (!(k in template)) {
      throw new ConfigError(
        `${key}.${k}`,
        item[k],
        `one of the known keys: ${Object.keys(template).join(", ")}`,
      );
    }
  }
  const out: Plain = {};
  for (const [k, d] of Object.entries(template)) {
    const sub = `${key}.${k}`;
    const subConstraint = `${constraintKey}.${k}`;
    const v = item[k];
    if (v === undefined) {
      if (optional.has(k)) continue;
      if (required === undefined || required.has(k)) {
        throw new ConfigError(sub, v, typeName(d));
      }
      out[k] = structuredClone(d);
      continue;
    }
    if (Array.isArray(d)) out[k] = checkList(d, v, sub, subConstraint);
    else if (isPlain(d)) {
      out[k] = checkItem(d, new Set(), v, sub, subConstraint);
    } else if (typeof v !== typeof d) {
      throw new ConfigError(sub, v, typeName(d));
    } else out[k] = v;
    const problem = CONSTRAINTS[subConstraint]?.(out[k]);
    if (problem) throw new ConfigError(sub, out[k], problem);
  }
  // A rule across an item's keys (a channel needs `file` or `playlist`), once each key is good.
  const problem = CONSTRAINTS[constraintKey]?.(out);
  if (problem) throw new ConfigError(key, out, problem);
  return out;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === "object" && v !== null) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

const upperSnake = (k: string) =>
  k.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();

/** Every leaf key with its `MERIDIAN_…` variable name, e.g. `origin.rtmpPort` → `MERIDIAN_ORIGIN_RTMP_PORT`. */
export function envNames(
  node: unknown = DEFAULTS,
  path: string[] = [],
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (isPlain(node)) {
    for (const [k, v] of Object.entries(node)) {
      for (const [name, p] of envNames(v, [...path, k])) out.set(name, p);
    }
  } else {
    out.set("MERIDIAN_" + path.map(upperSnake).join("_"), path);
  }
  return out;
}

function leafDefault(path: string[]): unknown {
  let node: unknown = DEFAULTS;
  for (const seg of path) node = isPlain(node) ? node[seg] : undefined;
  return node;
}

/** Parses an environment string the way YAML would parse the same scalar or list. */
function parseEnvValue(text: string): unknown {
  try {
    return parseYaml(text);
  } catch {
    return text;
  }
}

/** Applies `MERIDIAN_*` variables over a raw (unvalidated) config tree. Unknown names are returned. */
export function applyEnv(
  raw: Plain,
  env: Record<string, string>,
): { raw: Plain; unknown: string[] } {
  const names = envNames();
  const unknown: string[] = [];
  const out: Plain = structuredClone(raw);
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith("MERIDIAN_")) continue;
    const path = names.get(name);
    if (!path) {
      unknown.push(name);
      continue;
    }
    let node = out;
    for (const seg of path.slice(0, -1)) {
      if (!isPlain(node[seg])) node[seg] = {};
      node = node[seg] as Plain;
    }
    // A string key takes the text as it is: an all-digit token must not become a number.
    node[path[path.length - 1]!] = typeof leafDefault(path) === "string"
      ? text
      : parseEnvValue(text);
  }
  return { raw: out, unknown };
}

/**
 * Validates a raw config tree (parsed YAML, env applied) into the frozen config.
 *
 * @throws {ConfigError} Naming the first bad key, its value and what was expected.
 * @example
 * ```ts
 * import { parseConfig } from "./load.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseConfig({ origin: { rtmpPort: 1936 } }).origin.rtmpPort, 1936);
 * assert.throws(() => parseConfig({ origin: { rtmpPort: "x" } }), /origin.rtmpPort/);
 * ```
 */
export function parseConfig(raw: unknown): MeridianConfig {
  if (raw === null || raw === undefined) raw = {};
  return deepFreeze(mergeChecked(DEFAULTS, raw, "") as MeridianConfig);
}

/** Parses YAML text (an empty file is the defaults). */
export function parseYamlConfig(text: string, source = "config"): Plain {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (cause) {
    throw new ConfigError(source, "<yaml>", "valid YAML", { cause });
  }
  if (doc === null || doc === undefined) return {};
  if (!isPlain(doc)) {
    throw new ConfigError(source, doc, "a map of sections at the top level");
  }
  return doc;
}

/** Loads the config: file (optional), then environment, then validation. */
export async function loadConfig(
  path: string | undefined,
  env: Record<string, string> = Deno.env.toObject(),
): Promise<{ config: MeridianConfig; warnings: string[] }> {
  let raw: Plain = {};
  if (path) {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (cause) {
      throw new ConfigError("--config", path, "a readable YAML file", {
        cause,
      });
    }
    raw = parseYamlConfig(text, path);
  }
  const applied = applyEnv(raw, env);
  const warnings = applied.unknown.map((n) =>
    `Unknown environment variable ${n}: no such config key`
  );
  return { config: parseConfig(applied.raw), warnings };
}
