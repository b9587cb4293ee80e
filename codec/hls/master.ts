/**
 * HLS master (multivariant) playlists (RFC 8216 §4.3.4): one EXT-X-STREAM-INF per variant,
 * rendered for the origin's adaptive-bitrate sets and parsed back (tests, VOD jobs' checks).
 *
 * @module
 */

import { PlaylistErrorCode, PlaylistFormatError } from "./errors.ts";

/** One variant stream (RFC 8216 §4.3.4.2). */
export interface MasterVariant {
  /** The variant's media playlist, relative to the master. */
  readonly uri: string;
  /** Peak segment bit rate, bits/s (required). */
  readonly bandwidth: number;
  /** Average segment bit rate, bits/s. */
  readonly averageBandwidth?: number | undefined;
  /** Coded picture size (omitted for audio-only variants). */
  readonly resolution?:
    | { readonly width: number; readonly height: number }
    | undefined;
  /** Maximum frame rate, frames/s (written with 3 decimals, §4.3.4.2). */
  readonly frameRate?: number | undefined;
  /** RFC 6381 codecs strings of every elementary stream of the variant. */
  readonly codecs: readonly string[];
}

/** A master playlist. */
export interface MasterPlaylist {
  /**
   * EXT-X-INDEPENDENT-SEGMENTS (§4.3.5.1): every segment of every variant starts with what
   * decodes on its own (an IDR), so a player may switch at any segment boundary.
   */
  readonly independentSegments: boolean;
  readonly variants: readonly MasterVariant[];
}

