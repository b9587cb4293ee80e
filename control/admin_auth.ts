/**
 * The admin API's one gate: `Authorization: Bearer {admin token}` (RFC 6750 §2.1), compared in
 * constant time, with the same per-client lockout as the token service.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import type { Logger } from "../log/mod.ts";
import { clientAddress, textError } from "./_http.ts";
import type { FailureLockout } from "./lockout.ts";
import { constantTimeEqual } from "./tokens/mod.ts";

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
 * ones: 401 with `error="invalid_token"` (RFC 6750 §3) and a failure counted; locked out: 429.
 */
export function createBearerAuth(
  options: BearerAuthOptions,
): MiddlewareHandler {
  const { adminToken, lockout, log } = options;
  return async (c, next) => {
    const client = clientAddress(c);
    const retryAfter = lockout.retryAfterSeconds(client);
    if (retryAfter > 0) {
      return textError(
        c,
        429,
        `Too many wrong admin tokens: retry in ${retryAfter} seconds`,
        { "Retry-After": String(retryAfter) },
      );
    }
    const header = c.req.header("Authorization");
    if (header === undefined || header === "") {
      return textError(c, 401, "Unauthorized: bearer token required", {
        "WWW-Authenticate": `Bearer realm="${ADMIN_REALM}"`,
      });
    }
    const presented = BEARER_RE.exec(header)?.[1] ?? "";
    if (!constantTimeEqual(presented, adminToken)) {
      if (lockout.recordFailure(client)) {
        log.warn("client locked out after wrong admin tokens", { client });
      }
      return textError(c, 401, "Unauthorized: wrong bearer token", {
        "WWW-Authenticate":
          `Bearer realm="${ADMIN_REALM}", error="invalid_token"`,
      });
    }
    lockout.recordSuccess(client);
    await next();
  };
}
