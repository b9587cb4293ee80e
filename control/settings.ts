/**
 * The running config in the admin API (relative to `/admin`):
 *
 * - `GET /config` — the effective config, every secret redacted (./config_view.ts), and
 *   whether it can be edited here
 * - `PUT /config/{section}` — a section replaced (secrets left as `[redacted]` keep their
 *   value). It is validated whole first; when that fails, each changed key is also tried
 *   alone, so the answer names every bad key: 400 `{"errors":[{"key","message"}]}` and
 *   nothing changes. A valid section is applied: the roles whose settings changed restart
 *   (runtime/supervisor.ts), the others keep running; `persisted` says whether it was also
 *   written into the config file the process was started with.
 * - `PUT /apps/{app}/publish-keys` `{"keys":[…]}` — an app's RTMP publish keys (write-only:
 *   they are never shown back)
 *
 * @module
 */

import { Hono } from "hono";
import {
  ConfigError,
  DEFAULTS,
  type MeridianConfig,
  parseConfig,
} from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import { clientAddress, NO_STORE, readJsonBody } from "../net/http/respond.ts";
import { redactConfig, REDACTED } from "./config_view.ts";
import type { ControlEnv } from "./console_auth.ts";

/** The running config as the console reads and changes it. */
export interface ConfigSettings {
  /** The config every role runs now. */
  current(): MeridianConfig;
  /**
   * Applies a validated config: restarts the roles whose settings changed.
   * @returns What was restarted (shown to the operator).
   * @throws {Error} When a role does not start with it (the old config runs again).
   */
  apply(next: MeridianConfig): Promise<unknown>;
}

/** Largest section body (bytes). */
export const MAX_SECTION_BODY_BYTES = 256 * 1024;
/** Most publish keys one app may have. */
export const MAX_PUBLISH_KEYS = 64;

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** One bad key of an edit. */
export interface KeyProblem {
  readonly key: string;
  readonly message: string;
}

/** What the routes need. */
export interface SettingsDeps {
  /** The running config (`GET /config`), when control has it. */
  readonly config: () => unknown;
  /** Applies a new config; without it the config is read-only (PUT answers 501). */
  readonly settings?: ConfigSettings;
  readonly log: Logger;
}

/**
 * `edited` with every `[redacted]` value put back from `current` at the same place (an
 * operator who did not touch a secret sends back what they were shown).
 *
 * @example
 * ```ts
 * import { unredact } from "./settings.ts";
 * const r = unredact({ adminToken: "[redacted]", port: 1 }, { adminToken: "s3cret-token", port: 0 });
 * if (JSON.stringify(r) !== '{"adminToken":"s3cret-token","port":1}') throw new Error(JSON.stringify(r));
 * ```
 */
export function unredact(edited: unknown, current: unknown): unknown {
  if (edited === REDACTED) return structuredClone(current);
  if (Array.isArray(edited)) {
    return edited.map((v, i) =>
      unredact(v, Array.isArray(current) ? current[i] : undefined)
    );
  }
  if (!isPlain(edited)) return edited;
  const out: Plain = {};
  for (const [k, v] of Object.entries(edited)) {
    out[k] = unredact(v, isPlain(current) ? current[k] : undefined);
  }
  return out;
}

/** Dotted paths of the leaves (and lists, as wholes) where `a` and `b` differ. */
function changedPaths(a: unknown, b: unknown, path: string[] = []): string[][] {
  if (isPlain(a) && isPlain(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => changedPaths(a[k], b[k], [...path, k]));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [path];
}

function setIn(root: Plain, path: readonly string[], value: unknown): Plain {
  const out = structuredClone(root);
  let node: Plain = out;
  for (const seg of path.slice(0, -1)) {
    if (!isPlain(node[seg])) node[seg] = {};
    node = node[seg] as Plain;
  }
  const last = path[path.length - 1]!;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return out;
}

function getIn(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const seg of path) node = isPlain(node) ? node[seg] : undefined;
  return node;
}

const problemOf = (e: unknown): KeyProblem =>
  e instanceof ConfigError
    ? { key: e.key, message: e.message }
    : { key: "", message: e instanceof Error ? e.message : String(e) };

/**
 * Validates `current` with section `name` replaced by `section`: the new config, or every
 * problem found (the whole first, then each changed key alone), nothing applied.
 *
 * @example
 * ```ts
 * import { checkSectionEdit } from "./settings.ts";
 * import { DEFAULTS } from "../config/mod.ts";
 * const r = checkSectionEdit(DEFAULTS, "log", { level: "loud", format: "json" });
 * if (r.ok || r.problems[0]?.key !== "log.level") throw new Error(JSON.stringify(r));
 * ```
 */
