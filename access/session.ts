/**
 * Playback-session credentials: "one token use = one playback session".
 *
 * After a token use is spent (`checkAccess`), the origin or edge hands the player a credential
 * signed with HMAC-SHA256 (RFC 2104) over a path prefix and an expiry, so the playlist reloads and
 * segment requests of that session need no store access at all. The credential is
 * `base64url(payload) "." base64url(mac)` (RFC 4648 §5, unpadded), where the MAC covers the
 * encoded payload text, as JWS does (RFC 7515 §5.1), so no canonical form is needed.
 *
 * @module
 */

import { TokenError, TokenErrorCode } from "./errors.ts";

/** Shortest accepted session secret, in characters (about 256 bits when generated). */
export const MIN_SESSION_SECRET_LENGTH = 32;
/** Longer credentials are refused before any work (a bad client cannot make us hash megabytes). */
export const MAX_SESSION_CREDENTIAL_LENGTH = 2048;

/** What a session credential grants. */
export interface SessionClaims {
  /**
   * Paths starting with this are allowed. Plain prefix matching: prefer a prefix ending in `/`,
   * since `/live/demo` also matches `/live/demo2.flv`.
   */
  readonly pathPrefix: string;
  /** Unix time in ms at which the credential stops working. */
  readonly expiresAtMs: number;
  /**
   * The access token the session was opened with, so a revocation can end the session (see
   * `checkSession`). Optional.
   */
  readonly subject?: string;
}

/** Why a session credential was refused. */
export type SessionRefusal =
  | "malformed"
  | "bad_signature"
  | "expired"
  | "wrong_path";

/** Outcome of {@link verifySession}. */
export type SessionResult =
  | { readonly ok: true; readonly claims: SessionClaims }
  | { readonly ok: false; readonly reason: SessionRefusal };

