/**
 * The running config as `GET /admin/config` shows it: every value under a key that names a
 * secret (`/password|token|secret|key/i`, e.g. `adminToken`, `servicePassword`,
 * `sessionSecret`, `publishKeys`; see {@link SECRET_KEY_RE}) is replaced, at any depth, and so is the password of any URL
 * value (`store.url: redis://:PASSWORD@host`).
 *
 * @module
 */

/**
 * Keys whose values are never shown: anything naming a password, token or secret, and keys
 * named `key`/`keys` or ending so (`publishKeys`, `apiKey`), but not words that merely hold
 * "key" (`keyframeTolerance` is a number an operator must see to edit).
 */
export const SECRET_KEY_RE =
  /[Pp]assword|PASSWORD|[Tt]oken|TOKEN|[Ss]ecret|SECRET|(^|[_-])([Kk]eys?|KEYS?)$|[a-z0-9]Keys?$/;
/** What a redacted value reads. */
export const REDACTED = "[redacted]";
/** The password in a URL's user info: `scheme://user:PASSWORD@host`. */
const URL_PASSWORD = /^([^/]*\/\/[^:@/]*):.*@/s;

/**
 * A deep copy of `value` with every secret-named key's value replaced by {@link REDACTED}.
 * Empty values (`""`, `[]`) are kept: they reveal nothing and show the secret is unset (or
 * generated at start-up).
 *
 * @example
 * ```ts
 * import { redactConfig } from "./config_view.ts";
 * const r = redactConfig({ control: { adminToken: "abc", port: 8088 }, apps: [{ publishKeys: ["k"] }] });
 * if (JSON.stringify(r) !== '{"control":{"adminToken":"[redacted]","port":8088},"apps":[{"publishKeys":"[redacted]"}]}') {
 *   throw new Error(JSON.stringify(r));
 * }
 * ```
 */
export function redactConfig(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactConfig);
  // A password in a URL's user info (`store.url: redis://:pw@host`) is a secret too.
  if (typeof value === "string") {
    return value.replace(URL_PASSWORD, `$1:${REDACTED}@`);
  }
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY_RE.test(k) ? redactValue(v) : redactConfig(v);
  }
  return out;
}

function redactValue(v: unknown): unknown {
  if (v === "" || v === null || v === undefined) return v;
  if (Array.isArray(v) && v.length === 0) return [];
  return REDACTED;
}
