/**
 * Decodes an HTTP/1.1 request head (RFC 9112 §2–§7): the request line, the field lines and the
 * body framing they imply.
 *
 * Strict where leniency breeds request smuggling (RFC 9112 §11.2): no whitespace before the
 * colon, no obs-fold, no bare CR or LF, Content-Length and Transfer-Encoding never together,
 * a Content-Length list only of equal values, chunked only as the final coding. Strict about
 * Host too (RFC 9112 §3.2): exactly one in HTTP/1.1, at most one in HTTP/1.0, and its value an
 * authority, so a server that builds a URL from it can never have its path displaced
 * (`Host: h/obj/EVIL#`).
 *
 * @module
 */

import { Http1ErrorCode, Http1FormatError } from "./errors.ts";

/** Largest request head read (request line + fields + blank line), in bytes. */
export const MAX_HEAD_BYTES = 16 * 1024;
/** Most field lines in one head. */
export const MAX_HEADER_FIELDS = 100;
/**
 * Longest request target, in bytes; longer ones get 414. RFC 9112 §3 recommends supporting
 * request lines of at least 8000 octets; nginx's default `large_client_header_buffers` is 8k.
 */
export const MAX_TARGET_BYTES = 8 * 1024;

/** Limits of {@link decodeRequestHead}. */
export interface RequestHeadLimits {
  /** @default {@link MAX_HEAD_BYTES} */
  readonly maxHeadBytes?: number;
  /** @default {@link MAX_HEADER_FIELDS} */
  readonly maxFields?: number;
  /** @default {@link MAX_TARGET_BYTES} */
  readonly maxTargetBytes?: number;
}

/** One decoded request head. */
export interface RequestHead {
  /** Method token, case kept (RFC 9110 §9.1: methods are case-sensitive). */
  readonly method: string;
  /** The request target as sent: origin-form (`/p?q`), absolute-form or `*`. */
  readonly target: string;
  /** 1 for HTTP/1.1 (and HTTP/1.2–1.9, read as 1.1: RFC 9112 §2.3), 0 for HTTP/1.0. */
  readonly minorVersion: 0 | 1;
  /** Field names (lower-cased) and values (trimmed), flat: `[name0, value0, name1, …]`. */
  readonly fields: readonly string[];
  /**
   * The one Host field's value, a valid authority (`host[:port]`, possibly empty: RFC 9110
   * §7.2); `undefined` only in an HTTP/1.0 request without one.
   */
  readonly host: string | undefined;
  /** Bytes of the head, blank line included: where the body (or next request) starts. */
  readonly headBytes: number;
  /** Body length in bytes, or `"chunked"`; 0 when the request has no body. */
  readonly body: number | "chunked";
  /** The connection may carry another request after this one's response. */
  readonly keepAlive: boolean;
  /** The client waits for `100 Continue` before sending the body. */
  readonly expectContinue: boolean;
}

/** RFC 9110 §5.6.2 tchar. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TCHAR[c] = 1;
for (let c = 65; c <= 90; c++) TCHAR[c] = 1;
for (let c = 97; c <= 122; c++) TCHAR[c] = 1;

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const COLON = 58;

function latin1(b: Uint8Array, start: number, end: number): string {
  // Short runs (all that a head holds) go through one call; String.fromCharCode maps each byte
  // to the same code point, as RFC 9110 §5.5 field values need (obs-text stays one char).
  return end - start <= 4096
    ? String.fromCharCode.apply(null, b.subarray(start, end) as never)
    : new TextDecoder("latin1").decode(b.subarray(start, end));
}

function syntax(what: string): Http1FormatError {
  return new Http1FormatError(
    Http1ErrorCode.BadSyntax,
    `Cannot read request head: ${what}`,
  );
}

function targetTooLong(limit: number): Http1FormatError {
  return new Http1FormatError(
    Http1ErrorCode.TargetTooLong,
    `Cannot read request head: request target over ${limit} bytes`,
  );
}

function badHost(what: string): Http1FormatError {
  return new Http1FormatError(
    Http1ErrorCode.BadHost,
    `Cannot read request head: ${what}`,
  );
}

/**
 * RFC 3986 §3.2.2 reg-name characters: unreserved and sub-delims. Percent-encoding, which
 * reg-name also allows, is left out: no HTTP client sends it (names go as IDNA A-labels), and the
 * WHATWG URL parser that builds a handler's `Request` decodes it and then refuses what it
 * yields (`a%2Fb`), so accepting it would answer one request two ways.
 */
