/**
 * Operator accounts of the console (`control.operators`): a name, a role (`viewer` sees
 * everything and changes nothing; `admin` does everything the admin token does) and a password
 * kept only as a hash (access/password.ts, `deno task hash-password`).
 *
 * @module
 */

import {
  b64url,
  MIN_PBKDF2_ITERATIONS,
  SALT_BYTES,
  verifyPassword,
} from "../access/mod.ts";

/** What an operator may do. */
export type OperatorRole = "viewer" | "admin";

/** One configured operator. */
export interface OperatorAccount {
  readonly name: string;
  readonly passwordHash: string;
  readonly role: OperatorRole;
}

/** A hash nobody's password matches, checked when the name is unknown (same time either way). */
const DUMMY_HASH = `pbkdf2-sha256$${MIN_PBKDF2_ITERATIONS}$${
  b64url(new Uint8Array(SALT_BYTES))
}$${"A".repeat(43)}`;

/**
 * The operator whose name and password these are, or `undefined`. An unknown name costs the
 * same hashing as a known one, so timing does not tell which names exist.
 */
export async function authenticateOperator(
  operators: readonly OperatorAccount[],
  name: string,
  password: string,
): Promise<OperatorAccount | undefined> {
  const op = operators.find((o) => o.name === name);
  const ok = await verifyPassword(password, op?.passwordHash ?? DUMMY_HASH);
  return op && ok ? op : undefined;
}
