/**
 * Bearer-token guard of the scheduler's admin endpoints, compared in constant time.
 *
 * The edge has the same guard (`edge/middleware/admin_auth.ts`); roles do not import each
 * other's internals, so the scheduler keeps its own few lines.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";

const encoder = new TextEncoder();

/**
 * Compares two strings in time independent of where they differ; both are hashed first so the
 * secret's length does not leak either.
 *
 * @example
 * ```ts
 * import { timingSafeEqualStrings } from "./admin_auth.ts";
 * if (!(await timingSafeEqualStrings("abc", "abc"))) throw new Error("equal");
 * if (await timingSafeEqualStrings("abc", "abd")) throw new Error("different");
 * ```
 */
export async function timingSafeEqualStrings(
  a: string,
  b: string,
): Promise<boolean> {
  const [ha, hb] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(a)),
    crypto.subtle.digest("SHA-256", encoder.encode(b)),
  ]);
  const x = new Uint8Array(ha);
  const y = new Uint8Array(hb);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ y[i]!;
  return diff === 0;
}

/**
 * Hono middleware: 403 when no admin token is configured, 401 without a matching
 * `Authorization: Bearer <token>` (RFC 6750 §3 challenge).
 *
 * @param token `scheduler.adminToken`; "" disables the admin endpoints.
 */
export function schedulerAdminAuth(token: string): MiddlewareHandler {
  return async (c, next) => {
    if (token === "") {
      return c.json(
        { error: "Admin API disabled: no scheduler.adminToken set" },
        403,
      );
    }
    const m = /^Bearer\s+(.+)$/i.exec(
      (c.req.header("authorization") ?? "").trim(),
    );
    if (!m || !(await timingSafeEqualStrings(m[1]!, token))) {
      return c.json({ error: "Unauthorized" }, 401, {
        "WWW-Authenticate": 'Bearer realm="meridian-scheduler"',
      });
    }
    await next();
  };
}