/** Largest bit rate written (bits/s): a decimal-integer of §4.2 a number still holds exactly. */
const MAX_BANDWIDTH = Number.MAX_SAFE_INTEGER;
/** Largest picture side (pixels) a RESOLUTION may name. */
export const MAX_RESOLUTION_PIXELS = 16_384;
/** Highest FRAME-RATE accepted (frames/s). */
export const MAX_FRAME_RATE = 1000;
/** Attribute lists longer than this are refused by the parser (characters). */
const MAX_ATTRIBUTE_LIST_CHARS = 4096;
/** Characters a quoted-string may not hold (§4.2: no line feed, carriage return or `"`). */
const BAD_QUOTED = /[\r\n"]/;

function bad(message: string): PlaylistFormatError {
  return new PlaylistFormatError(PlaylistErrorCode.BadValue, message);
}

function checkVariant(v: MasterVariant): void {
  const positive = (n: number | undefined, max: number) =>
    n !== undefined && Number.isInteger(n) && n > 0 && n <= max;
  if (!positive(v.bandwidth, MAX_BANDWIDTH)) {
    throw bad(
      `Cannot render master playlist: BANDWIDTH must be a positive integer, got ${v.bandwidth} for ${v.uri}`,
    );
  }
  if (
    v.averageBandwidth !== undefined &&
    !positive(v.averageBandwidth, MAX_BANDWIDTH)
  ) {
    throw bad(
      `Cannot render master playlist: AVERAGE-BANDWIDTH must be a positive integer, got ${v.averageBandwidth} for ${v.uri}`,
    );
  }
  if (
    v.resolution !== undefined &&
    (!positive(v.resolution.width, MAX_RESOLUTION_PIXELS) ||
      !positive(v.resolution.height, MAX_RESOLUTION_PIXELS))
  ) {
    throw bad(
      `Cannot render master playlist: RESOLUTION must be 1..${MAX_RESOLUTION_PIXELS} a side, got ${v.resolution.width}x${v.resolution.height} for ${v.uri}`,
    );
  }
  if (
    v.frameRate !== undefined &&
    !(Number.isFinite(v.frameRate) && v.frameRate > 0 &&
      v.frameRate <= MAX_FRAME_RATE)
  ) {
    throw bad(
      `Cannot render master playlist: FRAME-RATE must be a number 0..${MAX_FRAME_RATE}, got ${v.frameRate} for ${v.uri}`,
    );
  }
  if (
    v.codecs.length === 0 ||
    v.codecs.some((c) => c === "" || c.includes(",") || BAD_QUOTED.test(c))
  ) {
    throw bad(
      `Cannot render master playlist: CODECS must list at least one codecs string without commas or quotes, got ${
        JSON.stringify(v.codecs)
      } for ${v.uri}`,
    );
  }
  if (v.uri === "" || v.uri.startsWith("#") || /[\r\n]/.test(v.uri)) {
    throw bad(
      `Cannot render master playlist: URI must be one line not starting with #, got ${
        JSON.stringify(v.uri.slice(0, 80))
      }`,
    );
  }
}

/**
 * Renders a master playlist.
 *
 * @param playlist The variants, in the order players should prefer them (a player starts with
 *   the first, RFC 8216 §6.3.1 leaves the choice to it; Apple's authoring guide lists the start
 *   variant first).
 * @returns The m3u8 text, lines ending in "\n".
 * @throws {PlaylistFormatError} `HLS_BAD_VALUE` for a bit rate, size or frame rate out of
 *   range, an empty CODECS or a URI that is not one line.
 *
 * @example
 * ```ts
 * import { renderMasterPlaylist } from "./master.ts";
 * import assert from "node:assert/strict";
 * const text = renderMasterPlaylist({ independentSegments: true, variants: [
 *   { uri: "cam/cam_360p.m3u8", bandwidth: 900000, averageBandwidth: 800000,
 *     resolution: { width: 640, height: 360 }, frameRate: 30, codecs: ["avc1.64001e", "mp4a.40.2"] },
 * ] });
 * assert.equal(text, [
 *   "#EXTM3U", "#EXT-X-INDEPENDENT-SEGMENTS",
 *   '#EXT-X-STREAM-INF:BANDWIDTH=900000,AVERAGE-BANDWIDTH=800000,RESOLUTION=640x360,FRAME-RATE=30.000,CODECS="avc1.64001e,mp4a.40.2"',
 *   "cam/cam_360p.m3u8", "",
 * ].join("\n"));
 * ```
 */
export function renderMasterPlaylist(playlist: MasterPlaylist): string {
  if (playlist.variants.length === 0) {
    throw bad("Cannot render master playlist: it needs at least one variant");
  }
  const lines = ["#EXTM3U"];
  if (playlist.independentSegments) lines.push("#EXT-X-INDEPENDENT-SEGMENTS");
  for (const v of playlist.variants) {
    checkVariant(v);
    const attrs = [`BANDWIDTH=${v.bandwidth}`];
    if (v.averageBandwidth !== undefined) {
      attrs.push(`AVERAGE-BANDWIDTH=${v.averageBandwidth}`);
    }
    if (v.resolution) {
      attrs.push(`RESOLUTION=${v.resolution.width}x${v.resolution.height}`);
    }
    if (v.frameRate !== undefined) {
      attrs.push(`FRAME-RATE=${v.frameRate.toFixed(3)}`);
    }
    attrs.push(`CODECS="${v.codecs.join(",")}"`);
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(",")}`, v.uri);
  }
  return lines.join("\n") + "\n";
}

/**
 * Splits an attribute list (RFC 8216 §4.2): `NAME=value` pairs separated by commas, where a
 * quoted-string value may hold commas.
 *
 * @throws {PlaylistFormatError} `HLS_BAD_TAG` for a malformed list.
 */
export function parseAttributeList(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const fail = (why: string) =>
    new PlaylistFormatError(
      PlaylistErrorCode.BadTag,
      `Cannot parse attribute list: ${why}, got "${text.slice(0, 80)}"`,
    );
  if (text.length > MAX_ATTRIBUTE_LIST_CHARS) {
    throw fail(`longer than ${MAX_ATTRIBUTE_LIST_CHARS} characters`);
  }
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    if (eq < 0) throw fail("an attribute without =");
    const name = text.slice(i, eq);
    if (!/^[A-Z0-9-]+$/.test(name)) throw fail(`bad attribute name '${name}'`);
    let value: string;
    let end: number;
    if (text[eq + 1] === '"') {
      const close = text.indexOf('"', eq + 2);
      if (close < 0) throw fail("an unterminated quoted string");
      value = text.slice(eq + 1, close + 1);
      end = close + 1;
    } else {
      const comma = text.indexOf(",", eq + 1);
      end = comma < 0 ? text.length : comma;
      value = text.slice(eq + 1, end);
    }
    if (out.has(name)) throw fail(`attribute ${name} repeats`);
    out.set(name, value);
    if (end < text.length && text[end] !== ",") {
      throw fail("text after a quoted string");
    }
    i = end + 1;
  }
  return out;
}

function unquote(v: string): string {
  return v.startsWith('"') && v.endsWith('"') && v.length >= 2
    ? v.slice(1, -1)
    : v;
}

function integerOf(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,16}$/.test(v) || !Number.isSafeInteger(Number(v))) {
    throw new PlaylistFormatError(
      PlaylistErrorCode.BadTag,
      `Cannot parse master playlist: ${name} must be a decimal integer, got "${
        v.slice(0, 40)
      }"`,
    );
  }
  return Number(v);
}

