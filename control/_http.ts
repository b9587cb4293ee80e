/**
 * Small HTTP helpers shared by the control routes (module-private).
 *
 * @module
 */

import type { Context } from "hono";

/** Connection info Deno.serve hands to `app.fetch` as Hono's `env`. */
export interface ConnInfoEnv {
  readonly remoteAddr?: { readonly hostname?: string };
}

/**
 * The client's address, from the socket: `X-Forwarded-For` is not trusted, since any client can
 * set it (a trusted-proxy list can come later).
 */
export function clientAddress(c: Context): string {
  const env = c.env as ConnInfoEnv | undefined;
  return env?.remoteAddr?.hostname ?? "unknown";
}

/** Headers of every answer that carries a secret or depends on one. */
export const NO_STORE = { "Cache-Control": "no-store" } as const;

/** A plain-text error answer (no secrets, ever). */
export function textError(
  c: Context,
  status: 400 | 401 | 403 | 404 | 429 | 500 | 501 | 503,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return c.body(message, status, {
    ...NO_STORE,
    "Content-Type": "text/plain; charset=utf-8",
    ...headers,
  });
}
