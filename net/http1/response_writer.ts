/**
 * Writing a handler's `Response` on an HTTP/1.1 connection: framed by Content-Length when the
 * length is known (byte bodies included, found without waiting), chunked otherwise, or by
 * closing the connection for streams marked with `closeDelimited`; no body for HEAD, 204, 304
 * and 1xx (RFC 9110 §6.4.1), a `Date` on every response (RFC 9110 §6.6.1), and the whole
 * `text/plain` answers the server sends itself when it refuses a request.
 *
 * @module
 */

import { concatBytes } from "../../codec/bytes/concat.ts";
import { encodeResponseHead, type RequestHead } from "../../codec/http1/mod.ts";
import type { Http1Conn } from "./_conn.ts";
import {
  chunk,
  isCloseDelimited,
  LAST_CHUNK,
  liveSourceOf,
  writeLive,
} from "./live.ts";
import { type PulledBody, pulledBodyOf } from "./pulled.ts";

let dateSecond = -1;
let dateValue = "";

/**
 * The `Date` value for `nowMs` (RFC 9110 §5.6.7 IMF-fixdate), computed once per second.
 *
 * @example
 * ```ts
 * import { httpDate } from "./response_writer.ts";
 * import assert from "node:assert/strict";
 * assert.equal(httpDate(784111777000), "Sun, 06 Nov 1994 08:49:37 GMT");
 * ```
 */
export function httpDate(nowMs: number = Date.now()): string {
  const s = Math.floor(nowMs / 1000);
  if (s !== dateSecond) {
    dateSecond = s;
    dateValue = new Date(s * 1000).toUTCString();
  }
  return dateValue;
}

/** Fields the server sets itself; a handler's values for them are not sent. */
const SERVER_FIELDS = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
]);

/** Byte bodies up to this size go out in one write with their head (one copy). */
const JOIN_BODY_MAX_BYTES = 64 * 1024;

const PENDING: unique symbol = Symbol("pending");
const SETTLED_PENDING: Promise<typeof PENDING> = Promise.resolve(PENDING);

/** A whole `text/plain` response that closes the connection. */
export function plainResponse(
  status: number,
  text: string,
  extra: readonly [string, string][] = [],
): Uint8Array {
  const body = new TextEncoder().encode(`${text}\n`);
  return concatBytes([
    encodeResponseHead(status, [
      ["content-type", "text/plain; charset=utf-8"],
      ["content-length", String(body.length)],
      ["date", httpDate()],
      ...extra,
      ["connection", "close"],
    ]),
    body,
  ]);
}

/** Answers `status` with `text` (the caller then closes the connection). */
export async function refuse(
  c: Http1Conn,
  status: number,
  text: string,
): Promise<void> {
  try {
    await c.writeAll(plainResponse(status, text));
  } catch {
    // the peer is gone
  }
}

/**
 * Writes `res` as the answer to `head`.
 *
 * @returns whether the connection may carry another request.
 */