const REG_NAME = new Uint8Array(256);
for (const c of "-._~!$&'()*+,;=") REG_NAME[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) REG_NAME[c] = 1;
for (let c = 65; c <= 90; c++) REG_NAME[c] = 1;
for (let c = 97; c <= 122; c++) REG_NAME[c] = 1;

const IPV4 =
  /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const H16 = /^[0-9A-Fa-f]{1,4}$/;

/** RFC 3986 §3.2.2 IPv6address (the text between the brackets of an IP-literal). */
function isIpv6(s: string): boolean {
  const gap = s.indexOf("::");
  if (gap !== s.lastIndexOf("::") || s.includes(":::")) return false;
  const split = (t: string) => t === "" ? [] : t.split(":");
  const groups = gap < 0
    ? split(s)
    : [...split(s.slice(0, gap)), ...split(s.slice(gap + 2))];
  let n = groups.length;
  const last = groups.at(-1);
  // A dotted IPv4 may only end the address, and counts as two groups.
  if (last !== undefined && last.includes(".")) {
    if (!s.endsWith(last) || !IPV4.test(last)) return false;
    groups.pop();
    n++;
  }
  for (const g of groups) if (!H16.test(g)) return false;
  return gap < 0 ? n === 8 : n <= 7;
}

/**
 * A reg-name whose last label is a number must be a dotted-quad IPv4 (RFC 3986 §3.2.2: what
 * matches IPv4address is one; RFC 3696 §2: no all-numeric top-level label). The WHATWG URL
 * parser reads such a name as an IPv4 address and refuses `527.0.0.1` or `a.1`.
 */
function isNameOrIpv4(v: string, end: number): boolean {
  let e = end;
  if (e > 1 && v.charCodeAt(e - 1) === 46 /* . */) e--;
  const label = v.lastIndexOf(".", e - 1) + 1;
  // Most names end in a label that starts with a letter: decided at once.
  const c = v.charCodeAt(label);
  if (!(c >= 48 && c <= 57)) return true;
  return !isNumber(v, label, e) || isDottedQuad(v, end);
}

/** Whether `v[start, end)` is what the WHATWG IPv4 parser reads as a number (decimal or 0x hex). */
function isNumber(v: string, start: number, end: number): boolean {
  let i = start;
  const hex = end - start >= 2 && v.charCodeAt(i) === 48 &&
    (v.charCodeAt(i + 1) | 0x20) === 120 /* x */;
  if (hex) i += 2;
  for (; i < end; i++) {
    const c = v.charCodeAt(i);
    const digit = c >= 48 && c <= 57;
    const h = c | 0x20;
    if (!digit && !(hex && h >= 97 && h <= 102)) return false;
  }
  return true;
}

/** RFC 3986 §3.2.2 IPv4address: four decimal octets 0–255, no leading zeros, in `v[0, end)`. */
function isDottedQuad(v: string, end: number): boolean {
  let parts = 0;
  let i = 0;
  while (i < end) {
    const p0 = i;
    let n = 0;
    while (i < end && v.charCodeAt(i) >= 48 && v.charCodeAt(i) <= 57) {
      n = n * 10 + v.charCodeAt(i) - 48;
      i++;
    }
    const len = i - p0;
    if (
      len === 0 || len > 3 || n > 255 || (len > 1 && v.charCodeAt(p0) === 48)
    ) {
      return false;
    }
    parts++;
    if (i === end) break;
    if (v.charCodeAt(i) !== 46 || ++i === end) return false;
  }
  return parts === 4;
}

/**
 * Whether a Host value is `uri-host [ ":" port ]` (RFC 9110 §7.2, RFC 3986 §3.2.2–3.2.3): a
 * bracketed IPv6 literal or a reg-name (IPv4 is one), then an optional port up to 65535. The
 * empty value is allowed (a target URI without authority); an empty host with a port is not.
 * IPvFuture literals are refused for the reason of {@link REG_NAME}.
 */
