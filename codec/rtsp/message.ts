/**
 * RTSP messages (RFC 2326 §6, §7; RFC 7826 §8) and RTP interleaved in the same TCP stream
 * (RFC 2326 §10.12: `$`, a channel byte, a 16-bit length, the packet), read incrementally with
 * bounded sizes, and written.
 *
 * @module
 */

import { RtspErrorCode, RtspFormatError } from "./errors.ts";

/** Largest request or status line plus headers, bytes. */
export const MAX_HEAD_BYTES = 16 * 1024;
/** Most header lines in one message. */
export const MAX_HEADERS = 64;
/** Largest body (an SDP of a few tracks is under 2 KiB). */
export const MAX_BODY_BYTES = 64 * 1024;
/**
 * Largest interleaved frame: an RTP packet over TCP. Encoders send at most an MTU's worth
 * (ffmpeg 1472 bytes); 16 KiB leaves room for cameras that send larger packets over TCP.
 */
export const MAX_INTERLEAVED_BYTES = 16 * 1024;
/** The `$` that starts an interleaved frame (RFC 2326 §10.12). */
export const INTERLEAVED_MARKER = 0x24;

/** Header names and values in order; names compared case-insensitively (RFC 2326 §4.2). */
export type RtspHeaders = readonly (readonly [string, string])[];

/** An RTSP request. */
export interface RtspRequest {
  readonly method: string;
  readonly uri: string;
  /** `RTSP/1.0` or `RTSP/2.0`. */
  readonly version: string;
  readonly headers: RtspHeaders;
  readonly body: Uint8Array;
}

/** An RTSP response. */
export interface RtspResponse {
  readonly version: string;
  readonly status: number;
  readonly reason: string;
  readonly headers: RtspHeaders;
  readonly body: Uint8Array;
}

/** What the reader found. */
export type RtspItem =
  | { readonly kind: "request"; readonly message: RtspRequest }
  | { readonly kind: "response"; readonly message: RtspResponse }
  | {
    readonly kind: "interleaved";
    readonly channel: number;
    readonly data: Uint8Array;
  };

/**
 * A header's first value, by case-insensitive name.
 *
 * @example
 * ```ts
 * import { header } from "./message.ts";
 * import assert from "node:assert/strict";
 * assert.equal(header([["CSeq", "3"]], "cseq"), "3");
 * ```
 */
