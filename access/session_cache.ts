/**
 * Session credentials checked on the media hot path (origin and edge alike): one HMAC verify the
 * first time a credential is seen, then a map lookup plus expiry, path and the in-memory
 * revocation check — no store round trip.
 *
 * @module
 */

import {
  type SessionClaims,
  type SessionKey,
  verifySession,
} from "./session.ts";

/** Verified credentials remembered at once (oldest forgotten first: bounded memory). */
export const MAX_CACHED_CREDENTIALS = 10_000;

/** Why a credential was refused. */
export type CredentialRefusal =
  | "expired_credential"
  | "bad_credential"
  | "revoked";

/** Texts for refusals, shared so origin and edge answer alike (never echoing the credential). */
export const CREDENTIAL_TEXT: Readonly<Record<CredentialRefusal, string>> = {
  "expired_credential": "Session credential expired",
  "bad_credential": "Session credential invalid",
  revoked: "Access token revoked",
};

/**
 * A cache of verified session credentials.
 *
 * @example
 * ```ts
 * import { importSessionKey, signSession } from "./session.ts";
 * import { SessionCache } from "./session_cache.ts";
 * const key = await importSessionKey("0123456789abcdef0123456789abcdef");
 * const cred = await signSession({ pathPrefix: "/live/t/", expiresAtMs: Date.now() + 60_000 }, key);
 * const cache = new SessionCache(key, () => false);
 * const v = await cache.check(cred, "/live/t/1.ts");
 * if (!v.ok) throw new Error(v.reason);
 * ```
 */
export class SessionCache {
  readonly #key: SessionKey;
  readonly #isRevoked: (subject: string) => boolean;
  readonly #now: () => number;
  readonly #verified = new Map<string, SessionClaims>();

  /**
   * @param key The shared session key.
   * @param isRevoked In-memory revocation check of the token behind a credential.
   * @param now Unix ms.
   */
  constructor(
    key: SessionKey,
    isRevoked: (subject: string) => boolean,
    now: () => number = Date.now,
  ) {
    this.#key = key;
    this.#isRevoked = isRevoked;
    this.#now = now;
  }

  /** Checks `credential` for a request of `path`. */
  async check(
    credential: string,
    path: string,
  ): Promise<
    { readonly ok: true } | {
      readonly ok: false;
      readonly reason: CredentialRefusal;
    }
  > {
    const now = this.#now();
    let claims = this.#verified.get(credential);
    if (claims === undefined) {
      const r = await verifySession(credential, this.#key, {
        path,
        nowMs: now,
      });
      if (!r.ok) {
        return {
          ok: false,
          reason: r.reason === "expired"
            ? "expired_credential"
            : "bad_credential",
        };
      }
      claims = r.claims;
      if (this.#verified.size >= MAX_CACHED_CREDENTIALS) {
        this.#verified.delete(this.#verified.keys().next().value!);
      }
      this.#verified.set(credential, claims);
    }
    if (now >= claims.expiresAtMs) {
      this.#verified.delete(credential);
      return { ok: false, reason: "expired_credential" };
    }
    if (!path.startsWith(claims.pathPrefix)) {
      return { ok: false, reason: "bad_credential" };
    }
    if (claims.subject !== undefined && this.#isRevoked(claims.subject)) {
      return { ok: false, reason: "revoked" };
    }
    return { ok: true };
  }
}
