/**
 * Errors of TLS set-up: certificates that cannot be read or used, and listeners that cannot
 * serve what the config asks.
 *
 * @module
 */

import { CodedError } from "../../errors/mod.ts";

/** Stable codes of {@link TlsError}. */
export const TlsErrorCode = {
  /** A certificate or key file cannot be read (missing, no permission). */
  Read: "TLS_READ",
  /** A file holds no usable PEM certificate chain or private key. */
  Invalid: "TLS_INVALID",
  /** The private key is not the certificate's. */
  KeyMismatch: "TLS_KEY_MISMATCH",
  /** Several certificates by SNI, and this Deno has no certificate resolver to pick one. */
  NoSni: "TLS_NO_SNI",
} as const;

/** One of the {@link TlsErrorCode} values. */
export type TlsErrorCodeValue =
  (typeof TlsErrorCode)[keyof typeof TlsErrorCode];

/** A TLS certificate or listener problem; the message names the file or the listener. */
export class TlsError extends CodedError<TlsErrorCodeValue> {
  override name = "TlsError";
}
