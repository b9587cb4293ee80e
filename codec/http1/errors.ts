/**
 * Error type of the HTTP/1.1 request codec.
 *
 * @module
 */

import { CodedError } from "../../errors/mod.ts";

/** Stable codes of {@link Http1FormatError}, one per way a request can be wrong. */
export const Http1ErrorCode = {
  /** The request line or a field line breaks RFC 9112 syntax. */
  BadSyntax: "HTTP1_BAD_SYNTAX",
  /** The head (request line and fields) is larger than the limit, or has too many fields. */
  HeadTooLarge: "HTTP1_HEAD_TOO_LARGE",
  /** The request target is longer than the limit (RFC 9112 §3: 414). */
  TargetTooLong: "HTTP1_TARGET_TOO_LONG",
  /** No Host field in an HTTP/1.1 request, more than one, or one that is not an authority. */
  BadHost: "HTTP1_BAD_HOST",
  /** The protocol version is not HTTP/1.0 or HTTP/1.1. */
  BadVersion: "HTTP1_BAD_VERSION",
  /** Content-Length and Transfer-Encoding disagree or are malformed (RFC 9112 §6.3). */
  BadFraming: "HTTP1_BAD_FRAMING",
  /** A transfer coding other than chunked. */
  UnsupportedCoding: "HTTP1_UNSUPPORTED_CODING",
  /** An Expect value other than 100-continue (RFC 9110 §10.1.1). */
  BadExpectation: "HTTP1_BAD_EXPECTATION",
  /** The body is larger than the limit. */
  BodyTooLarge: "HTTP1_BODY_TOO_LARGE",
} as const;

/** One of the {@link Http1ErrorCode} values. */
export type Http1ErrorCodeValue =
  (typeof Http1ErrorCode)[keyof typeof Http1ErrorCode];

/** The status a server answers for each code before closing the connection. */
const STATUS: Readonly<Record<Http1ErrorCodeValue, number>> = {
  HTTP1_BAD_SYNTAX: 400,
  HTTP1_HEAD_TOO_LARGE: 431,
  HTTP1_TARGET_TOO_LONG: 414,
  HTTP1_BAD_HOST: 400,
  HTTP1_BAD_VERSION: 505,
  HTTP1_BAD_FRAMING: 400,
  HTTP1_UNSUPPORTED_CODING: 501,
  HTTP1_BAD_EXPECTATION: 417,
  HTTP1_BODY_TOO_LARGE: 413,
};

/**
 * A malformed or refused HTTP/1.1 request; `status` is the answer a server sends for it.
 *
 * @example
 * ```ts
 * import { Http1ErrorCode, Http1FormatError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const e = new Http1FormatError(Http1ErrorCode.HeadTooLarge, "Cannot read request head: over 16384 bytes");
 * assert.equal(e.status, 431);
 * ```
 */
export class Http1FormatError extends CodedError<Http1ErrorCodeValue> {
  override name = "Http1FormatError";
  /** The HTTP status that answers it (400, 413, 414, 417, 431, 501 or 505). */
  readonly status: number;

  constructor(
    code: Http1ErrorCodeValue,
    message: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.status = STATUS[code];
  }
}
