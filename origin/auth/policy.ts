/**
 * Per-app access rules, compiled once from config: who may play an app (`open` or `token`) and
 * which publish keys a stream accepts. Pure: no store, no clock, no I/O.
 *
 * @module
 */

import type {
  AppAccess,
  OriginAppConfig,
  OriginConfig,
} from "../../config/mod.ts";
import { constantTimeEqual } from "../../access/mod.ts";

/** The compiled rules. */
export interface AccessPolicy {
  /** Who may play `app`. */
  accessOf(app: string): AppAccess;
  /** Keys accepted to publish `app/stream`; empty when publishing needs no key. */
  publishKeysOf(app: string, stream: string): readonly string[];
  /** True when some app (or the default) requires tokens, so a store is needed. */
  readonly needsTokens: boolean;
}

/** Options of {@link compileAccessPolicy}. */
export interface AccessPolicyOptions {
  /** `auth.enabled`: every app requires tokens, whatever its `access`. @default false */
  readonly tokensEverywhere?: boolean;
}

/**
 * Compiles `origin.apps` and `origin.defaultApp` into lookups.
 *
 * A stream listed with keys uses its own keys only; otherwise the app's keys apply; apps not
 * listed use the default's access and keys.
 *
 * @example
 * ```ts
 * import { compileAccessPolicy } from "./policy.ts";
 * import assert from "node:assert/strict";
 * const policy = compileAccessPolicy({
 *   apps: [{ name: "live", access: "token", publishKeys: ["a"], streams: [{ name: "cam", publishKeys: ["b"] }] }],
 *   defaultApp: { access: "open", publishKeys: [] },
 * });
 * assert.equal(policy.accessOf("live"), "token");
 * assert.equal(policy.accessOf("other"), "open");
 * assert.deepEqual(policy.publishKeysOf("live", "cam"), ["b"]);
 * assert.deepEqual(policy.publishKeysOf("live", "x"), ["a"]);
 * ```
 */
export function compileAccessPolicy(
  config: Pick<OriginConfig, "apps" | "defaultApp">,
  options: AccessPolicyOptions = {},
): AccessPolicy {
  const apps = new Map<string, OriginAppConfig>();
  for (const a of config.apps) apps.set(a.name, a);
  const streamKeys = new Map<string, readonly string[]>();
  for (const a of config.apps) {
    for (const s of a.streams) {
      if (s.publishKeys.length > 0) {
        streamKeys.set(`${a.name}/${s.name}`, s.publishKeys);
      }
    }
  }
  const everywhere = options.tokensEverywhere ?? false;
  const accessOf = (app: string): AppAccess =>
    everywhere ? "token" : apps.get(app)?.access ?? config.defaultApp.access;
  return {
    accessOf,
    publishKeysOf(app, stream) {
      return streamKeys.get(`${app}/${stream}`) ??
        (apps.has(app)
          ? apps.get(app)!.publishKeys
          : config.defaultApp.publishKeys);
    },
    needsTokens: everywhere || config.defaultApp.access === "token" ||
      config.apps.some((a) => a.access === "token"),
  };
}

/** Outcome of {@link checkPublishKey}. */
export type PublishKeyCheck = "ok" | "missing" | "wrong";

/**
 * Checks a presented `?key=` against the accepted keys, in time independent of where a wrong
 * key differs (every accepted key is compared).
 *
 * @example
 * ```ts
 * import { checkPublishKey } from "./policy.ts";
 * import assert from "node:assert/strict";
 * assert.equal(checkPublishKey([], undefined), "ok");
 * assert.equal(checkPublishKey(["k1"], undefined), "missing");
 * assert.equal(checkPublishKey(["k1", "k2"], "k2"), "ok");
 * assert.equal(checkPublishKey(["k1"], "k2"), "wrong");
 * ```
 */
export function checkPublishKey(
  accepted: readonly string[],
  presented: string | undefined,
): PublishKeyCheck {
  if (accepted.length === 0) return "ok";
  if (presented === undefined || presented === "") return "missing";
  let ok = false;
  for (const k of accepted) ok = constantTimeEqual(presented, k) || ok;
  return ok ? "ok" : "wrong";
}