export function checkSectionEdit(
  current: MeridianConfig,
  name: string,
  section: unknown,
):
  | { readonly ok: true; readonly config: MeridianConfig }
  | { readonly ok: false; readonly problems: readonly KeyProblem[] } {
  const base = structuredClone(current) as unknown as Plain;
  if (!(name in DEFAULTS) || !isPlain((DEFAULTS as unknown as Plain)[name])) {
    return {
      ok: false,
      problems: [{
        key: name,
        message: `Unknown config section '${
          name.slice(0, 64)
        }': expected one of ${
          Object.entries(DEFAULTS).filter(([, v]) => isPlain(v)).map(([k]) => k)
            .join(", ")
        }`,
      }],
    };
  }
  if (!isPlain(section)) {
    return {
      ok: false,
      problems: [{
        key: name,
        message: `Invalid config '${name}': expected a map of keys`,
      }],
    };
  }
  const edited = unredact(section, base[name]);
  const candidate = { ...base, [name]: edited };
  try {
    return { ok: true, config: parseConfig(candidate) };
  } catch (whole) {
    const problems = new Map<string, KeyProblem>();
    for (const path of changedPaths(base[name], edited)) {
      const full = [name, ...path];
      try {
        parseConfig(setIn(base, full, getIn(edited, path)));
      } catch (e) {
        const p = problemOf(e);
        problems.set(p.key, p);
      }
    }
    const p = problemOf(whole);
    if (!problems.has(p.key)) problems.set(p.key, p);
    return { ok: false, problems: [...problems.values()] };
  }
}

/** The route group. */
export function createSettingsRoutes(deps: SettingsDeps): Hono<ControlEnv> {
  const { settings, log } = deps;
  const app = new Hono<ControlEnv>();
  const json = (body: unknown, status: number) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { ...NO_STORE, "Content-Type": "application/json" },
    });

  app.get("/config", () => {
    const config = settings?.current() ?? deps.config();
    if (config === undefined) {
      return new Response(
        "Not available: this control role was started without the full config",
        { status: 501, headers: { ...NO_STORE, "Content-Type": "text/plain" } },
      );
    }
    return json({
      config: redactConfig(config),
      editable: settings !== undefined,
    }, 200);
  });

  const apply = async (
    next: MeridianConfig,
    what: Record<string, unknown>,
    operator: string | undefined,
    client: string,
  ) => {
    try {
      const outcome = await settings!.apply(next) as {
        restarted?: readonly string[];
        deferred?: readonly string[];
        persisted?: boolean;
      };
      log.info("config applied", { ...what, operator, client });
      return json({
        applied: true,
        restarted: outcome?.restarted ?? [],
        deferred: outcome?.deferred ?? [],
        persisted: outcome?.persisted ?? false,
      }, 200);
    } catch (e) {
      return json({
        applied: false,
        error: e instanceof Error ? e.message : String(e),
      }, 500);
    }
  };

  app.put("/config/:section", async (c) => {
    if (!settings) {
      return json(
        { error: "Not available: the config is read-only here" },
        501,
      );
    }
    const body = await readJsonBody(c, MAX_SECTION_BODY_BYTES);
    if (!body.ok) return body.response;
    const name = c.req.param("section");
    const checked = checkSectionEdit(settings.current(), name, body.value);
    if (!checked.ok) return json({ errors: checked.problems }, 400);
    return await apply(
      checked.config,
      { section: name },
      c.get("principal")?.name,
      clientAddress(c),
    );
  });

  app.put("/apps/:app/publish-keys", async (c) => {
    if (!settings) {
      return json(
        { error: "Not available: the config is read-only here" },
        501,
      );
    }
    const name = c.req.param("app");
    const body = await readJsonBody(c, 64 * 1024);
    if (!body.ok) return body.response;
    const keys = (body.value as { keys?: unknown } | null)?.keys;
    if (
      !Array.isArray(keys) || keys.length > MAX_PUBLISH_KEYS ||
      keys.some((k) => typeof k !== "string")
    ) {
      return json({
        errors: [{
          key: "keys",
          message:
            `Invalid publish keys: expected a list of at most ${MAX_PUBLISH_KEYS} strings`,
        }],
      }, 400);
    }
    const current = settings.current();
    const apps = current.origin.apps.map((a) => ({ ...a }));
    const i = apps.findIndex((a) => a.name === name);
    if (i >= 0) apps[i] = { ...apps[i]!, publishKeys: keys as string[] };
    else {
      apps.push({
        name,
        access: current.origin.defaultApp.access,
        publishKeys: keys as string[],
        streams: [],
      });
    }
    const checked = checkSectionEdit(current, "origin", {
      ...current.origin,
      apps,
    });
    if (!checked.ok) return json({ errors: checked.problems }, 400);
    return await apply(
      checked.config,
      { app: name, keys: keys.length },
      c.get("principal")?.name,
      clientAddress(c),
    );
  });
  return app;
}
