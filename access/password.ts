/**
 * Password hashes for console operator accounts (`control.operators[].passwordHash`):
 * PBKDF2-HMAC-SHA-256 (RFC 8018 §5.2) written `pbkdf2-sha256$ITERATIONS$SALT$HASH` (salt and
 * hash in base64url), made by `deno task hash-password`. WebCrypto has PBKDF2 and no
 * memory-hard function; 600 000 iterations is OWASP's 2023 figure for PBKDF2-HMAC-SHA-256.
 * Here, below the roles, because config validation checks the format too.
 *
 * @module
 */

import { constantTimeEqual } from "./secret.ts";

/** Iterations of new hashes (OWASP Password Storage Cheat Sheet, 2023). */
export const PBKDF2_ITERATIONS = 600_000;
/** Fewest iterations a configured hash may have. */
export const MIN_PBKDF2_ITERATIONS = 100_000;
/** Most iterations accepted (a hash is checked at every sign-in). */
export const MAX_PBKDF2_ITERATIONS = 10_000_000;
/** Shortest password `hashPassword` takes. */
export const MIN_PASSWORD_LENGTH = 12;
/** Longest password checked (characters): longer ones are refused unhashed. */
export const MAX_PASSWORD_LENGTH = 1024;

/** Bytes of a hash's salt. */
export const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** `pbkdf2-sha256$ITERATIONS$SALT$HASH`. */
export const PASSWORD_HASH_RE =
  /^pbkdf2-sha256\$([0-9]{1,9})\$([A-Za-z0-9_-]{16,64})\$([A-Za-z0-9_-]{43})$/;

const encoder = new TextEncoder();

/** Base64url without padding (RFC 4648 §5). */
export function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function unb64url(text: string): Uint8Array<ArrayBuffer> {
  const s = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

async function derive(
  password: string,
  salt: Uint8Array<ArrayBuffer>,
  iterations: number,
): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(password),
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  return new Uint8Array(
    await crypto.subtle.deriveBits(
      { name: "PBKDF2", hash: "SHA-256", salt, iterations },
      key,
      HASH_BYTES * 8,
    ),
  );
}

/**
 * The problem with a configured hash, or `undefined` when it can be checked against.
 *
 * @example
 * ```ts
 * import { passwordHashProblem } from "./password.ts";
 * if (passwordHashProblem("plain text") === undefined) throw new Error();
 * ```
 */
export function passwordHashProblem(hash: string): string | undefined {
  const m = PASSWORD_HASH_RE.exec(hash);
  if (!m) {
    return "a hash 'pbkdf2-sha256$ITERATIONS$SALT$HASH' made by `deno task hash-password`";
  }
  const n = Number(m[1]);
  if (n < MIN_PBKDF2_ITERATIONS || n > MAX_PBKDF2_ITERATIONS) {
    return `a hash of ${MIN_PBKDF2_ITERATIONS}..${MAX_PBKDF2_ITERATIONS} iterations`;
  }
  return undefined;
}

/**
 * Hashes a password for `control.operators[].passwordHash`.
 *
 * @throws {RangeError} For a password shorter than {@link MIN_PASSWORD_LENGTH}.
 * @example
 * ```ts
 * import { hashPassword, verifyPassword } from "./password.ts";
 * const h = await hashPassword("correct horse battery", 100_000);
 * if (!await verifyPassword("correct horse battery", h) || await verifyPassword("wrong", h)) {
 *   throw new Error(h);
 * }
 * ```
 */
export async function hashPassword(
  password: string,
  iterations: number = PBKDF2_ITERATIONS,
): Promise<string> {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new RangeError(
      `Cannot hash password: it has ${password.length} characters, expected at least ${MIN_PASSWORD_LENGTH}`,
    );
  }
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await derive(password, salt, iterations);
  return `pbkdf2-sha256$${iterations}$${b64url(salt)}$${b64url(hash)}`;
}

/** True when `password` matches `hash` (compared in constant time); false for a bad hash. */
export async function verifyPassword(
  password: string,
  hash: string,
): Promise<boolean> {
  const m = PASSWORD_HASH_RE.exec(hash);
  if (!m || password.length > MAX_PASSWORD_LENGTH) return false;
  const got = await derive(password, unb64url(m[2]!), Number(m[1]));
  return constantTimeEqual(b64url(got), m[3]!);
}
