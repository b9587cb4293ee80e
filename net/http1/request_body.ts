/**
 * Request bodies on the HTTP/1.1 server, and the `Request` a handler sees.
 *
 * A body is framed by Content-Length or chunked (RFC 9112 §6.3), bounded by `maxBodyBytes`
 * (413 past it) and read whole, against the same deadline as its head, before the handler
 * runs; `Expect: 100-continue` gets its interim answer first (RFC 9110 §10.1.1).
 *
 * @module
 */

import {
  decodeChunkedBody,
  Http1FormatError,
  type RequestHead,
} from "../../codec/http1/mod.ts";
import { type Http1Conn, INITIAL_READ_BYTES } from "./_conn.ts";
import { refuse } from "./response_writer.ts";

const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");
/** Read ahead allowed past `maxBodyBytes` for a chunked body's framing (size lines, CRLFs). */
const CHUNKED_FRAMING_SLACK_BYTES = 64 * 1024;

/**
 * Reads the body `head` announces (its `body` is not 0) from `c`'s buffer and socket.
 *
 * @returns The body, or `undefined` when the connection must close: the body was refused (413,
 *   or 400 for bad chunked framing, already answered) or the peer went.
 */
export async function readRequestBody(
  c: Http1Conn,
  head: RequestHead,
  maxBodyBytes: number,
): Promise<Uint8Array | undefined> {
  if (typeof head.body === "number" && head.body > maxBodyBytes) {
    await refuse(c, 413, `Request body over ${maxBodyBytes} bytes`);
    return undefined;
  }
  if (head.expectContinue) await c.writeAll(CONTINUE);
  // The body is read against the same deadline as its head.
  c.phase = "request";
  if (head.body === "chunked") {
    for (;;) {
      let r;
      try {
        r = decodeChunkedBody(c.buf.subarray(c.start, c.end), maxBodyBytes);
      } catch (e) {
        const status = e instanceof Http1FormatError ? e.status : 400;
        await refuse(c, status, e instanceof Error ? e.message : "");
        return undefined;
      }
      if (r) {
        c.start += r.end;
        return r.body;
      }
      if (!await c.fill(maxBodyBytes + CHUNKED_FRAMING_SLACK_BYTES)) {
        return undefined;
      }
    }
  }
  const need = head.body as number;
  if (c.buf.length - c.start < need) {
    const grown = new Uint8Array(
      Math.max(need, c.end - c.start, INITIAL_READ_BYTES),
    );
    grown.set(c.buf.subarray(c.start, c.end));
    c.end -= c.start;
    c.start = 0;
    c.buf = grown;
  }
  while (c.end - c.start < need) {
    if (!await c.fill(c.buf.length)) return undefined;
  }
  const body = c.buf.slice(c.start, c.start + need);
  c.start += need;
  return body;
}

/**
 * The `Request` a handler sees for a decoded head.
 *
 * @param hostPart The listener's `host:port`, for an HTTP/1.0 request without Host.
 * @param signal Aborted when the peer hangs up while the handler runs.
 * @param scheme `https` on a TLS listener: the URL the handler sees says how it was asked.
 * @throws {TypeError} When the target does not make a URL (the caller answers 400).
 *
 * @example
 * ```ts
 * import { toRequest } from "./request_body.ts";
 * import { decodeRequestHead } from "../../codec/http1/mod.ts";
 * import assert from "node:assert/strict";
 * const head = decodeRequestHead(new TextEncoder().encode("GET /a?b=1 HTTP/1.0\r\n\r\n"))!;
 * const req = toRequest(head, "127.0.0.1:8080", undefined, new AbortController().signal);
 * assert.equal(req.url, "http://127.0.0.1:8080/a?b=1");
 * ```
 */
export function toRequest(
  head: RequestHead,
  hostPart: string,
  body: Uint8Array | undefined,
  signal: AbortSignal,
  scheme: "http" | "https" = "http",
): Request {
  const headers = new Headers();
  const f = head.fields;
  for (let i = 0; i < f.length; i += 2) headers.append(f[i]!, f[i + 1]!);
  // The codec has checked Host (one, an authority; absent only in HTTP/1.0), so it cannot
  // move the target's path; an empty or absent one is the listener's address (RFC 9112 §3.3).
  const host = head.host || hostPart;
  const t = head.target;
  let url: string;
  if (t.charCodeAt(0) === 47) url = `${scheme}://${host}${t}`;
  else if (t === "*") url = `${scheme}://${host}/`;
  else url = t; // absolute-form: its own authority wins over Host (RFC 9112 §3.2.2)
  return new Request(url, {
    method: head.method,
    signal,
    headers,
    body: body && head.method !== "GET" && head.method !== "HEAD"
      ? body as Uint8Array<ArrayBuffer>
      : undefined,
  });
}
