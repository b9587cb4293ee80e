/**
 * Errors of token and session handling. Messages never contain secrets or token values.
 *
 * @module
 */

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
export class TokenError extends Error {
  override name = "TokenError";
  /** Stable, machine-readable code. */
  readonly code: TokenErrorCode;
  /** @param code One of the stable codes. @param message Says what failed and the bad value. */
  constructor(code: TokenErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