function isAuthority(v: string): boolean {
  const n = v.length;
  if (n === 0) return true;
  let i = 0;
  if (v.charCodeAt(0) === 91 /* [ */) {
    const close = v.indexOf("]");
    if (close < 0 || !isIpv6(v.slice(1, close))) return false;
    i = close + 1;
  } else {
    while (i < n && REG_NAME[v.charCodeAt(i)]) i++;
    if (i === 0 || !isNameOrIpv4(v, i)) return false;
  }
  if (i === n) return true;
  if (v.charCodeAt(i) !== COLON || n - i - 1 > 5) return false;
  let port = 0;
  for (let k = i + 1; k < n; k++) {
    const c = v.charCodeAt(k);
    if (c < 48 || c > 57) return false;
    port = port * 10 + c - 48;
  }
  return port <= 65535;
}

/**
 * Finds the end of the head: the index just past the first CRLF CRLF at or after `from`.
 *
 * @returns The head length, or -1 when the blank line has not arrived.
 */
function headEnd(b: Uint8Array, from: number): number {
  const n = b.length;
  for (let i = from + 3; i < n; i++) {
    // Step on the LF of the second CRLF.
    if (
      b[i] === LF && b[i - 1] === CR && b[i - 2] === LF && b[i - 3] === CR
    ) return i + 1;
  }
  return -1;
}

/**
 * Refuses a head whose first bytes already cannot start a request (a method of tchar, one
 * space, a target without controls, not longer than `maxTarget`), so garbage and an endless
 * target are answered at once rather than at the head deadline.
 */
function checkPartialRequestLine(
  b: Uint8Array,
  p: number,
  maxTarget: number,
): void {
  const n = b.length;
  let i = p;
  while (i < n && TCHAR[b[i]!]) i++;
  if (i === n) return;
  if (i === p || b[i] !== SP) throw syntax("bad method");
  const t0 = ++i;
  while (i < n && b[i]! > SP && b[i] !== 127) i++;
  if (i - t0 > maxTarget) throw targetTooLong(maxTarget);
  if (i === n) return;
  if (b[i] !== SP && b[i] !== CR) throw syntax("bad request target");
}

/**
 * Decodes one request head from the start of `bytes`.
 *
 * Leading empty lines are skipped (RFC 9112 §2.2). Field names come out lower-cased; values
 * are trimmed of optional whitespace.
 *
 * @param bytes Buffered bytes of the connection, starting where a request should start.
 * @param limits Head size and field count limits.
 * @returns The head, or `undefined` while the blank line that ends it has not arrived (and the
 *   bytes so far are within the limit).
 * @throws {Http1FormatError} On a syntax error, an oversized head or target, a missing,
 *   repeated or malformed Host, an unsupported version, coding or expectation, or ambiguous
 *   body framing; `status` says what to answer.
 *
 * @example
 * ```ts
 * import { decodeRequestHead } from "./request_head.ts";
 * import assert from "node:assert/strict";
 * const bytes = new TextEncoder().encode("GET /live/a.m3u8 HTTP/1.1\r\nHost: x\r\n\r\n");
 * const head = decodeRequestHead(bytes)!;
 * assert.equal(head.target, "/live/a.m3u8");
 * assert.deepEqual(head.fields, ["host", "x"]);
 * assert.equal(head.keepAlive, true);
 * assert.equal(decodeRequestHead(bytes.subarray(0, 20)), undefined);
 * ```
 */