export async function writeResponse(
  c: Http1Conn,
  head: RequestHead,
  res: Response,
): Promise<boolean> {
  const status = res.status;
  let length: number | undefined;
  const fields: [string, string][] = [];
  let dated = false;
  for (const [k, v] of res.headers) {
    if (!SERVER_FIELDS.has(k)) {
      fields.push([k, v]);
      // A cache relays the origin's Date (RFC 9110 §6.6.1); only a response without one
      // gets the server's.
      if (k === "date") dated = true;
    } else if (k === "content-length" && /^\d+$/.test(v)) length = Number(v);
  }
  if (!dated) fields.push(["date", httpDate()]);
  let keep = head.keepAlive && !c.server.closing;
  if (keep && head.minorVersion === 0) {
    fields.push(["connection", "keep-alive"]);
  }
  const noBody = head.method === "HEAD" || status === 204 ||
    status === 304 || status < 200;
  const body = res.body;
  if (noBody || body === null) {
    if (body) void body.cancel().catch(() => {});
    pulledBodyOf(res)?.cancel();
    // HEAD and 304 keep the length the handler stated (RFC 9110 §8.6).
    if (length !== undefined && (head.method === "HEAD" || status === 304)) {
      fields.push(["content-length", String(length)]);
    } else if (status !== 204 && status !== 304 && status >= 200) {
      fields.push(["content-length", "0"]);
    }
    if (!keep) fields.push(["connection", "close"]);
    await c.writeAll(encodeResponseHead(status, fields));
    return keep;
  }

  const live = liveSourceOf(res);
  if (live) {
    return writeLive(c, live, status, fields, head.minorVersion, keep);
  }

  const pulled = pulledBodyOf(res);
  if (pulled) {
    void body.cancel().catch(() => {});
    if (length !== undefined) {
      return writePulled(c, pulled, status, fields, length, keep);
    }
    pulled.cancel();
    return false;
  }

  const reader = body.getReader();
  try {
    if (length !== undefined) {
      fields.push(["content-length", String(length)]);
      if (!keep) fields.push(["connection", "close"]);
      await c.writeAll(encodeResponseHead(status, fields));
      let sent = 0;
      for (;;) {
        c.phase = "busy";
        const r = await reader.read();
        if (r.done) break;
        sent += r.value.byteLength;
        if (sent > length) break;
        await c.writeAll(r.value);
      }
      // A body that disagrees with its length cannot be framed: end the connection.
      if (sent !== length) c.cut = true;
      return keep && sent === length;
    }

    c.phase = "busy";
    const first = await reader.read();
    if (first.done) {
      fields.push(["content-length", "0"]);
      if (!keep) fields.push(["connection", "close"]);
      await c.writeAll(encodeResponseHead(status, fields));
      return keep;
    }
    // A byte body (string, Uint8Array, JSON) has all its bytes in the first chunk and its
    // stream already closed: the second read is settled at once. Then send a length.
    const second = reader.read();
    const peek: ReadableStreamReadResult<Uint8Array> | typeof PENDING =
      await Promise.race([second, SETTLED_PENDING]);
    if (peek !== PENDING && peek.done) {
      fields.push(["content-length", String(first.value.byteLength)]);
      if (!keep) fields.push(["connection", "close"]);
      const h = encodeResponseHead(status, fields);
      if (first.value.byteLength <= JOIN_BODY_MAX_BYTES) {
        await c.writeAll(concatBytes([h, first.value]));
      } else {
        await c.writeAll(h);
        await c.writeAll(first.value);
      }
      return keep;
    }

    // HTTP/1.0 has no chunked coding (RFC 9112 §7.1): its peer reads to the close (§6.3).
    const byClose = isCloseDelimited(res) || head.minorVersion === 0;
    if (byClose) {
      keep = false;
      fields.push(["connection", "close"]);
    } else {
      fields.push(["transfer-encoding", "chunked"]);
      if (!keep) fields.push(["connection", "close"]);
    }
    const frame = (b: Uint8Array) => byClose ? b : chunk(b);
    // A live stream's first chunk is its start-up burst (a GOP, often hundreds of KiB, for
    // each of hundreds of viewers joining at once): sent as it is, not copied behind the head.
    const h = encodeResponseHead(status, fields);
    if (first.value.byteLength <= JOIN_BODY_MAX_BYTES) {
      await c.writeAll(concatBytes([h, frame(first.value)]));
    } else {
      await c.writeAll(h);
      await c.writeAll(frame(first.value));
    }
    let next: ReadableStreamReadResult<Uint8Array> = peek !== PENDING
      ? peek
      : (c.phase = "busy", await second);
    for (;;) {
      if (next.done) break;
      if (next.value.byteLength > 0) await c.writeAll(frame(next.value));
      c.phase = "busy";
      next = await reader.read();
    }
    if (!byClose) await c.writeAll(LAST_CHUNK);
    return keep;
  } catch (e) {
    // The client hung up (write failed) or the body errored: either way this response
    // cannot be completed; tell the body's source and drop the connection.
    c.cut = true;
    void reader.cancel(e).catch(() => {});
    return false;
  } finally {
    reader.releaseLock();
  }
}

/** Writes a {@link pulledResponse}'s body of `length` bytes, each buffer before the next read. */
async function writePulled(
  c: Http1Conn,
  body: PulledBody,
  status: number,
  fields: [string, string][],
  length: number,
  keep: boolean,
): Promise<boolean> {
  fields.push(["content-length", String(length)]);
  if (!keep) fields.push(["connection", "close"]);
  try {
    let h: Uint8Array | undefined = encodeResponseHead(status, fields);
    let sent = 0;
    for (;;) {
      c.phase = "busy";
      const b = await body.read();
      if (b === null) break;
      sent += b.byteLength;
      if (sent > length) break;
      // The head goes out with the first small buffer (one write), else on its own.
      if (h) {
        if (b.byteLength <= JOIN_BODY_MAX_BYTES) {
          await c.writeAll(concatBytes([h, b]));
        } else {
          await c.writeAll(h);
          await c.writeAll(b);
        }
        h = undefined;
      } else await c.writeAll(b);
    }
    if (h) await c.writeAll(h);
    // A body that disagrees with its length cannot be framed: end the connection.
    return keep && sent === length;
  } catch {
    return false;
  } finally {
    body.cancel();
  }
}
