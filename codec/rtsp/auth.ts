/**
 * RTSP authentication: Basic (RFC 7617) and Digest with MD5 (RFC 7616; RFC 2069's form without
 * `qop` too, which most cameras and ffmpeg's server side use), as challenges, credentials and
 * the response computation. Pure: the server picks its nonce.
 *
 * @module
 */

import { RtspErrorCode, RtspFormatError } from "./errors.ts";
import { md5Hex } from "./md5.ts";

/** Longest Authorization or WWW-Authenticate value we parse. */
export const MAX_AUTH_HEADER_CHARS = 4096;

/** A challenge (WWW-Authenticate). */
export type AuthChallenge =
  | { readonly scheme: "basic"; readonly realm: string }
  | {
    readonly scheme: "digest";
    readonly realm: string;
    readonly nonce: string;
    readonly opaque?: string;
    readonly qop?: string;
    readonly algorithm?: string;
  };

/** Credentials a client sent (Authorization). */
export type AuthCredentials =
  | {
    readonly scheme: "basic";
    readonly user: string;
    readonly password: string;
  }
  | {
    readonly scheme: "digest";
    readonly user: string;
    readonly realm: string;
    readonly nonce: string;
    readonly uri: string;
    readonly response: string;
    readonly qop?: string;
    readonly nc?: string;
    readonly cnonce?: string;
    readonly algorithm?: string;
  };

function bad(what: string, value: string): RtspFormatError {
  return new RtspFormatError(
    RtspErrorCode.BadHeader,
    `Cannot parse ${what}: got '${value.slice(0, 60)}'`,
  );
}

/** `k=v, k="quoted"` pairs (RFC 7235 §2.1 auth-param), names lowercased. */
function params(text: string, what: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < text.length) {
    while (text[i] === " " || text[i] === ",") i++;
    if (i >= text.length) break;
    const eq = text.indexOf("=", i);
    if (eq < 0) throw bad(what, text);
    const name = text.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    let value = "";
    if (text[i] === '"') {
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === "\\" && i + 1 < text.length) i++;
        value += text[i];
        i++;
      }
      if (text[i] !== '"') throw bad(what, text);
      i++;
    } else {
      const end = text.indexOf(",", i);
      value = (end < 0 ? text.slice(i) : text.slice(i, end)).trim();
      i = end < 0 ? text.length : end;
    }
    out.set(name, value);
  }
  return out;
}

/**
 * Parses one WWW-Authenticate value.
 *
 * @returns The challenge, or `undefined` for a scheme we do not speak.
 * @throws {RtspFormatError} `RTSP_BAD_HEADER` for a malformed one.
 */
export function parseChallenge(value: string): AuthChallenge | undefined {
  if (value.length > MAX_AUTH_HEADER_CHARS) {
    throw bad("WWW-Authenticate", value);
  }
  const sp = value.indexOf(" ");
  const scheme = (sp < 0 ? value : value.slice(0, sp)).toLowerCase();
  const p = params(sp < 0 ? "" : value.slice(sp + 1), "WWW-Authenticate");
  if (scheme === "basic") return { scheme, realm: p.get("realm") ?? "" };
  if (scheme !== "digest") return undefined;
  const nonce = p.get("nonce");
  if (!nonce) throw bad("WWW-Authenticate", value);
  return {
    scheme,
    realm: p.get("realm") ?? "",
    nonce,
    ...(p.has("opaque") ? { opaque: p.get("opaque")! } : {}),
    ...(p.has("qop") ? { qop: p.get("qop")! } : {}),
    ...(p.has("algorithm") ? { algorithm: p.get("algorithm")! } : {}),
  };
}

/** Writes a challenge. */
export function formatChallenge(c: AuthChallenge): string {
  return c.scheme === "basic"
    ? `Basic realm="${c.realm}"`
    : `Digest realm="${c.realm}", nonce="${c.nonce}", algorithm="MD5"`;
}

/**
 * Parses an Authorization value.
 *
 * @throws {RtspFormatError} `RTSP_BAD_HEADER` for an unknown scheme or a malformed value.
 *
 * @example
 * ```ts
 * import { parseCredentials } from "./auth.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseCredentials("Basic dTpwdw=="), { scheme: "basic", user: "u", password: "pw" });
 * ```
 */
