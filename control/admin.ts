/**
 * Admin API routes of the control port (mounted below `/admin`, behind the bearer gate):
 * `GET /admin/tokens`, `DELETE /admin/tokens/{token}`, and the place of `GET /admin/streams`.
 *
 * @module
 */

import { Hono } from "hono";
import type { Logger } from "../log/mod.ts";
import type { SharedStore, TokenState } from "../store/mod.ts";
import { clientAddress, NO_STORE, textError } from "./_http.ts";
import { isTokenFormat } from "./tokens/mod.ts";

/** A token as the admin API shows it. The admin sees token values: they are theirs to manage. */
export interface AdminTokenView {
  /** The token value. */
  readonly token: string;
  /** `null`: every app. */
  readonly app: string | null;
  /** ISO 8601. */
  readonly createdAt: string;
  /** ISO 8601; the token stops working at this instant. */
  readonly expiresAt: string;
  /** 0: unlimited. */
  readonly maxUses: number;
  /** Uses spent so far. */
  readonly usesSpent: number;
  /** `null` for unlimited tokens. */
  readonly usesLeft: number | null;
  /** `expired` wins over `used_up` when both hold. */
  readonly state: "active" | "expired" | "used_up";
}

/** What the admin routes need. */
export interface AdminDeps {
  readonly store: SharedStore;
  readonly log: Logger;
  /** Unix ms. */
  readonly clock: () => number;
}

/** Shapes a stored token for the admin API at time `nowMs`. */
export function toAdminView(s: TokenState, nowMs: number): AdminTokenView {
  const usesLeft = s.maxUses === 0
    ? null
    : Math.max(0, s.maxUses - s.usesSpent);
  return {
    token: s.token,
    app: s.app,
    createdAt: new Date(s.createdAtMs).toISOString(),
    expiresAt: new Date(s.expiresAtMs).toISOString(),
    maxUses: s.maxUses,
    usesSpent: s.usesSpent,
    usesLeft,
    state: nowMs >= s.expiresAtMs
      ? "expired"
      : usesLeft === 0
      ? "used_up"
      : "active",
  };
}

/** Creates the admin routes, relative to `/admin`. Authentication is the caller's gate. */
export function createAdminApp(deps: AdminDeps): Hono {
  const { store, log, clock } = deps;
  const app = new Hono();

  app.get("/tokens", async (c) => {
    const now = clock();
    const tokens = (await store.listTokens())
      .sort((a, b) => a.createdAtMs - b.createdAtMs)
      .map((t) => toAdminView(t, now));
    return c.json({ tokens }, 200, NO_STORE);
  });

  app.delete("/tokens/:token", async (c) => {
    const token = c.req.param("token");
    // Not token-shaped: cannot be one of ours, and needs no store round trip.
    if (!isTokenFormat(token) || !await store.revokeToken(token, clock())) {
      return textError(c, 404, "Token not found");
    }
    log.info("token revoked", { client: clientAddress(c) });
    return c.body(null, 204);
  });

  // TODO(access-control): serve GET /admin/streams from the origin's stream registry once the
  // control role has a source of live streams (a StreamDirectory dep, or the store's registry).
  app.get(
    "/streams",
    (c) => textError(c, 501, "Not implemented yet: GET /admin/streams"),
  );

  return app;
}
