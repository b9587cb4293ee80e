/**
 * RTSP header values: Transport (RFC 2326 §12.39), Session (§12.37), RTP-Info (§12.33) and
 * Public. Parsed from untrusted input with bounded sizes; written for our answers.
 *
 * @module
 */

import { RtspErrorCode, RtspFormatError } from "./errors.ts";

/** Longest Session id we accept or make (RFC 2326 §3.4: at least 8 octets; RFC 7826: up to 256). */
export const MAX_SESSION_ID_CHARS = 256;

/** One transport spec of a Transport header. */
export interface RtspTransport {
  /** `RTP/AVP` (UDP) or `RTP/AVP/TCP`. */
  readonly protocol: "udp" | "tcp";
  readonly unicast: boolean;
  /** TCP: the interleaved channels. */
  readonly interleaved?: readonly [number, number];
  /** UDP: the client's RTP and RTCP ports. */
  readonly clientPort?: readonly [number, number];
  /** UDP: the server's RTP and RTCP ports. */
  readonly serverPort?: readonly [number, number];
  readonly mode?: "play" | "record";
  readonly ssrc?: number;
}

function bad(what: string, value: string): RtspFormatError {
  return new RtspFormatError(
    RtspErrorCode.BadHeader,
    `Cannot parse ${what}: got '${value.slice(0, 80)}'`,
  );
}

function pair(what: string, v: string, max: number): [number, number] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(v);
  if (!m) throw bad(what, v);
  const a = Number(m[1]);
  const b = m[2] === undefined ? a + 1 : Number(m[2]);
  if (a > max || b > max) throw bad(what, v);
  return [a, b];
}

/**
 * Parses the Transport header into its specs (a client may offer several, comma-separated).
 *
 * @throws {RtspFormatError} `RTSP_BAD_HEADER` for a spec we cannot read.
 *
 * @example
 * ```ts
 * import { parseTransport } from "./headers.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseTransport("RTP/AVP/TCP;unicast;interleaved=0-1;mode=record"), [
 *   { protocol: "tcp", unicast: true, interleaved: [0, 1], mode: "record" },
 * ]);
 * ```
 */
export function parseTransport(value: string): RtspTransport[] {
  const out: RtspTransport[] = [];
  for (const spec of value.split(",")) {
    const parts = spec.trim().split(";").map((p) => p.trim());
    const proto = parts[0]?.toUpperCase();
    let protocol: "udp" | "tcp";
    if (proto === "RTP/AVP" || proto === "RTP/AVP/UDP") protocol = "udp";
    else if (proto === "RTP/AVP/TCP") protocol = "tcp";
    else throw bad("Transport", spec);
    const t: {
      -readonly [K in keyof RtspTransport]: RtspTransport[K];
    } = { protocol, unicast: true };
    for (const p of parts.slice(1)) {
      const eq = p.indexOf("=");
      const k = (eq < 0 ? p : p.slice(0, eq)).toLowerCase();
      const v = eq < 0 ? "" : p.slice(eq + 1);
      if (k === "unicast") t.unicast = true;
      else if (k === "multicast") t.unicast = false;
      else if (k === "interleaved") {
        t.interleaved = pair("Transport interleaved", v, 255);
      } else if (k === "client_port") {
        t.clientPort = pair("Transport client_port", v, 65535);
      } else if (k === "server_port") {
        t.serverPort = pair("Transport server_port", v, 65535);
      } else if (k === "mode") {
        const m = v.replace(/"/g, "").toLowerCase();
        if (m === "record" || m === "receive") t.mode = "record";
        else if (m === "play") t.mode = "play";
        else throw bad("Transport mode", v);
      } else if (k === "ssrc") {
        if (!/^[0-9A-Fa-f]{1,8}$/.test(v)) throw bad("Transport ssrc", v);
        t.ssrc = parseInt(v, 16);
      }
      // Other parameters (ttl, destination, source, …) are not ours to act on.
    }
    out.push(t);
  }
  return out;
}

/**
 * Writes one transport spec.
 *
 * @example
 * ```ts
 * import { formatTransport } from "./headers.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatTransport({ protocol: "udp", unicast: true, clientPort: [5000, 5001], serverPort: [8000, 8001] }),
 *   "RTP/AVP;unicast;client_port=5000-5001;server_port=8000-8001");
 * ```
 */
export function formatTransport(t: RtspTransport): string {
  const parts = [
    t.protocol === "tcp" ? "RTP/AVP/TCP" : "RTP/AVP",
    t.unicast ? "unicast" : "multicast",
  ];
  if (t.interleaved) {
    parts.push(`interleaved=${t.interleaved[0]}-${t.interleaved[1]}`);
  }
  if (t.clientPort) {
    parts.push(`client_port=${t.clientPort[0]}-${t.clientPort[1]}`);
  }
  if (t.serverPort) {
    parts.push(`server_port=${t.serverPort[0]}-${t.serverPort[1]}`);
  }
  if (t.ssrc !== undefined) {
    parts.push(`ssrc=${t.ssrc.toString(16).toUpperCase().padStart(8, "0")}`);
  }
  if (t.mode) parts.push(`mode=${t.mode}`);
  return parts.join(";");
}

/**
 * The id of a Session header (`id;timeout=60`).
 *
 * @throws {RtspFormatError} `RTSP_BAD_HEADER` for an empty or over-long id.
 */
export function parseSession(
  value: string,
): { id: string; timeoutSeconds: number | undefined } {
  const [id, ...params] = value.split(";").map((s) => s.trim());
  if (!id || id.length > MAX_SESSION_ID_CHARS || !/^[\x21-\x7e]+$/.test(id)) {
    throw bad("Session", value);
  }
  let timeoutSeconds: number | undefined;
  for (const p of params) {
    const m = /^timeout=(\d{1,6})$/i.exec(p);
    if (m) timeoutSeconds = Number(m[1]);
  }
  return { id, timeoutSeconds };
}

/** One entry of an RTP-Info header. */
export interface RtpInfoEntry {
  readonly url: string;
  readonly seq?: number;
  readonly rtptime?: number;
}

/**
 * Parses RTP-Info (`url=…;seq=…;rtptime=…`, comma-separated per track).
 *
 * @example
 * ```ts
 * import { parseRtpInfo } from "./headers.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseRtpInfo("url=rtsp://h/a/trackID=0;seq=7;rtptime=90000"), [
 *   { url: "rtsp://h/a/trackID=0", seq: 7, rtptime: 90000 },
 * ]);
 * ```
 */
export function parseRtpInfo(value: string): RtpInfoEntry[] {
  const out: RtpInfoEntry[] = [];
  // URLs may hold commas only in theory; split on ",url=" boundaries.
  for (const entry of value.split(/,(?=\s*url=)/i)) {
    const e: { url: string; seq?: number; rtptime?: number } = { url: "" };
    for (const p of entry.split(";")) {
      const eq = p.indexOf("=");
      if (eq < 0) continue;
      const k = p.slice(0, eq).trim().toLowerCase();
      const v = p.slice(eq + 1).trim();
      if (k === "url") e.url = v;
      else if (k === "seq" && /^\d{1,5}$/.test(v)) e.seq = Number(v) & 0xffff;
      else if (k === "rtptime" && /^\d{1,10}$/.test(v)) {
        e.rtptime = Number(v) >>> 0;
      }
    }
    if (e.url) out.push(e);
  }
  return out;
}
