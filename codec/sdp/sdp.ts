/**
 * SDP (RFC 8866, which obsoletes RFC 4566): the session description RTSP's ANNOUNCE and
 * DESCRIBE carry. Parsed into sessions and media with their attributes; written back. Every
 * size is bounded: a client chooses what it sends.
 *
 * @module
 */

import { CodedError } from "../../errors/mod.ts";

/** Largest SDP we parse (a few tracks take under 2 KiB). */
export const MAX_SDP_BYTES = 64 * 1024;
/** Most media sections (an RTSP stream has one or two). */
export const MAX_SDP_MEDIA = 16;
/** Most lines in one description. */
export const MAX_SDP_LINES = 1000;

/** A malformed description. */
export class SdpFormatError extends CodedError<"SDP_BAD"> {
  override name = "SdpFormatError";
  constructor(message: string) {
    super("SDP_BAD", message);
  }
}

/** One `a=` line: `name` or `name:value`. */
export interface SdpAttribute {
  readonly name: string;
  readonly value: string | undefined;
}

/** One `m=` section. */
export interface SdpMedia {
  /** `video`, `audio`, `application`, … */
  readonly type: string;
  readonly port: number;
  /** `RTP/AVP`, … */
  readonly protocol: string;
  /** Payload types (RTP/AVP) as written. */
  readonly formats: readonly string[];
  readonly attributes: readonly SdpAttribute[];
  /** `c=` of the media, if any. */
  readonly connection?: string;
}

/** A session description. */
export interface SdpSession {
  readonly origin: string;
  readonly name: string;
  readonly connection?: string;
  readonly attributes: readonly SdpAttribute[];
  readonly media: readonly SdpMedia[];
}

/** The first value of attribute `name`. */
export function sdpAttribute(
  attributes: readonly SdpAttribute[],
  name: string,
): string | undefined {
  return attributes.find((a) => a.name === name)?.value;
}

function bad(why: string): SdpFormatError {
  return new SdpFormatError(`Cannot parse SDP: ${why}`);
}

/**
 * Parses a description. Unknown line types are skipped (RFC 8866 §5: "SHOULD ignore").
 *
 * @throws {SdpFormatError} For a missing `v=0`, a malformed `m=` line or a size over the limits.
 *
 * @example
 * ```ts
 * import { parseSdp } from "./sdp.ts";
 * import assert from "node:assert/strict";
 * const s = parseSdp("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:streamid=0\r\n");
 * assert.equal(s.media[0]?.formats[0], "96");
 * assert.equal(s.media[0]?.attributes[1]?.value, "streamid=0");
 * ```
 */
export function parseSdp(text: string): SdpSession {
  if (text.length > MAX_SDP_BYTES) {
    throw bad(`must be at most ${MAX_SDP_BYTES} bytes, got ${text.length}`);
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  if (lines.length > MAX_SDP_LINES) {
    throw bad(`at most ${MAX_SDP_LINES} lines, got ${lines.length}`);
  }
  if (lines[0]?.trim() !== "v=0") {
    throw bad(`must start with v=0, got '${(lines[0] ?? "").slice(0, 20)}'`);
  }
  let origin = "";
  let name = "";
  let connection: string | undefined;
  const attributes: SdpAttribute[] = [];
  const media: {
    type: string;
    port: number;
    protocol: string;
    formats: string[];
    attributes: SdpAttribute[];
    connection?: string;
  }[] = [];
  for (const raw of lines.slice(1)) {
    const line = raw.trimEnd();
    if (line.length < 2 || line[1] !== "=") {
      throw bad(`expected 'x=…', got '${line.slice(0, 40)}'`);
    }
    const type = line[0];
    const value = line.slice(2);
    const m = media[media.length - 1];
    switch (type) {
      case "o":
        origin = value;
        break;
      case "s":
        name = value;
        break;
      case "c":
        if (m) m.connection = value;
        else connection = value;
        break;
      case "a": {
        const colon = value.indexOf(":");
        const a = colon < 0
          ? { name: value, value: undefined }
          : { name: value.slice(0, colon), value: value.slice(colon + 1) };
        (m ? m.attributes : attributes).push(a);
        break;
      }
      case "m": {
        if (media.length >= MAX_SDP_MEDIA) {
          throw bad(`at most ${MAX_SDP_MEDIA} media sections`);
        }
        const parts = value.split(" ").filter((p) => p !== "");
        const port = Number((parts[1] ?? "").split("/")[0]);
        if (
          parts.length < 4 || !Number.isInteger(port) || port < 0 ||
          port > 65535
        ) {
          throw bad(`bad media line 'm=${value.slice(0, 60)}'`);
        }
        media.push({
          type: parts[0]!,
          port,
          protocol: parts[2]!,
          formats: parts.slice(3),
          attributes: [],
        });
        break;
      }
      default:
        break; // t=, b=, i=, k=, …: not needed to receive or send media
    }
  }
  return {
    origin,
    name,
    ...(connection === undefined ? {} : { connection }),
    attributes,
    media,
  };
}

/**
 * Writes a description (CRLF line ends, RFC 8866 §5).
 *
 * @example
 * ```ts
 * import { formatSdp, parseSdp } from "./sdp.ts";
 * import assert from "node:assert/strict";
 * const s = { origin: "- 1 1 IN IP4 127.0.0.1", name: "live/a", attributes: [{ name: "control", value: "*" }],
 *   media: [{ type: "audio", port: 0, protocol: "RTP/AVP", formats: ["0"], attributes: [] }] };
 * assert.deepEqual(parseSdp(formatSdp(s)).media[0]?.formats, ["0"]);
 * ```
 */
export function formatSdp(s: SdpSession): string {
  const out = ["v=0", `o=${s.origin}`, `s=${s.name || "-"}`];
  if (s.connection) out.push(`c=${s.connection}`);
  out.push("t=0 0");
  const attr = (a: SdpAttribute) =>
    `a=${a.name}${a.value === undefined ? "" : `:${a.value}`}`;
  for (const a of s.attributes) out.push(attr(a));
  for (const m of s.media) {
    out.push(`m=${m.type} ${m.port} ${m.protocol} ${m.formats.join(" ")}`);
    if (m.connection) out.push(`c=${m.connection}`);
    for (const a of m.attributes) out.push(attr(a));
  }
  return out.join("\r\n") + "\r\n";
}
