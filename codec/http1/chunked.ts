/**
 * Decodes a chunked request body (RFC 9112 §7.1). Chunk extensions are skipped and trailer
 * fields dropped (§7.1.1–§7.1.2 allow both); sizes are bounded before any byte is kept.
 *
 * @module
 */

import { Http1ErrorCode, Http1FormatError } from "./errors.ts";

/** Longest chunk-size line (size, extensions and CRLF) accepted, in bytes. */
export const MAX_CHUNK_LINE_BYTES = 4096;

/** A whole chunked body: its bytes and where the message ended in the input. */
export interface ChunkedBody {
  readonly body: Uint8Array;
  /** Index just past the last CRLF of the message (the next request starts there). */
  readonly end: number;
}

function bad(what: string): Http1FormatError {
  return new Http1FormatError(
    Http1ErrorCode.BadFraming,
    `Cannot read chunked body: ${what}`,
  );
}

/** Index of the CRLF at or after `from`, -1 when not there yet, throwing on a bare CR/LF. */
function lineEnd(b: Uint8Array, from: number, limit: number): number {
  const stop = Math.min(b.length, from + limit);
  for (let i = from; i < stop; i++) {
    if (b[i] === 13) {
      if (i + 1 >= b.length) return -1;
      if (b[i + 1] !== 10) throw bad("bare CR");
      return i;
    }
    if (b[i] === 10) throw bad("bare LF");
  }
  if (stop - from >= limit) throw bad(`line over ${limit} bytes`);
  return -1;
}

/**
 * Decodes a complete chunked body from `bytes`.
 *
 * @param bytes Bytes of the connection from where the body starts.
 * @param maxBodyBytes Largest decoded body accepted.
 * @returns The body and its end, or `undefined` while the last chunk and trailers have not all
 *   arrived.
 * @throws {Http1FormatError} `HTTP1_BAD_FRAMING` on a malformed size or line,
 *   `HTTP1_BODY_TOO_LARGE` when the chunks add up to more than `maxBodyBytes`.
 *
 * @example
 * ```ts
 * import { decodeChunkedBody } from "./chunked.ts";
 * import assert from "node:assert/strict";
 * const wire = new TextEncoder().encode("3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\nNEXT");
 * const r = decodeChunkedBody(wire, 1024)!;
 * assert.equal(new TextDecoder().decode(r.body), "abcde");
 * assert.equal(r.end, wire.length - 4);
 * assert.equal(decodeChunkedBody(wire.subarray(0, 10), 1024), undefined);
 * ```
 */
export function decodeChunkedBody(
  bytes: Uint8Array,
  maxBodyBytes: number,
): ChunkedBody | undefined {
  const parts: [number, number][] = [];
  let total = 0;
  let p = 0;
  for (;;) {
    const eol = lineEnd(bytes, p, MAX_CHUNK_LINE_BYTES);
    if (eol < 0) return undefined;
    let q = p;
    let size = 0;
    for (; q < eol; q++) {
      const c = bytes[q]!;
      const d = c >= 48 && c <= 57
        ? c - 48
        : c >= 97 && c <= 102
        ? c - 87
        : c >= 65 && c <= 70
        ? c - 55
        : -1;
      if (d < 0) break;
      size = size * 16 + d;
      if (size > maxBodyBytes) {
        throw new Http1FormatError(
          Http1ErrorCode.BodyTooLarge,
          `Cannot read chunked body: over ${maxBodyBytes} bytes`,
        );
      }
    }
    if (q === p) throw bad("missing chunk size");
    // After the size only whitespace or extensions (";name=value") may follow.
    const rest = bytes[q];
    if (q < eol && rest !== 59 && rest !== 32 && rest !== 9) {
      throw bad("bad chunk size");
    }
    p = eol + 2;
    if (size === 0) break;
    if (total + size > maxBodyBytes) {
      throw new Http1FormatError(
        Http1ErrorCode.BodyTooLarge,
        `Cannot read chunked body: over ${maxBodyBytes} bytes`,
      );
    }
    if (bytes.length < p + size + 2) return undefined;
    if (bytes[p + size] !== 13 || bytes[p + size + 1] !== 10) {
      throw bad("chunk data not followed by CRLF");
    }
    parts.push([p, p + size]);
    total += size;
    p += size + 2;
  }
  // Trailer section: field lines until an empty line.
  for (;;) {
    const eol = lineEnd(bytes, p, MAX_CHUNK_LINE_BYTES);
    if (eol < 0) return undefined;
    const empty = eol === p;
    p = eol + 2;
    if (empty) break;
  }
  const body = new Uint8Array(total);
  let o = 0;
  for (const [a, b] of parts) {
    body.set(bytes.subarray(a, b), o);
    o += b - a;
  }
  return { body, end: p };
}
