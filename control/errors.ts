/**
 * Errors of the control role.
 *
 * @module
 */

import { CodedError } from "../errors/mod.ts";

/** Stable codes of {@link ControlError}. */
export const ControlErrorCode = {
  /** A configured secret is too short (the message gives its length, never its value). */
  WeakSecret: "CONTROL_WEAK_SECRET",
  /** The secrets file in the data directory cannot be read, parsed or written. */
  SecretsFile: "CONTROL_SECRETS_FILE",
  /** An origin the console acts on could not be reached in time. */
  OriginUnreachable: "CONTROL_ORIGIN_UNREACHABLE",
  /** The console's files (web/console/) cannot be read. */
  ConsolePage: "CONTROL_CONSOLE_PAGE",
} as const;

/** One of {@link ControlErrorCode}. */
export type ControlErrorCode =
  typeof ControlErrorCode[keyof typeof ControlErrorCode];

/** A failure of the control role (start-up, or a call it makes). Messages never contain secrets. */
export class ControlError extends CodedError<ControlErrorCode> {
  override name = "ControlError";
}
