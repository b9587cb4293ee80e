import { CodedError } from "../errors/mod.ts";
/** Config errors. @module */

const SECRET_KEY = /password|passphrase|token|secret|publishKeys|streamKey/i;
/** The password in a URL's user info (`scheme://user:PASSWORD@host`), e.g. of `store.url`. */
const URL_PASSWORD = /^([^/]*\/\/[^:@/]*):.*@/s;

/** An invalid config value: names the key, the value and what was expected. */
export class ConfigError extends CodedError<"CONFIG_INVALID"> {
  override name = "ConfigError";
  constructor(
    readonly key: string,
    readonly value: unknown,
    readonly expected: string,
    options?: ErrorOptions,
  ) {
    // Secrets never reach a log or terminal, not even when they are the wrong value.
    const shown = SECRET_KEY.test(key) && typeof value === "string"
      ? `<redacted, ${value.length} characters>`
      : typeof value === "string"
      ? JSON.stringify(value.replace(URL_PASSWORD, "$1:***@"))
      : JSON.stringify(value) ?? String(value);
    super(
      "CONFIG_INVALID",
      `Invalid config '${key}': got ${shown}, expected ${expected}`,
      options,
    );
  }
}