export function header(headers: RtspHeaders, name: string): string | undefined {
  const n = name.toLowerCase();
  for (const [k, v] of headers) if (k.toLowerCase() === n) return v;
  return undefined;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const VERSION = /^RTSP\/[12]\.0$/;

function bad(why: string): RtspFormatError {
  return new RtspFormatError(
    RtspErrorCode.BadMessage,
    `Cannot read RTSP message: ${why}`,
  );
}

function findHeadEnd(b: Uint8Array, from: number, limit: number): number {
  // The head ends at CRLF CRLF (or a bare LF LF, which some clients send).
  for (let i = from; i < limit; i++) {
    if (b[i] !== 0x0a) continue;
    if (b[i + 1] === 0x0a) return i + 2;
    if (b[i + 1] === 0x0d && b[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

/** Options of {@link RtspReader}. */
export interface RtspReaderOptions {
  /** @default MAX_INTERLEAVED_BYTES */
  readonly maxInterleavedBytes?: number;
}

/**
 * Reads RTSP messages and interleaved frames from a TCP byte stream, split anywhere.
 * "Need more bytes" is no error: `push` returns what is complete.
 *
 * @example
 * ```ts
 * import { RtspReader } from "./message.ts";
 * import assert from "node:assert/strict";
 * const r = new RtspReader();
 * const enc = new TextEncoder();
 * assert.deepEqual(r.push(enc.encode("OPTIONS rtsp://h/a RTSP/1.0\r\nCSeq: 1")), []);
 * const [item] = r.push(new Uint8Array([...enc.encode("\r\n\r\n"), 0x24, 0, 0, 2, 0x80, 0]));
 * assert.equal(item?.kind === "request" && item.message.method, "OPTIONS");
 * ```
 */
export class RtspReader {
  #buf = new Uint8Array(0);
  #len = 0;
  #failed: RtspFormatError | undefined;
  readonly #maxFrame: number;

  constructor(options: RtspReaderOptions = {}) {
    this.#maxFrame = options.maxInterleavedBytes ?? MAX_INTERLEAVED_BYTES;
  }

  /** Bytes held, not yet part of a complete item. */
  get bufferedBytes(): number {
    return this.#len;
  }

  /**
   * @throws {RtspFormatError} `RTSP_BAD_MESSAGE` for a malformed head, `RTSP_TOO_LARGE` for a
   *   head, body or frame over its limit. The reader is unusable afterwards.
   */
  push(bytes: Uint8Array): RtspItem[] {
    if (this.#failed) throw this.#failed;
    if (this.#len + bytes.byteLength > this.#buf.byteLength) {
      const grown = new Uint8Array(
        Math.max(this.#buf.byteLength * 2, this.#len + bytes.byteLength, 4096),
      );
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.byteLength;
    const out: RtspItem[] = [];
    let o = 0;
    try {
      for (;;) {
        // Blank lines between messages are allowed (RFC 7826 §20.2.1: keep-alive CRLFs).
        while (
          o < this.#len && (this.#buf[o] === 0x0d || this.#buf[o] === 0x0a)
        ) o++;
        const item = this.#next(o);
        if (!item) break;
        out.push(item.item);
        o = item.end;
      }
    } catch (e) {
      if (e instanceof RtspFormatError) this.#failed = e;
      throw e;
    }
    this.#buf.copyWithin(0, o, this.#len);
    this.#len -= o;
    return out;
  }

  #next(o: number): { item: RtspItem; end: number } | undefined {
    const b = this.#buf;
    const len = this.#len;
    if (o >= len) return undefined;
    if (b[o] === INTERLEAVED_MARKER) {
      if (len - o < 4) return undefined;
      const size = (b[o + 2]! << 8) | b[o + 3]!;
      if (size > this.#maxFrame) {
        throw new RtspFormatError(
          RtspErrorCode.TooLarge,
          `Cannot read RTSP interleaved frame: must be at most ${this.#maxFrame} bytes, got ${size}`,
        );
      }
      if (len - o < 4 + size) return undefined;
      return {
        item: {
          kind: "interleaved",
          channel: b[o + 1]!,
          data: b.slice(o + 4, o + 4 + size),
        },
        end: o + 4 + size,
      };
    }
    const limit = Math.min(len, o + MAX_HEAD_BYTES);
    const headEnd = findHeadEnd(b, o, limit);
    if (headEnd < 0) {
      if (len - o >= MAX_HEAD_BYTES) {
        throw new RtspFormatError(
          RtspErrorCode.TooLarge,
          `Cannot read RTSP message: head must be at most ${MAX_HEAD_BYTES} bytes`,
        );
      }
      return undefined;
    }
    const text = new TextDecoder("latin1").decode(b.subarray(o, headEnd));
    const lines = text.split(/\r?\n/).filter((l, i, a) =>
      !(l === "" && i >= a.length - 2)
    );
    const first = lines[0] ?? "";
    if (lines.length - 1 > MAX_HEADERS) {
      throw new RtspFormatError(
        RtspErrorCode.TooLarge,
        `Cannot read RTSP message: at most ${MAX_HEADERS} headers, got ${
          lines.length - 1
        }`,
      );
    }
    const headers: [string, string][] = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon <= 0) {
        throw bad(`header line without a name: '${line.slice(0, 40)}'`);
      }
      const name = line.slice(0, colon);
      if (!TOKEN.test(name)) {
        throw bad(`bad header name '${name.slice(0, 40)}'`);
      }
      headers.push([name, line.slice(colon + 1).trim()]);
    }
    const cl = header(headers, "content-length");
    let bodyBytes = 0;
    if (cl !== undefined) {
      if (!/^\d{1,9}$/.test(cl)) {
        throw bad(`Content-Length must be a number, got '${cl.slice(0, 20)}'`);
      }
      bodyBytes = Number(cl);
      if (bodyBytes > MAX_BODY_BYTES) {
        throw new RtspFormatError(
          RtspErrorCode.TooLarge,
          `Cannot read RTSP message: body must be at most ${MAX_BODY_BYTES} bytes, got ${bodyBytes}`,
        );
      }
    }
    if (len - headEnd < bodyBytes) return undefined;
    const body = b.slice(headEnd, headEnd + bodyBytes);
    const end = headEnd + bodyBytes;
    const parts = first.split(" ");
    if (first.startsWith("RTSP/")) {
      const [version, status, ...reason] = parts;
      if (!VERSION.test(version!) || !/^\d{3}$/.test(status ?? "")) {
        throw bad(`bad status line '${first.slice(0, 60)}'`);
      }
      return {
        item: {
          kind: "response",
          message: {
            version: version!,
            status: Number(status),
            reason: reason.join(" "),
            headers,
            body,
          },
        },
        end,
      };
    }
    if (
      parts.length !== 3 || !TOKEN.test(parts[0]!) ||
      !VERSION.test(parts[2]!) || parts[1] === ""
    ) {
      throw bad(`bad request line '${first.slice(0, 60)}'`);
    }
    return {
      item: {
        kind: "request",
        message: {
          method: parts[0]!,
          uri: parts[1]!,
          version: parts[2]!,
          headers,
          body,
        },
      },
      end,
    };
  }
}

function head(
  first: string,
  headers: RtspHeaders,
  body: Uint8Array,
): Uint8Array {
  let text = `${first}\r\n`;
  let hasLength = false;
  for (const [k, v] of headers) {
    if (/[\r\n]/.test(k) || /[\r\n]/.test(v)) {
      throw new RtspFormatError(
        RtspErrorCode.BadHeader,
        `Cannot write RTSP header '${k}': it holds a line break`,
      );
    }
    if (k.toLowerCase() === "content-length") hasLength = true;
    text += `${k}: ${v}\r\n`;
  }
  if (body.byteLength > 0 && !hasLength) {
    text += `Content-Length: ${body.byteLength}\r\n`;
  }
  text += "\r\n";
  const h = new TextEncoder().encode(text);
  if (body.byteLength === 0) return h;
  const out = new Uint8Array(h.byteLength + body.byteLength);
  out.set(h);
  out.set(body, h.byteLength);
  return out;
}

/** Writes a request (Content-Length added for a body). */
export function encodeRtspRequest(r: RtspRequest): Uint8Array {
  return head(`${r.method} ${r.uri} ${r.version}`, r.headers, r.body);
}

/**
 * Writes a response.
 *
 * @example
 * ```ts
 * import { encodeRtspResponse } from "./message.ts";
 * import assert from "node:assert/strict";
 * const b = encodeRtspResponse({ version: "RTSP/1.0", status: 200, reason: "OK", headers: [["CSeq", "2"]], body: new Uint8Array(0) });
 * assert.equal(new TextDecoder().decode(b), "RTSP/1.0 200 OK\r\nCSeq: 2\r\n\r\n");
 * ```
 */
export function encodeRtspResponse(r: RtspResponse): Uint8Array {
  return head(`${r.version} ${r.status} ${r.reason}`, r.headers, r.body);
}

/**
 * Frames an RTP or RTCP packet for the RTSP connection (RFC 2326 §10.12).
 *
 * @throws {RtspFormatError} `RTSP_TOO_LARGE` for a packet over 65535 bytes.
 */
export function encodeInterleaved(
  channel: number,
  data: Uint8Array,
): Uint8Array {
  if (data.byteLength > 0xffff) {
    throw new RtspFormatError(
      RtspErrorCode.TooLarge,
      `Cannot write RTSP interleaved frame: must be at most 65535 bytes, got ${data.byteLength}`,
    );
  }
  const out = new Uint8Array(4 + data.byteLength);
  out[0] = INTERLEAVED_MARKER;
  out[1] = channel & 0xff;
  out[2] = data.byteLength >> 8;
  out[3] = data.byteLength & 0xff;
  out.set(data, 4);
  return out;
}

/** Reason phrases of the statuses we send (RFC 2326 §7.1.1). */
export const RTSP_REASONS: Readonly<Record<number, string>> = {
  200: "OK",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  409: "Conflict",
  415: "Unsupported Media Type",
  453: "Not Enough Bandwidth",
  454: "Session Not Found",
  455: "Method Not Valid in This State",
  459: "Aggregate Operation Not Allowed",
  461: "Unsupported Transport",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  505: "RTSP Version Not Supported",
};
