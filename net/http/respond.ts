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
  status: 400 | 401 | 403 | 404 | 413 | 415 | 429 | 500 | 501 | 503,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return c.body(message, status, {
    ...NO_STORE,
    "Content-Type": "text/plain; charset=utf-8",
    ...headers,
  });
}

/** Largest admin request body read (bytes): a purge of 10 000 paths fits. */
export const MAX_ADMIN_BODY_BYTES = 1024 * 1024;

/** A parsed JSON body, or the error answer to send instead. */
export type JsonBody =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly response: Response };

/**
 * Reads a JSON request body of at most `maxBytes` (413 past it, without reading the rest; 400
 * when it is not JSON).
 */
export async function readJsonBody(
  c: Context,
  maxBytes: number = MAX_ADMIN_BODY_BYTES,
): Promise<JsonBody> {
  const tooLarge = () => ({
    ok: false as const,
    response: textError(
      c,
      413,
      `Request body too large: expected at most ${maxBytes} bytes`,
    ),
  });
  const declared = Number(c.req.header("Content-Length") ?? "0");
  if (declared > maxBytes) return tooLarge();
  const body = c.req.raw.body;
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (body) {
    const reader = body.getReader();
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        return tooLarge();
      }
      chunks.push(value);
    }
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const ch of chunks) {
    bytes.set(ch, at);
    at += ch.byteLength;
  }
  try {
    return {
      ok: true,
      value: JSON.parse(
        new TextDecoder("utf-8", { fatal: true }).decode(bytes),
      ),
    };
  } catch {
    return {
      ok: false,
      response: textError(c, 400, "Invalid request body: expected JSON"),
    };
  }
}
