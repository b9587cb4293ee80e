/**
 * What never reaches a log line: the values of query parameters and fields named like
 * credentials. One place for the process log and the access logs, so a rule added here
 * (a new parameter name) holds in both.
 *
 * @module
 */

/** Log field names whose values are secrets (and request fields: Authorization, Cookie). */
const SECRET_FIELD =
  /token|key|secret|password|authorization|credential|cookie/i;

/**
 * Query parameter names whose values are secrets: wider than fields, since a URL's names are
 * the client's (`access_token`, `publishKey`, `X-Amz-Signature`, `auth_key`, `cred`).
 */
const SECRET_PARAM = /token|key|secret|passw|cred|sig|auth/i;

/** A query parameter `name=value` inside free text (a URL, a tcUrl, a stream name). */
const QUERY_PARAM = /([?&])([^=&\s"'#?]*)=([^&\s"'#]*)/g;

/** The password of a URL's userinfo (`redis://user:pass@host`, a Referer with one). */
const URL_PASSWORD = /(\/\/[^/\s:@?#]*:)[^@\s/?#]*@/g;

/** What a redacted value is written as. */
export const REDACTED = "<redacted>";

/** True when a log field (or request field) of this name holds a secret. */
export function isSecretField(name: string): boolean {
  return SECRET_FIELD.test(name);
}

/**
 * True when a query parameter of this name holds a secret: `token`, `cred`, `key`, `secret`,
 * `password`, `sig`, `auth` anywhere in the name.
 */
export function isSecretParam(name: string): boolean {
  return SECRET_PARAM.test(name);
}

function decodedName(name: string): string {
  if (!name.includes("%") && !name.includes("+")) return name;
  try {
    return decodeURIComponent(name.replace(/\+/g, " "));
  } catch {
    return name;
  }
}

/**
 * Redacts the values of secret query parameters inside a string (URLs, stream names, tcUrls):
 * `?token=abc&x=1` becomes `?token=<redacted>&x=1`. Names are matched decoded, so `%74oken=`
 * (which every server reads as `token`) is redacted too; so is a URL's userinfo password.
 *
 * @example
 * ```ts
 * import { redactQuery } from "./redact.ts";
 * import assert from "node:assert/strict";
 * assert.equal(
 *   redactQuery("/live/a.m3u8?cred=c1&start=5&access_token=t"),
 *   "/live/a.m3u8?cred=<redacted>&start=5&access_token=<redacted>",
 * );
 * assert.equal(redactQuery("live/cam1?key=s3cret"), "live/cam1?key=<redacted>");
 * ```
 */
export function redactQuery(text: string): string {
  if (text.includes("@")) {
    text = text.replace(URL_PASSWORD, `$1${REDACTED}@`);
  }
  if (!text.includes("=")) return text;
  return text.replace(
    QUERY_PARAM,
    (whole, sep: string, name: string) =>
      isSecretParam(decodedName(name)) ? `${sep}${name}=${REDACTED}` : whole,
  );
}

/**
 * A copy of log fields with secret-named fields replaced and secret query values redacted in
 * every string (errors become their described chain first).
 */
export function redactFields(
  fields: Record<string, unknown>,
  describe: (e: Error) => string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (isSecretField(k) && v !== undefined && typeof v !== "boolean") {
      out[k] = REDACTED;
    } else if (typeof v === "string") out[k] = redactQuery(v);
    else if (v instanceof Error) out[k] = redactQuery(describe(v));
    else out[k] = v;
  }
  return out;
}
