/**
 * Access tokens and playback sessions, below the roles: control mints tokens with them, origin
 * and edge enforce them (no role imports another). Pure parts here touch no store;
 * `checkAccess` and {@link RevocationWatch} only the `SharedStore` interface.
 *
 * - {@link generateToken}, {@link constantTimeEqual}: pure helpers.
 * - {@link checkAccess}: spend one use of a `?token=` for a media request (shared store).
 * - {@link signSession}, {@link verifySession}, {@link checkSession}: the HMAC credential that
 *   turns one use into one playback session.
 *
 * @module
 */

export {
  type AccessRefusal,
  type AccessRequest,
  type AccessResult,
  checkAccess,
  checkSession,
  loadSessionKey,
  SESSION_SECRET_NAME,
  type SessionCheck,
  sessionExpiresAt,
  TOKEN_TEXT,
} from "./access.ts";
export { TokenError, TokenErrorCode } from "./errors.ts";
export {
  CREDENTIAL_TEXT,
  type CredentialRefusal,
  MAX_CACHED_CREDENTIALS,
  SessionCache,
} from "./session_cache.ts";
export { CREDENTIAL_PARAM, withSessionCredential } from "./playlist.ts";
export {
  constantTimeEqual,
  GENERATED_SECRET_LENGTH,
  generateToken,
  isTokenFormat,
  TOKEN_ALPHABET,
  TOKEN_LENGTH,
} from "./secret.ts";
export {
  credentialPathOf,
  importSessionKey,
  MAX_SESSION_CREDENTIAL_LENGTH,
  MIN_SESSION_SECRET_LENGTH,
  type SessionClaims,
  type SessionKey,
  type SessionRefusal,
  type SessionResult,
  signSession,
  verifySession,
} from "./session.ts";
export { type Refusal, refusal, RevocationWatch } from "./revocation.ts";
export {
  b64url,
  hashPassword,
  MAX_PASSWORD_LENGTH,
  MAX_PBKDF2_ITERATIONS,
  MIN_PASSWORD_LENGTH,
  MIN_PBKDF2_ITERATIONS,
  PASSWORD_HASH_RE,
  passwordHashProblem,
  PBKDF2_ITERATIONS,
  SALT_BYTES,
  verifyPassword,
} from "./password.ts";
