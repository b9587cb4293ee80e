/**
 * Error types of the edge role, with stable codes.
 *
 * @module
 */

import { CodedError } from "../errors/mod.ts";

/** Stable codes of {@link EdgeError} and its subclasses. */
export const EdgeErrorCode = {
  /** No origin could be connected to (refused, reset, DNS). */
  UpstreamConnect: "EDGE_UPSTREAM_CONNECT",
  /** An origin answered with a 5xx status. */
  UpstreamStatus: "EDGE_UPSTREAM_STATUS",
  /** An origin did not answer, or paused inside a body, for longer than the timeout. */
  UpstreamTimeout: "EDGE_UPSTREAM_TIMEOUT",
  /** An origin's body ended before its Content-Length, or the connection broke. */
  UpstreamTruncated: "EDGE_UPSTREAM_TRUNCATED",
  /** A request waited on another's origin fetch for longer than `collapseWaitMs`. */
  CollapseTimeout: "EDGE_COLLAPSE_TIMEOUT",
  /** A malformed admin request body. */
  BadAdminRequest: "EDGE_BAD_ADMIN_REQUEST",
  /** A Structured Field (RFC 8941) that does not parse, e.g. a bad `CDN-Cache-Control`. */
  BadStructuredField: "EDGE_BAD_STRUCTURED_FIELD",
  /** A cache store could not read or write an object. */
  Store: "EDGE_STORE",
} as const;

/** One of the {@link EdgeErrorCode} values. */
export type EdgeErrorCodeValue =
  (typeof EdgeErrorCode)[keyof typeof EdgeErrorCode];

/**
 * Base class of edge errors: a stable `code` and a chained `cause`.
 *
 * @example
 * ```ts
 * import { EdgeError, EdgeErrorCode } from "./errors.ts";
 * const e = new EdgeError(EdgeErrorCode.Store, "Cannot write cache object: disk full");
 * if (e.code !== "EDGE_STORE") throw new Error("bad code");
 * ```
 */
export class EdgeError extends CodedError<EdgeErrorCodeValue> {
  override name = "EdgeError";
}

/** An origin failed: connect error, 5xx, timeout or a broken body. */
export class UpstreamError extends EdgeError {
  override name = "UpstreamError";
  /** The origin's base URL, when one was chosen. */
  readonly origin: string | undefined;
  /** The HTTP status, for {@link EdgeErrorCode.UpstreamStatus}. */
  readonly status: number | undefined;

  constructor(
    code: EdgeErrorCodeValue,
    message: string,
    details: { origin?: string; status?: number } = {},
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.origin = details.origin;
    this.status = details.status;
  }
}
