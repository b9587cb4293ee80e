/**
 * Which streams the archive keeps and records, from the config: an app's `dvr`/`record` (the
 * listed app's, else `origin.defaultApp`'s), replaced by a stream's own when it has one.
 * Resolved once per publish, never per segment.
 *
 * @module
 */

import {
  DEFAULTS,
  type DvrAppConfig,
  LIST_ITEMS,
  type OriginAppConfig,
  type OriginConfig,
  type RecordAppConfig,
  type RecordFormat,
} from "../../config/mod.ts";

/** What a listed app without `dvr`/`record` has (the config's list item defaults). */
const LISTED = LIST_ITEMS["origin.apps[]"]!.template as {
  dvr: DvrAppConfig;
  record: RecordAppConfig;
};

/** A stream's time-shift as it applies. */
export interface DvrPolicy {
  readonly windowMs: number;
  /** The app's own cap (0 = only the overall one). */
  readonly appMaxBytes: number;
}

/** A stream's recording as it applies. */
export interface RecordPolicy {
  readonly formats: readonly RecordFormat[];
}

/** The per-app sections of the config. */
export type ArchivePolicyConfig = Pick<OriginConfig, "apps" | "defaultApp">;

/**
 * Resolves the archive's rules of a stream.
 *
 * @example
 * ```ts
 * import { ArchivePolicies } from "./policy.ts";
 * import { DEFAULTS } from "../../config/mod.ts";
 * import assert from "node:assert/strict";
 * const p = new ArchivePolicies(DEFAULTS.origin);
 * assert.equal(p.dvr("live", "cam")?.windowMs, 600_000); // the default app keeps 10 minutes
 * assert.equal(p.record("live", "cam"), undefined);
 * ```
 */
export class ArchivePolicies {
  readonly #apps: ReadonlyMap<string, OriginAppConfig>;
  readonly #default: ArchivePolicyConfig["defaultApp"];

  constructor(config: ArchivePolicyConfig) {
    this.#apps = new Map(config.apps.map((a) => [a.name, a]));
    this.#default = config.defaultApp;
  }

  /** The app's DVR section. */
  appDvr(app: string): DvrAppConfig {
    const a = this.#apps.get(app);
    return a
      ? a.dvr ?? LISTED.dvr
      : this.#default.dvr ?? DEFAULTS.origin.defaultApp.dvr!;
  }

  #appRecord(app: string): RecordAppConfig {
    const a = this.#apps.get(app);
    return a
      ? a.record ?? LISTED.record
      : this.#default.record ?? DEFAULTS.origin.defaultApp.record!;
  }

  /** Whether any app (listed or default) keeps a DVR. */
  get anyDvr(): boolean {
    return (this.#default.dvr ?? DEFAULTS.origin.defaultApp.dvr!).enabled ||
      [...this.#apps.values()].some((a) =>
        this.appDvr(a.name).enabled || a.streams.some((s) => s.dvr?.enabled)
      );
  }

  /** The stream's time-shift, or `undefined` when it has none. */
  dvr(app: string, stream: string): DvrPolicy | undefined {
    const a = this.#apps.get(app);
    const own = a?.streams.find((s) => s.name === stream)?.dvr;
    const appDvr = this.appDvr(app);
    const enabled = own ? own.enabled : appDvr.enabled;
    if (!enabled) return undefined;
    return {
      windowMs: (own?.windowSeconds ?? appDvr.windowSeconds) * 1000,
      appMaxBytes: appDvr.maxBytes,
    };
  }

  /** The stream's automatic recording, or `undefined` when it records only on demand. */
  record(app: string, stream: string): RecordPolicy | undefined {
    const a = this.#apps.get(app);
    const own = a?.streams.find((s) => s.name === stream)?.record;
    const r = own ?? this.#appRecord(app);
    return r.enabled ? { formats: r.formats } : undefined;
  }

  /** The formats an on-demand recording of the stream uses. */
  recordFormats(app: string, stream: string): readonly RecordFormat[] {
    const a = this.#apps.get(app);
    const own = a?.streams.find((s) => s.name === stream)?.record;
    return (own ?? this.#appRecord(app)).formats;
  }
}