/**
 * Parses a master playlist: EXT-X-STREAM-INF variants and EXT-X-INDEPENDENT-SEGMENTS; other
 * tags are ignored (RFC 8216 §4.1).
 *
 * @throws {PlaylistFormatError} `HLS_MISSING_HEADER`, `HLS_BAD_TAG` (a malformed attribute, a
 *   variant without BANDWIDTH or URI), `HLS_MISSING_TAG` (no variant).
 *
 * @example
 * ```ts
 * import { parseMasterPlaylist } from "./master.ts";
 * import assert from "node:assert/strict";
 * const p = parseMasterPlaylist('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS="mp4a.40.2"\na.m3u8\n');
 * assert.deepEqual(p.variants[0]?.codecs, ["mp4a.40.2"]);
 * ```
 */
export function parseMasterPlaylist(text: string): MasterPlaylist {
  const lines = text.split(/\r?\n/);
  if (lines[0]?.trim() !== "#EXTM3U") {
    throw new PlaylistFormatError(
      PlaylistErrorCode.MissingHeader,
      `Cannot parse master playlist: first line must be #EXTM3U, got "${
        lines[0]?.slice(0, 40)
      }"`,
    );
  }
  let independentSegments = false;
  const variants: MasterVariant[] = [];
  let pending: Omit<MasterVariant, "uri"> | undefined;
  for (const raw of lines.slice(1)) {
    const line = raw.trim();
    if (line === "") continue;
    if (!line.startsWith("#")) {
      if (!pending) continue; // a URI without STREAM-INF is not a variant (a media playlist)
      variants.push({ ...pending, uri: line });
      pending = undefined;
      continue;
    }
    if (line === "#EXT-X-INDEPENDENT-SEGMENTS") {
      independentSegments = true;
      continue;
    }
    if (!line.startsWith("#EXT-X-STREAM-INF:")) continue;
    if (pending) {
      throw new PlaylistFormatError(
        PlaylistErrorCode.BadTag,
        "Cannot parse master playlist: EXT-X-STREAM-INF without a URI line",
      );
    }
    const a = parseAttributeList(line.slice("#EXT-X-STREAM-INF:".length));
    const bandwidth = integerOf("BANDWIDTH", a.get("BANDWIDTH"));
    if (bandwidth === undefined) {
      throw new PlaylistFormatError(
        PlaylistErrorCode.BadTag,
        "Cannot parse master playlist: EXT-X-STREAM-INF needs BANDWIDTH (RFC 8216 §4.3.4.2)",
      );
    }
    const res = a.get("RESOLUTION");
    const m = res === undefined ? undefined : /^(\d{1,5})x(\d{1,5})$/.exec(res);
    if (res !== undefined && !m) {
      throw new PlaylistFormatError(
        PlaylistErrorCode.BadTag,
        `Cannot parse master playlist: RESOLUTION must be WIDTHxHEIGHT, got "${
          res.slice(0, 40)
        }"`,
      );
    }
    const fr = a.get("FRAME-RATE");
    const frameRate = fr === undefined ? undefined : Number(fr);
    if (
      frameRate !== undefined &&
      (!/^\d+(\.\d+)?$/.test(fr!) || !Number.isFinite(frameRate))
    ) {
      throw new PlaylistFormatError(
        PlaylistErrorCode.BadTag,
        `Cannot parse master playlist: FRAME-RATE must be a decimal number, got "${
          fr!.slice(0, 40)
        }"`,
      );
    }
    const codecs = a.get("CODECS");
    pending = {
      bandwidth,
      averageBandwidth: integerOf(
        "AVERAGE-BANDWIDTH",
        a.get("AVERAGE-BANDWIDTH"),
      ),
      resolution: m ? { width: Number(m[1]), height: Number(m[2]) } : undefined,
      frameRate,
      codecs: codecs === undefined ? [] : unquote(codecs).split(","),
    };
  }
  if (pending) {
    throw new PlaylistFormatError(
      PlaylistErrorCode.BadTag,
      "Cannot parse master playlist: the last EXT-X-STREAM-INF has no URI line",
    );
  }
  if (variants.length === 0) {
    throw new PlaylistFormatError(
      PlaylistErrorCode.MissingTag,
      "Cannot parse master playlist: no EXT-X-STREAM-INF variant",
    );
  }
  return { independentSegments, variants };
}
