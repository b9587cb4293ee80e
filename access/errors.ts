/**
 * Errors of token and session handling. Messages never contain secrets or token values.
 *
 * @module
 */

import { CodedError } from "../errors/mod.ts";

/** Stable codes of {@link TokenError}. */
export const TokenErrorCode = {
  /** A configured secret is too short to be safe. */
  WeakSecret: "TOKEN_WEAK_SECRET",
  /** Session claims that cannot be signed (bad path prefix or expiry). */
  InvalidClaims: "TOKEN_INVALID_CLAIMS",
} as const;

/** One of {@link TokenErrorCode}. */
export type TokenErrorCode = typeof TokenErrorCode[keyof typeof TokenErrorCode];

/**
 * A token or session failure raised at set-up or signing time (never for untrusted input, which
 * gets a `{ ok: false, reason }` answer instead).
 */
export class TokenError extends CodedError<TokenErrorCode> {
  override name = "TokenError";
}
