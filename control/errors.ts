/**
 * Errors of the control role.
 *
 * @module
 */

/** Stable codes of {@link ControlError}. */
export const ControlErrorCode = {
  /** A configured secret is too short (the message gives its length, never its value). */
  WeakSecret: "CONTROL_WEAK_SECRET",
  /** The secrets file in the data directory cannot be read, parsed or written. */
  SecretsFile: "CONTROL_SECRETS_FILE",
} as const;

/** One of {@link ControlErrorCode}. */
export type ControlErrorCode =
  typeof ControlErrorCode[keyof typeof ControlErrorCode];

/** A start-up failure of the control role. Messages never contain secrets. */
export class ControlError extends Error {
  override name = "ControlError";
  /** Stable, machine-readable code. */
  readonly code: ControlErrorCode;
  /** @param code One of the stable codes. @param message Says what failed and the bad value. */
  constructor(code: ControlErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
