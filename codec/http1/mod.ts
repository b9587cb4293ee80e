/**
 * HTTP/1.1 message codec: request heads and chunked bodies in, response heads out. Pure code:
 * bytes in, values or bytes out.
 *
 * Why our own and not a library: it is on the hot path of every cached hit. Deno.serve's
 * request object and header validation cost more than the hit itself (BENCHMARKS.md: a cache
 * hit through Deno.serve pays ~1.5 µs per response field); reading the head straight from the
 * socket's bytes lets a server answer a hit with one prebuilt buffer. It is also the place
 * where request smuggling is stopped (RFC 9112 §11.2), so its rules are kept strict and tested
 * with random and mutated input.
 *
 * @module
 */

export { decodeChunkedBody, MAX_CHUNK_LINE_BYTES } from "./chunked.ts";
export type { ChunkedBody } from "./chunked.ts";
export {
  Http1ErrorCode,
  type Http1ErrorCodeValue,
  Http1FormatError,
} from "./errors.ts";
export {
  decodeRequestHead,
  fieldOf,
  MAX_HEAD_BYTES,
  MAX_HEADER_FIELDS,
  MAX_TARGET_BYTES,
} from "./request_head.ts";
export type { RequestHead, RequestHeadLimits } from "./request_head.ts";
export { encodeResponseHead, statusLine } from "./response_head.ts";