/** An imported HMAC key; import once, verify many times. */
export interface SessionKey {
  /** A non-extractable WebCrypto HMAC-SHA256 key. */
  readonly cryptoKey: CryptoKey;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const B64URL = { alphabet: "base64url", omitPadding: true } as const;
const B64URL_RE = /^[A-Za-z0-9_-]+$/;

/**
 * Imports a session secret for signing and verifying.
 *
 * @throws {TokenError} `TOKEN_WEAK_SECRET` when shorter than {@link MIN_SESSION_SECRET_LENGTH}.
 */
export async function importSessionKey(secret: string): Promise<SessionKey> {
  if (secret.length < MIN_SESSION_SECRET_LENGTH) {
    throw new TokenError(
      TokenErrorCode.WeakSecret,
      `Cannot use session secret: got ${secret.length} characters, expected at least ${MIN_SESSION_SECRET_LENGTH}`,
    );
  }
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
  return { cryptoKey };
}

async function keyOf(key: SessionKey | string): Promise<SessionKey> {
  return typeof key === "string" ? await importSessionKey(key) : key;
}

/**
 * Signs session claims into a credential.
 *
 * @param key An imported key, or the secret itself (imported on each call: slower).
 * @throws {TokenError} `TOKEN_INVALID_CLAIMS` for a prefix not starting with `/` or a
 *   non-integer expiry; `TOKEN_WEAK_SECRET` for a short secret.
 * @example
 * ```ts
 * import { signSession, verifySession } from "./session.ts";
 * const secret = "0123456789abcdef0123456789abcdef";
 * const cred = await signSession({ pathPrefix: "/live/demo", expiresAtMs: 2_000 }, secret);
 * const ok = await verifySession(cred, secret, { path: "/live/demo.m3u8", nowMs: 1_000 });
 * const late = await verifySession(cred, secret, { path: "/live/demo.m3u8", nowMs: 2_000 });
 * if (!ok.ok || late.ok) throw new Error("wrong");
 * ```
 */
export async function signSession(
  claims: SessionClaims,
  key: SessionKey | string,
): Promise<string> {
  if (!claims.pathPrefix.startsWith("/")) {
    throw new TokenError(
      TokenErrorCode.InvalidClaims,
      `Cannot sign session: path prefix must start with '/', got ${
        JSON.stringify(claims.pathPrefix)
      }`,
    );
  }
  if (!Number.isSafeInteger(claims.expiresAtMs)) {
    throw new TokenError(
      TokenErrorCode.InvalidClaims,
      `Cannot sign session: expiry must be an integer of ms, got ${claims.expiresAtMs}`,
    );
  }
  const body: { p: string; e: number; s?: string } = {
    p: claims.pathPrefix,
    e: claims.expiresAtMs,
  };
  if (claims.subject !== undefined) body.s = claims.subject;
  const payload = encoder.encode(JSON.stringify(body)).toBase64(B64URL);
  const mac = await crypto.subtle.sign(
    "HMAC",
    (await keyOf(key)).cryptoKey,
    encoder.encode(payload),
  );
  return `${payload}.${new Uint8Array(mac).toBase64(B64URL)}`;
}

function parseClaims(payload: string): SessionClaims | undefined {
  try {
    const body: unknown = JSON.parse(
      decoder.decode(Uint8Array.fromBase64(payload, B64URL)),
    );
    if (typeof body !== "object" || body === null) return undefined;
    const { p, e, s } = body as Record<string, unknown>;
    if (typeof p !== "string" || !Number.isSafeInteger(e)) return undefined;
    if (s !== undefined && typeof s !== "string") return undefined;
    return s === undefined
      ? { pathPrefix: p, expiresAtMs: e as number }
      : { pathPrefix: p, expiresAtMs: e as number, subject: s };
  } catch {
    return undefined;
  }
}

/**
 * Verifies a credential for one request: signature (constant time, by WebCrypto's HMAC verify),
 * then expiry, then path. Touches no store; for revocation see `checkSession`.
 *
 * @param credential Untrusted input.
 * @param key An imported key (fast), or the secret itself.
 * @param request The requested path and the time.
 */
export async function verifySession(
  credential: string,
  key: SessionKey | string,
  request: { readonly path: string; readonly nowMs: number },
): Promise<SessionResult> {
  if (credential.length > MAX_SESSION_CREDENTIAL_LENGTH) {
    return { ok: false, reason: "malformed" };
  }
  const dot = credential.indexOf(".");
  const payload = credential.slice(0, dot);
  const macText = credential.slice(dot + 1);
  if (dot <= 0 || !B64URL_RE.test(payload) || !B64URL_RE.test(macText)) {
    return { ok: false, reason: "malformed" };
  }
  let mac: Uint8Array<ArrayBuffer>;
  try {
    mac = Uint8Array.fromBase64(macText, B64URL);
  } catch {
    return { ok: false, reason: "malformed" };
  }
  const valid = await crypto.subtle.verify(
    "HMAC",
    (await keyOf(key)).cryptoKey,
    mac,
    encoder.encode(payload),
  );
  if (!valid) return { ok: false, reason: "bad_signature" };
  const claims = parseClaims(payload);
  if (!claims) return { ok: false, reason: "malformed" };
  if (request.nowMs >= claims.expiresAtMs) {
    return { ok: false, reason: "expired" };
  }
  if (!request.path.startsWith(claims.pathPrefix)) {
    return { ok: false, reason: "wrong_path" };
  }
  return { ok: true, claims };
}

const PLAYLIST_EXT = ".m3u8";

/**
 * The path a request's session credential must cover (its signed prefix, `/{app}/{stream}/`,
 * always ends with `/`): a playlist is checked as its stream's (or file's) session path, any
 * other URL as itself followed by `/`, so that a file's own URL (`/vod/a.mp4`, a byte range of
 * it) lies under its session path `/vod/a.mp4/` as its segments do, and `/vod/a.mp4x` does not.
 * Origin and edge check alike.
 *
 * @example
 * ```ts
 * import { credentialPathOf } from "./session.ts";
 * import assert from "node:assert/strict";
 * assert.equal(credentialPathOf("/live/demo.m3u8"), "/live/demo/");
 * assert.equal(credentialPathOf("/live/demo/a-1.ts"), "/live/demo/a-1.ts/");
 * assert.equal(credentialPathOf("/vod/a.mp4"), "/vod/a.mp4/");
 * ```
 */
export function credentialPathOf(pathname: string): string {
  return pathname.endsWith(PLAYLIST_EXT)
    ? `${pathname.slice(0, -PLAYLIST_EXT.length)}/`
    : `${pathname}/`;
}
