/**
 * The `OriginSelector` interface: which origin serves the next upstream request.
 *
 * Selection is kept apart from health monitoring (gdnsd's split): a selector reads an
 * {@link OriginHealthView} and never probes anything itself.
 *
 * @module
 */

import type { EdgeOriginConfig } from "../../config/edge_schema.ts";

/** One configured origin. */
export interface Origin {
  /** Stable id: the normalised base URL. */
  readonly id: string;
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:8090`. */
  readonly url: string;
  readonly weight: number;
  readonly region: string;
}

/** What a selector may know about health. */
export interface OriginHealthView {
  /** False once an origin is marked down (active checks or passive errors). */
  isUp(id: string): boolean;
  /** 0..1 multiplier of the weight: below 1 during slow start after a recovery. */
  weightFactor(id: string): number;
}

/** Picks an origin per upstream request. */
export interface OriginSelector {
  readonly name: string;
  readonly origins: readonly Origin[];
  /**
   * The next origin, never one in `exclude`. Healthy origins are preferred; when none is up the
   * selector fails open and picks among the down ones (a flapping health check must not take
   * the whole edge down). Undefined only when every origin is excluded.
   */
  select(exclude?: ReadonlySet<string>): Origin | undefined;
}

/**
 * Normalises the configured origins (trailing slash removed; id = URL).
 *
 * @example
 * ```ts
 * import { parseOrigins } from "./select.ts";
 * const [o] = parseOrigins([{ url: "http://127.0.0.1:8090/", weight: 2, region: "" }]);
 * if (o!.url !== "http://127.0.0.1:8090") throw new Error(o!.url);
 * ```
 */
export function parseOrigins(
  config: readonly EdgeOriginConfig[],
): Origin[] {
  const seen = new Set<string>();
  const out: Origin[] = [];
  for (const o of config) {
    const url = new URL(o.url).origin;
    if (seen.has(url)) continue;
    seen.add(url);
    out.push({ id: url, url, weight: o.weight, region: o.region });
  }
  return out;
}
