/** Config errors. @module */

/** An invalid config value: names the key, the value and what was expected. */
export class ConfigError extends Error {
  override name = "ConfigError";
  readonly code = "CONFIG_INVALID";
  constructor(
    readonly key: string,
    readonly value: unknown,
    readonly expected: string,
    options?: ErrorOptions,
  ) {
    super(
      `Invalid config '${key}': got ${
        JSON.stringify(value) ?? String(value)
      }, expected ${expected}`,
      options,
    );
  }
}
