/**
 * Random tokens and constant-time comparison: the pure building blocks of access control.
 *
 * @module
 */

/** Characters of a token: [A-Za-z0-9]. */
export const TOKEN_ALPHABET =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/** Length of an access token minted by `/gettoken` (shared/INTERFACES.md). */
export const TOKEN_LENGTH = 16;
/** Length of generated service passwords and admin tokens (about 190 bits). */
export const GENERATED_SECRET_LENGTH = 32;
/**
 * Random bytes at or above this are rejected: 248 is the largest multiple of 62 that fits in a
 * byte, so `byte % 62` is uniform below it (no modulo bias).
 */
const REJECT_FROM = 256 - (256 % TOKEN_ALPHABET.length);
const MAX_RANDOM_BYTES = 65_536;
const TOKEN_RE = /^[A-Za-z0-9]{16}$/;

/**
 * A random string over {@link TOKEN_ALPHABET} from the CSPRNG, uniform per character.
 *
 * @param length Characters wanted. @default 16
 * @example
 * ```ts
 * import { generateToken } from "./secret.ts";
 * const t = generateToken();
 * if (!/^[A-Za-z0-9]{16}$/.test(t)) throw new Error(t);
 * ```
 */
export function generateToken(length: number = TOKEN_LENGTH): string {
  let out = "";
  // 8/256 of bytes are rejected, so a buffer a little longer than `length` almost always
  // suffices; getRandomValues serves at most 65536 bytes a call (WebCrypto §10.1.1).
  const buf = new Uint8Array(Math.min(MAX_RANDOM_BYTES, length + 8));
  while (out.length < length) {
    crypto.getRandomValues(buf);
    for (const b of buf) {
      if (b >= REJECT_FROM) continue;
      out += TOKEN_ALPHABET[b % TOKEN_ALPHABET.length];
      if (out.length === length) break;
    }
  }
  return out;
}

/**
 * True when `s` has the shape of an access token (16 of [A-Za-z0-9]); lets callers refuse
 * garbage without a store round trip.
 */
export function isTokenFormat(s: string): boolean {
  return TOKEN_RE.test(s);
}

const encoder = new TextEncoder();

/**
 * Compares a presented secret with the expected one in time that depends only on the presented
 * length, never on where the first difference is (so response timing does not leak a prefix).
 *
 * @example
 * ```ts
 * import { constantTimeEqual } from "./secret.ts";
 * if (!constantTimeEqual("abc", "abc") || constantTimeEqual("abd", "abc")) throw new Error();
 * ```
 */
export function constantTimeEqual(
  presented: string,
  expected: string,
): boolean {
  const a = encoder.encode(presented);
  const b = encoder.encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) {
    diff |= a[i]! ^ (b.length === 0 ? 0 : b[i % b.length]!);
  }
  return diff === 0 && b.length > 0;
}
