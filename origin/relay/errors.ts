/**
 * Errors of relaying: what a pull, a push or a stream-list request ran into, each with a
 * stable code and the upstream it concerns (never a secret or a stream key).
 *
 * @module
 */

import { CodedError } from "../../errors/mod.ts";

/** Stable codes of {@link RelayError}. */
export const RelayErrorCode = {
  /** The upstream has no such live stream (404, NetStream.Play.StreamNotFound). */
  NotFound: "RELAY_NOT_FOUND",
  /** The upstream refused the pull (secret, access, depth): its reason is in the message. */
  Refused: "RELAY_REFUSED",
  /** The pull would loop back to a node already in its chain. */
  Loop: "RELAY_LOOP",
  /** The pull has travelled more hops than `origin.relay.maxDepth` allows. */
  TooDeep: "RELAY_TOO_DEEP",
  /** A relay request without the right shared secret (`origin.relay.secret`). */
  Secret: "RELAY_SECRET",
  /** No connection to the upstream (refused, unreachable). */
  Connect: "RELAY_CONNECT",
  /** The upstream did not answer or start within the time allowed, or went silent. */
  Timeout: "RELAY_TIMEOUT",
  /** The upstream sent what is not RTMP or FLV (garbage, a wrong status, a cut header). */
  BadUpstream: "RELAY_BAD_UPSTREAM",
  /** The connection broke mid-stream. */
  Broken: "RELAY_BROKEN",
  /** A relay mark (hop count, chain) that does not parse. */
  BadMark: "RELAY_BAD_MARK",
} as const;

/** One of the {@link RelayErrorCode} values. */
export type RelayErrorCodeValue =
  (typeof RelayErrorCode)[keyof typeof RelayErrorCode];

/**
 * A relay failure; `upstream` names the URL it concerns (no credentials).
 *
 * @example
 * ```ts
 * import { RelayError, RelayErrorCode } from "./errors.ts";
 * const e = new RelayError(RelayErrorCode.NotFound, "Cannot pull live/a from rtmp://up:1935: stream not found", "rtmp://up:1935");
 * if (e.code !== "RELAY_NOT_FOUND") throw new Error(e.code);
 * ```
 */
export class RelayError extends CodedError<RelayErrorCodeValue> {
  override name = "RelayError";
  constructor(
    code: RelayErrorCodeValue,
    message: string,
    readonly upstream: string = "",
    options?: ErrorOptions,
  ) {
    super(code, message, options);
  }
}

/** Longest cause text a relay error message carries (characters). */
const MAX_CAUSE_CHARS = 200;

/**
 * The innermost message of a cause chain, bounded: what a socket or TLS layer said (`invalid
 * peer certificate: UnknownIssuer`, `Connection refused`), never a stack.
 */
export function causeText(cause: unknown): string {
  let e = cause;
  for (
    let depth = 0;
    e instanceof Error && e.cause !== undefined && depth < 4;
    depth++
  ) {
    e = e.cause;
  }
  const text = e instanceof Error ? e.message : String(e);
  return text.replace(/\s+/g, " ").slice(0, MAX_CAUSE_CHARS);
}
