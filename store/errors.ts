/**
 * Errors of the shared store.
 *
 * @module
 */

import { CodedError } from "../errors/mod.ts";

/** Stable codes of {@link StoreError}. */
export const StoreErrorCode = {
  /** The backend could not be opened (bad path, no permission, server unreachable at start). */
  OpenFailed: "STORE_OPEN_FAILED",
  /** The backend is unreachable now (a running node lost its Redis); nothing was changed. */
  Unavailable: "STORE_UNAVAILABLE",
  /** `store.url` (or `store.path`) names no backend this build has. */
  BadUrl: "STORE_BAD_URL",
  /** An atomic operation kept losing to concurrent writers and gave up. */
  Contention: "STORE_CONTENTION",
  /** A token with this value already exists. */
  TokenExists: "STORE_TOKEN_EXISTS",
  /** The store was used after `close()`. */
  Closed: "STORE_CLOSED",
  /** A value over its limit or of the wrong shape (a resume position, a node record). */
  BadValue: "STORE_BAD_VALUE",
} as const;

/** One of {@link StoreErrorCode}. */
export type StoreErrorCode = typeof StoreErrorCode[keyof typeof StoreErrorCode];

/**
 * A failure of the shared store. Messages never contain token values.
 *
 * @example
 * ```ts
 * import { StoreError, StoreErrorCode } from "./errors.ts";
 * const e = new StoreError(StoreErrorCode.Closed, "Cannot spend token use: store is closed");
 * if (e.code !== "STORE_CLOSED") throw new Error("wrong code");
 * ```
 */
export class StoreError extends CodedError<StoreErrorCode> {
  override name = "StoreError";
}
