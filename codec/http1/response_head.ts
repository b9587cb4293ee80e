/**
 * Encodes an HTTP/1.1 response head (RFC 9112 §4, §5).
 *
 * @module
 */

/** Reason phrases sent with the status codes Meridian answers (RFC 9110 §15). */
const REASONS: Readonly<Record<number, string>> = {
  100: "Continue",
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  206: "Partial Content",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  411: "Length Required",
  412: "Precondition Failed",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  416: "Range Not Satisfiable",
  417: "Expectation Failed",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

/** The status line of `status` with its reason phrase (none for codes not listed). */
export function statusLine(status: number): string {
  return `HTTP/1.1 ${status} ${REASONS[status] ?? ""}\r\n`;
}

/**
 * Encodes a response head: status line, the given fields in order, then the blank line.
 * Field names and values must already be valid (as a `Headers` object guarantees); values are
 * written as Latin-1, one byte per code point.
 *
 * @param status Status code, 100..599.
 * @param fields Name/value pairs, sent as given.
 * @returns The head bytes.
 *
 * @example
 * ```ts
 * import { encodeResponseHead } from "./response_head.ts";
 * import assert from "node:assert/strict";
 * const head = encodeResponseHead(200, [["content-length", "2"]]);
 * assert.equal(new TextDecoder().decode(head), "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n");
 * ```
 */
export function encodeResponseHead(
  status: number,
  fields: Iterable<readonly [string, string]>,
): Uint8Array {
  let s = statusLine(status);
  for (const [k, v] of fields) s += `${k}: ${v}\r\n`;
  s += "\r\n";
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
