/**
 * Bearer-token guard of `/admin/*` with a constant-time comparison.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";

const encoder = new TextEncoder();

/**
 * Compares two strings in time independent of where they differ. Both sides are hashed first so
 * that the length of the secret does not leak either.
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
 * Hono middleware: 403 when the admin API is disabled (empty token), 401 without a matching
 * `Authorization: Bearer <token>`.
 *
 * @param token The admin token; "" disables the admin API.
 */
export function adminAuth(token: string): MiddlewareHandler {
  return async (c, next) => {
    if (token === "") {
      return c.json(
        { error: "Admin API disabled: no edge.adminToken set" },
        403,
      );
    }
    const header = c.req.header("authorization") ?? "";
    const m = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (!m || !(await timingSafeEqualStrings(m[1]!, token))) {
      return c.json({ error: "Unauthorized" }, 401, {
        "WWW-Authenticate": 'Bearer realm="meridian-admin"',
      });
    }
    await next();
  };
}
