/**
 * What a live stream's `onMetaData` says about it, for listings: picture size, frame rate,
 * the encoder's name and its declared bit rates (Adobe FLV spec v10.1 §E.5, the fields
 * encoders such as FFmpeg and OBS write).
 *
 * @module
 */

import {
  Amf0EcmaArray,
  type Amf0Value,
  decodeAll,
} from "../../codec/amf0/mod.ts";

/** Longest encoder name kept (characters). */
export const MAX_ENCODER_CHARS = 64;

/** A live stream's picture and encoder, as its metadata declares them. */
export interface LiveMediaInfo {
  readonly width?: number;
  readonly height?: number;
  readonly fps?: number;
  /** `encoder` of the metadata (e.g. `Lavf61.7.100`, `obs-output module`). */
  readonly encoder?: string;
  /** Declared video bit rate, kbit/s. */
  readonly videoKbps?: number;
  /** Declared audio bit rate, kbit/s. */
  readonly audioKbps?: number;
}

/**
 * Reads an `onMetaData` script tag body (`"onMetaData"` then an object or ECMA array); an
 * unreadable one gives `{}`.
 *
 * @example
 * ```ts
 * import { describeLiveMetadata } from "./media_info.ts";
 * import { encodeAmf0 } from "../../codec/amf0/mod.ts";
 * const body = encodeAmf0("onMetaData", { width: 1280, height: 720, framerate: 30, encoder: "obs" });
 * const m = describeLiveMetadata(body);
 * if (m.width !== 1280 || m.fps !== 30 || m.encoder !== "obs") throw new Error(JSON.stringify(m));
 * ```
 */
export function describeLiveMetadata(body: Uint8Array): LiveMediaInfo {
  let values: Amf0Value[];
  try {
    values = decodeAll(body);
  } catch {
    return {};
  }
  // RTMP publishers send `@setDataFrame` first; the FLV tag keeps `onMetaData` first.
  if (values[0] === "@setDataFrame") values = values.slice(1);
  if (values[0] !== "onMetaData") return {};
  const m = values[1];
  const props = m instanceof Amf0EcmaArray
    ? m.properties
    : m && typeof m === "object" && !Array.isArray(m)
    ? m as Record<string, Amf0Value>
    : undefined;
  if (!props) return {};
  const num = (k: string) => {
    const v = props[k];
    return typeof v === "number" && Number.isFinite(v) && v > 0 ? v : undefined;
  };
  const out: Record<string, number | string> = {};
  const set = (k: string, v: number | string | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set("width", num("width"));
  set("height", num("height"));
  const fps = num("framerate") ?? num("videoframerate");
  set("fps", fps === undefined ? undefined : Math.round(fps * 100) / 100);
  const encoder = props.encoder;
  set(
    "encoder",
    typeof encoder === "string" && encoder !== ""
      ? encoder.slice(0, MAX_ENCODER_CHARS)
      : undefined,
  );
  set("videoKbps", num("videodatarate"));
  set("audioKbps", num("audiodatarate"));
  return out as LiveMediaInfo;
}
