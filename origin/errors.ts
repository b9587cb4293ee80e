/**
 * Errors of the origin role as a whole (start-up and access wiring); the VOD library, the HLS
 * packager and virtual live keep their own tables beside their code, and a port that cannot be
 * bound is net/'s `NetError`.
 *
 * @module
 */

import { CodedError } from "../errors/mod.ts";

/** Stable codes of {@link OriginError}. */
export const OriginErrorCode = {
  /**
   * Access control cannot work as configured: an app requires tokens without a shared store,
   * or playback sessions are needed without a session key.
   */
  AccessSetup: "ORIGIN_ACCESS_SETUP",
  /** The player page or a player script is missing from the project tree. */
  Assets: "ORIGIN_ASSETS",
} as const;

/** One of the {@link OriginErrorCode} values. */
export type OriginErrorCodeValue =
  (typeof OriginErrorCode)[keyof typeof OriginErrorCode];

/**
 * A start-up or wiring failure of the origin; `cause` holds the underlying error.
 *
 * @example
 * ```ts
 * import { OriginError, OriginErrorCode } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const e = new OriginError(OriginErrorCode.Assets, "Cannot load player page: /srv/web/player.html");
 * assert.equal(e.code, "ORIGIN_ASSETS");
 * ```
 */
export class OriginError extends CodedError<OriginErrorCodeValue> {
  override name = "OriginError";
}
