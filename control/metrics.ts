/**
 * The control role's series: tokens minted (by the token service or the admin API), revoked,
 * token-service requests refused by reason, admin API requests by route and status, lockouts.
 * (Token uses are spent where viewers arrive: `meridian_origin_token_spends_total`,
 * `meridian_edge_token_spends_total`.)
 *
 * @module
 */

import type {
  CounterChild,
  CounterFamily,
  MetricsRegistry,
} from "../metrics/mod.ts";

/** Why the token service refused a request. */
export type TokenRefusal = "wrong_password" | "locked_out" | "bad_request";

/** The admin API's routes as `/metrics` names them (anything else is `other`). */
const ADMIN_ROUTES: readonly [RegExp, string][] = [
  [/^\/admin\/tokens$/, "/admin/tokens"],
  [/^\/admin\/tokens\/[^/]+$/, "/admin/tokens/:token"],
  [/^\/admin\/purge$/, "/admin/purge"],
  [/^\/admin\/prefetch$/, "/admin/prefetch"],
  [/^\/admin\/edges$/, "/admin/edges"],
  [/^\/admin\/edges\/[^/]+\/drain$/, "/admin/edges/:id/drain"],
  [/^\/admin\/streams$/, "/admin/streams"],
  [/^\/admin\/config$/, "/admin/config"],
];

/**
 * The route label of an admin request path: the route's pattern, never the token or edge id
 * in it.
 *
 * @example
 * ```ts
 * import { adminRouteOf } from "./metrics.ts";
 * if (adminRouteOf("/admin/tokens/AbCd1234AbCd1234") !== "/admin/tokens/:token") throw new Error();
 * if (adminRouteOf("/admin/../etc") !== "other") throw new Error();
 * ```
 */
export function adminRouteOf(path: string): string {
  for (const [re, route] of ADMIN_ROUTES) if (re.test(path)) return route;
  return "other";
}

/**
 * The control role's counters.
 *
 * @example
 * ```ts
 * import { MetricsRegistry } from "../metrics/mod.ts";
 * import { ControlMetrics } from "./metrics.ts";
 * const m = new MetricsRegistry();
 * new ControlMetrics(m).minted("admin");
 * if (!m.render().includes('meridian_control_tokens_minted_total{via="admin"} 1')) throw new Error();
 * ```
 */
export class ControlMetrics {
  readonly #minted: Record<"gettoken" | "admin", CounterChild>;
  readonly #revoked: CounterChild;
  readonly #refused: CounterFamily;
  readonly #admin: CounterFamily;

  constructor(registry: MetricsRegistry) {
    const minted = registry.counter(
      "meridian_control_tokens_minted_total",
      "Tokens minted, by way (gettoken: the token service; admin: POST /admin/tokens)",
      { labelNames: ["via"] },
    );
    this.#minted = {
      gettoken: minted.labels("gettoken"),
      admin: minted.labels("admin"),
    };
    this.#revoked = registry.counter(
      "meridian_control_tokens_revoked_total",
      "Tokens revoked through the admin API",
    ).labels();
    this.#refused = registry.counter(
      "meridian_control_token_refusals_total",
      "Token service requests refused, by reason (wrong_password, locked_out, bad_request)",
      { labelNames: ["reason"] },
    );
    this.#admin = registry.counter(
      "meridian_control_admin_requests_total",
      "Admin API requests by route and status (401: no or a wrong admin token)",
      { labelNames: ["route", "status"] },
    );
  }

  minted(via: "gettoken" | "admin"): void {
    this.#minted[via].inc();
  }

  revoked(): void {
    this.#revoked.inc();
  }

  refused(reason: TokenRefusal): void {
    this.#refused.labels(reason).inc();
  }

  /** One answered admin request. */
  admin(path: string, status: number): void {
    this.#admin.labels(adminRouteOf(path), status).inc();
  }
}