export function parseCredentials(value: string): AuthCredentials {
  if (value.length > MAX_AUTH_HEADER_CHARS) throw bad("Authorization", value);
  const sp = value.indexOf(" ");
  const scheme = (sp < 0 ? value : value.slice(0, sp)).toLowerCase();
  const rest = sp < 0 ? "" : value.slice(sp + 1).trim();
  if (scheme === "basic") {
    let decoded: string;
    try {
      decoded = new TextDecoder("utf-8", { fatal: true }).decode(
        Uint8Array.from(atob(rest), (c) => c.charCodeAt(0)),
      );
    } catch {
      throw bad("Authorization", value);
    }
    const colon = decoded.indexOf(":");
    if (colon < 0) throw bad("Authorization", "Basic <no colon>");
    return {
      scheme,
      user: decoded.slice(0, colon),
      password: decoded.slice(colon + 1),
    };
  }
  if (scheme !== "digest") throw bad("Authorization", value);
  const p = params(rest, "Authorization");
  const need = (k: string) => {
    const v = p.get(k);
    if (v === undefined) throw bad("Authorization", `Digest without ${k}`);
    return v;
  };
  return {
    scheme,
    user: need("username"),
    realm: need("realm"),
    nonce: need("nonce"),
    uri: need("uri"),
    response: need("response").toLowerCase(),
    ...(p.has("qop") ? { qop: p.get("qop")! } : {}),
    ...(p.has("nc") ? { nc: p.get("nc")! } : {}),
    ...(p.has("cnonce") ? { cnonce: p.get("cnonce")! } : {}),
    ...(p.has("algorithm") ? { algorithm: p.get("algorithm")! } : {}),
  };
}

/**
 * The Digest response (RFC 7616 §3.4.1 with MD5; RFC 2069's form without qop).
 *
 * @example
 * ```ts
 * import { digestResponse } from "./auth.ts";
 * import assert from "node:assert/strict";
 * // RFC 2617 §3.5's example (qop=auth).
 * assert.equal(digestResponse({ user: "Mufasa", realm: "testrealm@host.com", password: "Circle Of Life",
 *   method: "GET", uri: "/dir/index.html", nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093", qop: "auth",
 *   nc: "00000001", cnonce: "0a4f113b" }), "6629fae49393a05397450978507c4ef1");
 * ```
 */
export function digestResponse(a: {
  readonly user: string;
  readonly realm: string;
  readonly password: string;
  readonly method: string;
  readonly uri: string;
  readonly nonce: string;
  readonly qop?: string | undefined;
  readonly nc?: string | undefined;
  readonly cnonce?: string | undefined;
}): string {
  const ha1 = md5Hex(`${a.user}:${a.realm}:${a.password}`);
  const ha2 = md5Hex(`${a.method}:${a.uri}`);
  return a.qop
    ? md5Hex(
      `${ha1}:${a.nonce}:${a.nc ?? ""}:${a.cnonce ?? ""}:${a.qop}:${ha2}`,
    )
    : md5Hex(`${ha1}:${a.nonce}:${ha2}`);
}

/**
 * True when Digest credentials answer `nonce` for `method` with `password` (the realm and
 * nonce must be ours).
 */
export function checkDigest(
  c: Extract<AuthCredentials, { scheme: "digest" }>,
  expected: {
    readonly realm: string;
    readonly nonce: string;
    readonly method: string;
  },
  password: string,
): boolean {
  if (c.realm !== expected.realm || c.nonce !== expected.nonce) return false;
  const want = digestResponse({
    user: c.user,
    realm: c.realm,
    password,
    method: expected.method,
    uri: c.uri,
    nonce: c.nonce,
    qop: c.qop === "auth" ? c.qop : undefined,
    nc: c.nc,
    cnonce: c.cnonce,
  });
  // Equal lengths, compared in full: the time does not say where they differ.
  let diff = want.length ^ c.response.length;
  for (let i = 0; i < want.length; i++) {
    diff |= want.charCodeAt(i) ^ (c.response.charCodeAt(i) || 0);
  }
  return diff === 0;
}

/**
 * The Authorization value a client sends to answer `challenge` (client side: pulled sources).
 */
export function answerChallenge(
  challenge: AuthChallenge,
  a: {
    readonly user: string;
    readonly password: string;
    readonly method: string;
    readonly uri: string;
    readonly cnonce: string;
  },
): string {
  if (challenge.scheme === "basic") {
    const bytes = new TextEncoder().encode(`${a.user}:${a.password}`);
    return `Basic ${btoa(String.fromCharCode(...bytes))}`;
  }
  const qop = challenge.qop?.split(",").map((s) => s.trim()).includes("auth")
    ? "auth"
    : undefined;
  const nc = "00000001";
  const response = digestResponse({
    user: a.user,
    realm: challenge.realm,
    password: a.password,
    method: a.method,
    uri: a.uri,
    nonce: challenge.nonce,
    qop,
    nc,
    cnonce: a.cnonce,
  });
  let v =
    `Digest username="${a.user}", realm="${challenge.realm}", nonce="${challenge.nonce}", uri="${a.uri}", response="${response}"`;
  if (challenge.opaque !== undefined) v += `, opaque="${challenge.opaque}"`;
  if (qop) v += `, qop=${qop}, nc=${nc}, cnonce="${a.cnonce}"`;
  if (challenge.algorithm) v += `, algorithm=${challenge.algorithm}`;
  return v;
}
