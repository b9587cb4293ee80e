/**
 * Errors of virtual live: a rejected admin request, and an item that cannot be played.
 *
 * @module
 */

import { CodedError } from "../../errors/mod.ts";

/** Stable codes of {@link VirtualLiveError}. */
export const VirtualLiveErrorCode = {
  /** A malformed admin request body (`PUT /admin/channels/...`); see `ChannelRequestError`. */
  BadRequest: "CHANNEL_BAD_REQUEST",
  /** A playlist entry is not a regular file (a folder, a device); the item is skipped. */
  NotAFile: "VIRTUAL_LIVE_NOT_A_FILE",
  /** A file ends before a frame its index promised (cut short since it was indexed). */
  Truncated: "VIRTUAL_LIVE_TRUNCATED",
} as const;

/** One of the {@link VirtualLiveErrorCode} values. */
export type VirtualLiveErrorCodeValue =
  (typeof VirtualLiveErrorCode)[keyof typeof VirtualLiveErrorCode];

/**
 * A virtual-live failure; `cause` holds the underlying error.
 *
 * @example
 * ```ts
 * import { VirtualLiveError, VirtualLiveErrorCode } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const e = new VirtualLiveError(VirtualLiveErrorCode.NotAFile, "Cannot play /srv: not a regular file");
 * assert.equal(e.code, "VIRTUAL_LIVE_NOT_A_FILE");
 * ```
 */
export class VirtualLiveError extends CodedError<VirtualLiveErrorCodeValue> {
  override name = "VirtualLiveError";
}
