/**
 * Enforcement: what origin and edge call before serving a media URL with `?token=`.
 *
 * `checkAccess` spends one token use (atomically, in the shared store) and opens a playback
 * session; the session's later requests carry a signed credential checked by `checkSession`
 * with no store round trip: HMAC verify plus the in-memory revocation cache.
 *
 * @module
 */

import type { MeridianConfig } from "../config/mod.ts";
import type { SharedStore, SpendRefusal } from "../store/mod.ts";
import { generateToken, isTokenFormat } from "./secret.ts";
import {
  importSessionKey,
  type SessionClaims,
  type SessionKey,
  type SessionRefusal,
  verifySession,
} from "./session.ts";

/** A media request as access control sees it. */
export interface AccessRequest {
  /** The `?token=` value, if any. Untrusted. */
  readonly token: string | undefined;
  /** The app of the requested URL (`live` in `/live/demo.flv`). */
  readonly app: string;
  /** Unix time in ms. */
  readonly now: number;
}

/** Why access was refused: a store refusal, or a token absent or not token-shaped. */
export type AccessRefusal = SpendRefusal | "missing" | "malformed";

/** What a viewer is told for each refusal (origin and edge answer alike; never the token). */
export const TOKEN_TEXT: Readonly<Record<AccessRefusal, string>> = {
  missing: "Access token required",
  malformed: "Access token invalid",
  unknown: "Access token invalid",
  revoked: "Access token revoked",
  expired: "Access token expired",
  "used_up": "Access token has no uses left",
  "wrong_app": "Access token not valid for this app",
};

/** Outcome of {@link checkAccess}. */
export type AccessResult =
  | {
    readonly ok: true;
    /** The app the token is scoped to, or `null` for every app. */
    readonly scope: string | null;
    /** Unix ms at which the token stops working. */
    readonly expiresAtMs: number;
    /** Uses left after this one; `null` for an unlimited token. */
    readonly usesLeft: number | null;
  }
  | { readonly ok: false; readonly reason: AccessRefusal };

/**
 * Checks a token for a media request and spends one use of it.
 *
 * Refuses without a store round trip when the token is absent, malformed or known revoked;
 * otherwise the store decides atomically (two nodes racing for the last use: one wins).
 *
 * @throws {StoreError} When the store fails; callers should answer 503, not 403.
 * @example
 * ```ts
 * import { checkAccess } from "./access.ts";
 * import { KvStore } from "../store/mod.ts";
 * const dir = await Deno.makeTempDir();
 * const store = await KvStore.open(`${dir}/m.kv`);
 * await store.createToken({ token: "AbCdEfGh12345678", app: "live", createdAtMs: 0, expiresAtMs: 10_000, maxUses: 0 });
 * const ok = await checkAccess(store, { token: "AbCdEfGh12345678", app: "live", now: 5_000 });
 * const other = await checkAccess(store, { token: "AbCdEfGh12345678", app: "vod", now: 5_000 });
 * await store.close();
 * await Deno.remove(dir, { recursive: true });
 * if (!ok.ok || other.ok || other.reason !== "wrong_app") throw new Error("scoping");
 * ```
 */
export async function checkAccess(
  store: SharedStore,
  request: AccessRequest,
): Promise<AccessResult> {
  const { token } = request;
  if (token === undefined || token === "") {
    return { ok: false, reason: "missing" };
  }
  if (!isTokenFormat(token)) return { ok: false, reason: "malformed" };
  if (store.isRevoked(token)) return { ok: false, reason: "revoked" };
  const r = await store.spendTokenUse(token, request.now, request.app);
  if (!r.ok) return r;
  const s = r.state;
  return {
    ok: true,
    scope: s.app,
    expiresAtMs: s.expiresAtMs,
    usesLeft: s.maxUses === 0 ? null : s.maxUses - s.usesSpent,
  };
}

/**
 * When a session opened now should end: the token's expiry or `sessionSeconds` from now,
 * whichever comes first (a session never outlives its token).
 */
export function sessionExpiresAt(
  access: { readonly expiresAtMs: number },
  nowMs: number,
  sessionSeconds: number,
): number {
  return Math.min(access.expiresAtMs, nowMs + sessionSeconds * 1000);
}

/** Outcome of {@link checkSession}. */
export type SessionCheck =
  | { readonly ok: true; readonly claims: SessionClaims }
  | { readonly ok: false; readonly reason: SessionRefusal | "revoked" };

/**
 * Checks a session credential on the hot path: signature, expiry, path, then the in-memory
 * revocation cache for its subject. No store round trip.
 */
export async function checkSession(
  store: Pick<SharedStore, "isRevoked">,
  credential: string,
  key: SessionKey,
  request: { readonly path: string; readonly nowMs: number },
): Promise<SessionCheck> {
  const r = await verifySession(credential, key, request);
  if (!r.ok) return r;
  if (r.claims.subject !== undefined && store.isRevoked(r.claims.subject)) {
    return { ok: false, reason: "revoked" };
  }
  return r;
}

/** Store name of the generated session secret. */
export const SESSION_SECRET_NAME = "session";
/** Length of a generated session secret (about 256 bits over [A-Za-z0-9]). */
const GENERATED_SESSION_SECRET_LENGTH = 43;

/**
 * The session key every node agrees on: `auth.sessionSecret` when set, else one generated once
 * and kept in the shared store.
 *
 * @throws {TokenError} `TOKEN_WEAK_SECRET` when the configured secret is too short (the message
 *   gives its length, never its value).
 */
export async function loadSessionKey(
  auth: Pick<MeridianConfig["auth"], "sessionSecret">,
  store: Pick<SharedStore, "ensureSecret">,
): Promise<SessionKey> {
  const secret = auth.sessionSecret !== ""
    ? auth.sessionSecret
    : await store.ensureSecret(
      SESSION_SECRET_NAME,
      () => generateToken(GENERATED_SESSION_SECRET_LENGTH),
    );
  return await importSessionKey(secret);
}
