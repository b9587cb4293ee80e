/**
 * The admin API's one gate: `Authorization: Bearer {admin token}` (RFC 6750 §2.1), compared in
 * constant time, with the same per-client lockout as the token service.
 *
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import type { Logger } from "../../log/mod.ts";
import { clientAddress, textError } from "./respond.ts";
import { FailureLockout, type LockoutOptions } from "./lockout.ts";
import { constantTimeEqual } from "../../access/mod.ts";

/** The `realm` of our challenges (RFC 7235 §2.2). */
export const ADMIN_REALM = "meridian";
// RFC 7235 §2.1: the auth scheme is case-insensitive.
const BEARER_RE = /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i;

/** What the gate needs. */
export interface BearerAuthOptions {
  readonly adminToken: string;
  readonly lockout: FailureLockout;
  readonly log: Logger;
}

/**
 * Creates the bearer middleware. Without credentials: 401 with a bare challenge; with wrong
 * ones: 401 with `error="invalid_token"` (RFC 6750 §3) and a failure counted; locked out: 429
 * for anything but the right token, which always passes.
 */
export function createBearerAuth(
  options: BearerAuthOptions,
): MiddlewareHandler {
  const { adminToken, lockout, log } = options;
  const locked = (c: Context, retryAfter: number) =>
    textError(
      c,
      429,
      `Too many wrong admin tokens: retry in ${retryAfter} seconds`,
      { "Retry-After": String(retryAfter) },
    );
  return async (c, next) => {
    const client = clientAddress(c);
    const header = c.req.header("Authorization");
    if (header === undefined || header === "") {
      const retryAfter = lockout.retryAfterSeconds(client);
      if (retryAfter > 0) return locked(c, retryAfter);
      return textError(c, 401, "Unauthorized: bearer token required", {
        "WWW-Authenticate": `Bearer realm="${ADMIN_REALM}"`,
      });
    }
    const presented = BEARER_RE.exec(header)?.[1] ?? "";
    // The right token passes even from a locked-out address (see lockout.ts).
    const verdict = lockout.judge(
      client,
      constantTimeEqual(presented, adminToken),
    );
    if (verdict.kind === "pass") return await next();
    if (verdict.kind === "locked") return locked(c, verdict.retryAfterSeconds);
    if (verdict.lockedNow) {
      log.warn("client locked out after wrong admin tokens", { client });
    }
    return textError(c, 401, "Unauthorized: wrong bearer token", {
      "WWW-Authenticate":
        `Bearer realm="${ADMIN_REALM}", error="invalid_token"`,
    });
  };
}

/** Lockout of admin ports that have no `control.lockout` of their own (edge, scheduler). */
export const DEFAULT_ADMIN_LOCKOUT: LockoutOptions = {
  maxFailures: 5,
  windowSeconds: 60,
  lockSeconds: 300,
};

/**
 * The admin gate of any role's port: 403 when no admin token is configured (the API is off),
 * else {@link createBearerAuth} with its own per-client lockout. Edge and scheduler use this
 * so every admin API of Meridian answers alike.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { createAdminGate } from "./admin_gate.ts";
 * import { silentLogger } from "../../log/mod.ts";
 * const app = new Hono();
 * app.use("/admin/*", createAdminGate("a-long-admin-token-1", { log: silentLogger }));
 * app.get("/admin/x", (c) => c.text("ok"));
 * const res = await app.request("/admin/x", { headers: { Authorization: "Bearer a-long-admin-token-1" } });
 * if (res.status !== 200) throw new Error(`got ${res.status}`);
 * ```
 */
export function createAdminGate(
  adminToken: string,
  deps: { readonly log: Logger; readonly lockout?: FailureLockout },
): MiddlewareHandler {
  if (adminToken === "") {
    return (c) =>
      Promise.resolve(
        textError(c, 403, "Admin API disabled: no admin token configured"),
      );
  }
  return createBearerAuth({
    adminToken,
    lockout: deps.lockout ?? new FailureLockout(DEFAULT_ADMIN_LOCKOUT),
    log: deps.log,
  });
}