export function decodeRequestHead(
  bytes: Uint8Array,
  limits: RequestHeadLimits = {},
): RequestHead | undefined {
  const maxHead = limits.maxHeadBytes ?? MAX_HEAD_BYTES;
  const maxFields = limits.maxFields ?? MAX_HEADER_FIELDS;
  // A target that cannot fit in a head is "too long" (414), not a head too large (431).
  const maxTarget = Math.min(
    limits.maxTargetBytes ?? MAX_TARGET_BYTES,
    maxHead,
  );
  let p = 0;
  while (p + 1 < bytes.length && bytes[p] === CR && bytes[p + 1] === LF) p += 2;
  const end = headEnd(bytes, p);
  if (end < 0) {
    checkPartialRequestLine(bytes, p, maxTarget);
    if (bytes.length > maxHead) {
      throw new Http1FormatError(
        Http1ErrorCode.HeadTooLarge,
        `Cannot read request head: over ${maxHead} bytes`,
      );
    }
    return undefined;
  }
  if (end > maxHead) {
    checkPartialRequestLine(bytes, p, maxTarget);
    throw new Http1FormatError(
      Http1ErrorCode.HeadTooLarge,
      `Cannot read request head: ${end} bytes, limit ${maxHead}`,
    );
  }

  // Request line: method SP request-target SP HTTP-version CRLF (RFC 9112 §3).
  let i = p;
  while (TCHAR[bytes[i]!]) i++;
  if (i === p || bytes[i] !== SP) throw syntax("bad method");
  const method = latin1(bytes, p, i);
  const t0 = ++i;
  while (bytes[i]! > SP && bytes[i] !== 127) i++;
  if (i === t0 || bytes[i] !== SP) throw syntax("bad request target");
  if (i - t0 > maxTarget) throw targetTooLong(maxTarget);
  const target = latin1(bytes, t0, i);
  const v0 = ++i;
  while (bytes[i] !== CR && i < end) i++;
  if (bytes[i + 1] !== LF) throw syntax("bad request line ending");
  const version = latin1(bytes, v0, i);
  let minorVersion: 0 | 1;
  if (version === "HTTP/1.1") minorVersion = 1;
  else if (version === "HTTP/1.0") minorVersion = 0;
  // RFC 9112 §2.3: a higher minor version of a major version we implement is processed as the
  // highest minor version we conform to, and answered as HTTP/1.1.
  else if (/^HTTP\/1\.[2-9]$/.test(version)) minorVersion = 1;
  else if (/^HTTP\/\d\.\d$/.test(version) || version === "HTTP/2") {
    throw new Http1FormatError(
      Http1ErrorCode.BadVersion,
      `Cannot read request head: unsupported version ${version}`,
    );
  } else throw syntax("bad version");
  const c0 = target.charCodeAt(0);
  if (
    c0 !== 47 /* / */ && target !== "*" && !/^https?:\/\//i.test(target)
  ) throw syntax(`request target '${target.slice(0, 64)}' is not a path`);
  i += 2;

  // Field lines: field-name ":" OWS field-value OWS CRLF (RFC 9112 §5).
  const fields: string[] = [];
  let contentLength = -1;
  let transferEncoding: string | undefined;
  let connection: string | undefined;
  let expect: string | undefined;
  let host: string | undefined;
  while (i < end - 2) {
    const n0 = i;
    while (TCHAR[bytes[i]!]) i++;
    if (bytes[i] !== COLON) {
      throw syntax(
        i === n0 && (bytes[i] === SP || bytes[i] === HTAB)
          ? "obsolete line folding"
          : "bad field name",
      );
    }
    if (i === n0) throw syntax("empty field name");
    const n1 = i++;
    while (bytes[i] === SP || bytes[i] === HTAB) i++;
    let v1 = i;
    let last = i; // one past the last non-whitespace byte
    for (;;) {
      const c = bytes[v1]!;
      if (c === CR) break;
      // RFC 9110 §5.5: no CTLs but HTAB in a value; obs-text (0x80–0xFF) is allowed.
      if ((c < SP && c !== HTAB) || c === 127) throw syntax("bad field value");
      v1++;
      if (c !== SP && c !== HTAB) last = v1;
    }
    if (bytes[v1 + 1] !== LF) throw syntax("bad field line ending");
    if (fields.length >= maxFields * 2) {
      throw new Http1FormatError(
        Http1ErrorCode.HeadTooLarge,
        `Cannot read request head: more than ${maxFields} fields`,
      );
    }
    const name = latin1(bytes, n0, n1).toLowerCase();
    const value = latin1(bytes, i, last);
    fields.push(name, value);
    i = v1 + 2;
    switch (name) {
      case "content-length": {
        // RFC 9112 §6.3: a list of equal values may be taken as one; anything else is fatal.
        for (const part of value.split(",")) {
          const v = part.trim();
          if (!/^\d{1,15}$/.test(v)) {
            throw new Http1FormatError(
              Http1ErrorCode.BadFraming,
              `Cannot read request head: bad Content-Length '${
                value.slice(0, 32)
              }'`,
            );
          }
          const len = Number(v);
          if (contentLength >= 0 && len !== contentLength) {
            throw new Http1FormatError(
              Http1ErrorCode.BadFraming,
              "Cannot read request head: conflicting Content-Length values",
            );
          }
          contentLength = len;
        }
        break;
      }
      case "transfer-encoding":
        transferEncoding = transferEncoding === undefined
          ? value
          : `${transferEncoding}, ${value}`;
        break;
      case "connection":
        connection = connection === undefined
          ? value
          : `${connection}, ${value}`;
        break;
      case "expect":
        expect = value;
        break;
      case "host":
        // RFC 9112 §3.2: more than one Host field line is a 400, whatever the values.
        if (host !== undefined) throw badHost("more than one Host field");
        if (!isAuthority(value)) {
          throw badHost(`bad Host '${value.slice(0, 64)}'`);
        }
        host = value;
        break;
    }
  }
  // RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400 (HTTP/1.0 predates the field).
  if (host === undefined && minorVersion === 1) {
    throw badHost("no Host field in an HTTP/1.1 request");
  }

  let body: number | "chunked" = contentLength >= 0 ? contentLength : 0;
  if (transferEncoding !== undefined) {
    if (contentLength >= 0) {
      throw new Http1FormatError(
        Http1ErrorCode.BadFraming,
        "Cannot read request head: both Content-Length and Transfer-Encoding",
      );
    }
    if (minorVersion === 0) {
      // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message is a smuggling sign.
      throw new Http1FormatError(
        Http1ErrorCode.BadFraming,
        "Cannot read request head: Transfer-Encoding in an HTTP/1.0 request",
      );
    }
    const codings = transferEncoding.toLowerCase().split(",").map((c) =>
      c.trim()
    ).filter((c) => c !== "");
    if (codings.at(-1) !== "chunked") {
      throw new Http1FormatError(
        Http1ErrorCode.BadFraming,
        `Cannot read request head: Transfer-Encoding must end in chunked, got '${
          transferEncoding.slice(0, 64)
        }'`,
      );
    }
    if (codings.length > 1) {
      throw new Http1FormatError(
        Http1ErrorCode.UnsupportedCoding,
        `Cannot read request head: unsupported transfer coding '${
          transferEncoding.slice(0, 64)
        }'`,
      );
    }
    body = "chunked";
  }

  let expectContinue = false;
  if (expect !== undefined) {
    if (expect.toLowerCase() !== "100-continue") {
      throw new Http1FormatError(
        Http1ErrorCode.BadExpectation,
        `Cannot read request head: unsupported expectation '${
          expect.slice(0, 64)
        }'`,
      );
    }
    expectContinue = minorVersion === 1 && body !== 0;
  }

  // RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive".
  let keepAlive = minorVersion === 1;
  if (connection !== undefined) {
    for (const token of connection.toLowerCase().split(",")) {
      const t = token.trim();
      if (t === "close") {
        keepAlive = false;
        break;
      }
      if (t === "keep-alive") keepAlive = true;
    }
  }

  return {
    method,
    target,
    minorVersion,
    fields,
    host,
    headBytes: end,
    body,
    keepAlive,
    expectContinue,
  };
}

/**
 * The value of one field of a decoded head (the first, when it repeats), or `undefined`.
 *
 * @param head A decoded head.
 * @param name Lower-case field name.
 *
 * @example
 * ```ts
 * import { decodeRequestHead, fieldOf } from "./request_head.ts";
 * import assert from "node:assert/strict";
 * const head = decodeRequestHead(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\n\r\n"))!;
 * assert.equal(fieldOf(head, "range"), "bytes=0-1");
 * assert.equal(fieldOf(head, "accept"), undefined);
 * ```
 */
export function fieldOf(head: RequestHead, name: string): string | undefined {
  const f = head.fields;
  for (let i = 0; i < f.length; i += 2) if (f[i] === name) return f[i + 1];
  return undefined;
}
