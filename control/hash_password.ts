/**
 * `deno task hash-password`: reads a password from standard input (one line) and prints the
 * `passwordHash` of an operator for `control.operators` in meridian.yaml.
 *
 * @module
 */

import { hashPassword, MIN_PASSWORD_LENGTH } from "../access/mod.ts";

if (import.meta.main) {
  const buf = new Uint8Array(4096);
  if (Deno.stdin.isTerminal()) {
    console.error(`Password (at least ${MIN_PASSWORD_LENGTH} characters):`);
  }
  const n = await Deno.stdin.read(buf) ?? 0;
  const password = new TextDecoder().decode(buf.subarray(0, n)).replace(
    /\r?\n$/,
    "",
  );
  try {
    console.log(await hashPassword(password));
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    Deno.exit(2);
  }
}
