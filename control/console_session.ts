/**
 * Console sign-in sessions: after the admin token or an operator's password, the browser holds
 * a session cookie (`HttpOnly`: no script reads it; `SameSite=Strict`: no other site's page
 * sends it, RFC 6265bis §5.4.7; `Secure` under TLS; `Max-Age`: it expires) and the console
 * sends, with every request that changes something, a CSRF token it got at sign-in
 * (`X-CSRF-Token`, the "synchronizer token" of the OWASP CSRF cheat sheet; a cross-site page
 * can neither read it nor set a custom header without a CORS preflight we never answer).
 *
 * The cookie is signed, not looked up: `base64url(JSON {n, r, i, e}) . base64url(HMAC)` under
 * a key every control node sharing the store agrees on (`store.ensureSecret`), so any node
 * checks any session without a store round trip. The CSRF token is an HMAC of the session id
 * under the same key. Sign-out revokes the session id in this process until it would expire.
 *
 * @module
 */

import { b64url, constantTimeEqual, generateToken } from "../access/mod.ts";
import type { SharedStore } from "../store/mod.ts";
import type { OperatorRole } from "./operators.ts";

/** The cookie's name. */
export const SESSION_COOKIE = "meridian_session";
/** The request header that carries the CSRF token. */
export const CSRF_HEADER = "X-CSRF-Token";
/** Name of the store secret the sessions are signed with. */
export const SESSION_KEY_SECRET = "console-session-key";
/** Signed-out sessions remembered at once (beyond, the oldest is forgotten). */
export const MAX_REVOKED_SESSIONS = 10_000;
/** Longest cookie value read (characters). */
const MAX_COOKIE_CHARS = 1024;

/** Who is signed in. */
export interface ConsoleSession {
  /** Operator name; `admin` for the admin token. */
  readonly name: string;
  readonly role: OperatorRole;
  /** Random id of this sign-in. */
  readonly id: string;
  /** Unix ms. */
  readonly expiresAtMs: number;
}

const encoder = new TextEncoder();

function fromB64url(text: string): string {
  const s = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}

/** Options of {@link ConsoleSessions}. */
export interface ConsoleSessionOptions {
  /** Where the signing key is shared. */
  readonly store: SharedStore;
  /** How long a sign-in lasts. */
  readonly sessionSeconds: number;
  /** Unix ms. @default Date.now */
  readonly clock?: () => number;
}

/** Issues and checks console sessions. */
export class ConsoleSessions {
  readonly #o: ConsoleSessionOptions;
  readonly #clock: () => number;
  /** Revoked session id → its expiry (Unix ms). */
  readonly #revoked = new Map<string, number>();
  #key: Promise<CryptoKey> | undefined;

  constructor(options: ConsoleSessionOptions) {
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
  }

  /** Seconds a session lasts (the cookie's `Max-Age`). */
  get sessionSeconds(): number {
    return this.#o.sessionSeconds;
  }

  #hmacKey(): Promise<CryptoKey> {
    this.#key ??= this.#o.store.ensureSecret(
      SESSION_KEY_SECRET,
      () => generateToken(43),
    ).then((secret) =>
      crypto.subtle.importKey(
        "raw",
        encoder.encode(secret),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      )
    ).catch((e) => {
      this.#key = undefined; // a store outage: try again next time
      throw e;
    });
    return this.#key;
  }

  async #mac(text: string): Promise<string> {
    return b64url(
      new Uint8Array(
        await crypto.subtle.sign(
          "HMAC",
          await this.#hmacKey(),
          encoder.encode(text),
        ),
      ),
    );
  }

  /** A new session: the cookie value, the session and its CSRF token. */
  async issue(
    name: string,
    role: OperatorRole,
  ): Promise<{ cookie: string; session: ConsoleSession; csrf: string }> {
    const session: ConsoleSession = {
      name,
      role,
      id: generateToken(22),
      expiresAtMs: this.#clock() + this.#o.sessionSeconds * 1000,
    };
    const payload = b64url(
      encoder.encode(
        JSON.stringify({
          n: session.name,
          r: session.role,
          i: session.id,
          e: session.expiresAtMs,
        }),
      ),
    );
    return {
      cookie: `${payload}.${await this.#mac(`session\0${payload}`)}`,
      session,
      csrf: await this.csrfOf(session),
    };
  }

  /** The session a cookie value names, when its signature holds and it has not expired. */
  async read(cookie: string | undefined): Promise<ConsoleSession | undefined> {
    if (!cookie || cookie.length > MAX_COOKIE_CHARS) return undefined;
    const dot = cookie.indexOf(".");
    if (dot <= 0) return undefined;
    const payload = cookie.slice(0, dot);
    const mac = cookie.slice(dot + 1);
    if (!constantTimeEqual(mac, await this.#mac(`session\0${payload}`))) {
      return undefined;
    }
    let v: { n?: unknown; r?: unknown; i?: unknown; e?: unknown };
    try {
      v = JSON.parse(fromB64url(payload));
    } catch {
      return undefined;
    }
    if (
      typeof v.n !== "string" || (v.r !== "admin" && v.r !== "viewer") ||
      typeof v.i !== "string" || typeof v.e !== "number"
    ) return undefined;
    const now = this.#clock();
    if (now >= v.e || this.#revoked.has(v.i)) return undefined;
    return { name: v.n, role: v.r, id: v.i, expiresAtMs: v.e };
  }

  /** The CSRF token of a session. */
  csrfOf(session: ConsoleSession): Promise<string> {
    return this.#mac(`csrf\0${session.id}`);
  }

  /** True when `presented` is the session's CSRF token. */
  async checkCsrf(
    session: ConsoleSession,
    presented: string | undefined,
  ): Promise<boolean> {
    return presented !== undefined &&
      constantTimeEqual(presented, await this.csrfOf(session));
  }

  /** Signs a session out (in this process, until it would have expired). */
  revoke(session: ConsoleSession): void {
    const now = this.#clock();
    for (const [id, exp] of this.#revoked) {
      if (exp <= now) this.#revoked.delete(id);
    }
    if (this.#revoked.size >= MAX_REVOKED_SESSIONS) {
      this.#revoked.delete(this.#revoked.keys().next().value!);
    }
    this.#revoked.set(session.id, session.expiresAtMs);
  }
}
