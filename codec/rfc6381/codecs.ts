/**
 * The `codecs` parameter of RFC 6381 for the codecs HLS carries here: H.264 (`avc1.PPCCLL`,
 * RFC 6381 §3.3 with ISO/IEC 14496-15 §5.4.1: profile_idc, the constraint-flags byte and
 * level_idc of the SPS as two hex digits each, lower case as Apple's examples and ffmpeg write
 * them; the RFC leaves the case open) and AAC (`mp4a.40.N`, RFC 6381 §3.3: the MPEG-4
 * audio object type indication 0x40 and the audioObjectType of the AudioSpecificConfig in
 * decimal). HLS master playlists put them in EXT-X-STREAM-INF's CODECS (RFC 8216 §4.3.4.2).
 *
 * @module
 */

import { CodecsErrorCode, CodecsFormatError } from "./errors.ts";

/** The three SPS bytes an `avc1` string names (H.264 §7.3.2.1.1: bytes 1..3 of the NALU). */
export interface AvcCodecParameters {
  /** profile_idc (66 Baseline, 77 Main, 100 High, …). */
  readonly profileIdc: number;
  /** constraint_set0..5 flags and reserved_zero_2bits: the byte after profile_idc. */
  readonly constraintFlags: number;
  /** level_idc (31 = level 3.1). */
  readonly levelIdc: number;
}

/** audioObjectType 31 escapes to 32 + a 6-bit value (ISO/IEC 14496-3 §1.6.2.1). */
const AOT_ESCAPE = 31;
/** Largest audioObjectType the escape can signal (32 + 63). */
export const MAX_AUDIO_OBJECT_TYPE = 95;
/** The MPEG-4 Audio object type indication of MP4 registration authority (RFC 6381 §3.3). */
const MPEG4_AUDIO_OTI = "40";
/**
 * MP3 (MPEG-1 Layer III) as browsers and hls.js name it: audio object type 34 under the MPEG-4
 * audio OTI (ISO/IEC 14496-3 Table 1.17, "Layer-3").
 */
export const MP3_CODECS = "mp4a.40.34";
/** NAL unit type of a sequence parameter set (H.264 Table 7-1). */
const NAL_TYPE_SPS = 7;

function byte(name: string, v: number): string {
  if (!Number.isInteger(v) || v < 0 || v > 255) {
    throw new CodecsFormatError(
      CodecsErrorCode.BadValue,
      `Cannot build an avc1 codecs string: ${name} must be 0..255, got ${v}`,
    );
  }
  return v.toString(16).padStart(2, "0");
}

/**
 * The `avc1` codecs string of an H.264 stream.
 *
 * @param p profile_idc, constraint flags and level_idc.
 * @returns e.g. `avc1.64001f` (High, no constraints, level 3.1).
 * @throws {CodecsFormatError} `CODECS_BAD_VALUE` when a field is not a byte.
 *
 * @example
 * ```ts
 * import { avcCodecs } from "./codecs.ts";
 * import assert from "node:assert/strict";
 * assert.equal(avcCodecs({ profileIdc: 66, constraintFlags: 0xc0, levelIdc: 30 }), "avc1.42c01e");
 * ```
 */
export function avcCodecs(p: AvcCodecParameters): string {
  return `avc1.${byte("profile_idc", p.profileIdc)}${
    byte("constraint flags", p.constraintFlags)
  }${byte("level_idc", p.levelIdc)}`;
}

/**
 * The `avc1` codecs string of an SPS NAL unit (with its one-byte NAL header), the first SPS of
 * an AVCDecoderConfigurationRecord.
 *
 * @throws {CodecsFormatError} `CODECS_BAD_VALUE` when `sps` is not an SPS of at least 4 bytes.
 *
 * @example
 * ```ts
 * import { avcCodecsOfSps } from "./codecs.ts";
 * import assert from "node:assert/strict";
 * assert.equal(avcCodecsOfSps(new Uint8Array([0x67, 0x64, 0x00, 0x28, 0xac])), "avc1.640028");
 * ```
 */
export function avcCodecsOfSps(sps: Uint8Array): string {
  if (sps.byteLength < 4 || (sps[0]! & 0x1f) !== NAL_TYPE_SPS) {
    throw new CodecsFormatError(
      CodecsErrorCode.BadValue,
      `Cannot build an avc1 codecs string: expected an SPS NAL unit of at least 4 bytes, got type ${
        (sps[0] ?? 0) & 0x1f
      } and ${sps.byteLength} bytes`,
    );
  }
  return avcCodecs({
    profileIdc: sps[1]!,
    constraintFlags: sps[2]!,
    levelIdc: sps[3]!,
  });
}

/**
 * The `mp4a` codecs string of an AAC audioObjectType.
 *
 * @param audioObjectType 1..95 (2 AAC LC, 5 HE-AAC, 29 HE-AAC v2).
 * @throws {CodecsFormatError} `CODECS_BAD_VALUE` outside 1..95.
 *
 * @example
 * ```ts
 * import { aacCodecs } from "./codecs.ts";
 * import assert from "node:assert/strict";
 * assert.equal(aacCodecs(2), "mp4a.40.2");
 * ```
 */
export function aacCodecs(audioObjectType: number): string {
  if (
    !Number.isInteger(audioObjectType) || audioObjectType < 1 ||
    audioObjectType > MAX_AUDIO_OBJECT_TYPE
  ) {
    throw new CodecsFormatError(
      CodecsErrorCode.BadValue,
      `Cannot build an mp4a codecs string: audioObjectType must be 1..${MAX_AUDIO_OBJECT_TYPE}, got ${audioObjectType}`,
    );
  }
  return `mp4a.${MPEG4_AUDIO_OTI}.${audioObjectType}`;
}

/**
 * The `mp4a` codecs string of an AudioSpecificConfig: its first audioObjectType, which is what
 * RFC 6381 names (5 or 29 for HE-AAC signalled explicitly, 2 for AAC LC and for HE-AAC signalled
 * implicitly, as decoders then start as AAC LC).
 *
 * @throws {CodecsFormatError} `CODECS_BAD_VALUE` when the config is too short or names type 0.
 *
 * @example
 * ```ts
 * import { aacCodecsOfConfig } from "./codecs.ts";
 * import assert from "node:assert/strict";
 * assert.equal(aacCodecsOfConfig(new Uint8Array([0x12, 0x10])), "mp4a.40.2"); // AAC LC 44.1 kHz
 * assert.equal(aacCodecsOfConfig(new Uint8Array([0x2b, 0x92, 0x08, 0x00])), "mp4a.40.5"); // HE-AAC
 * ```
 */
export function aacCodecsOfConfig(asc: Uint8Array): string {
  if (asc.byteLength < 1) {
    throw new CodecsFormatError(
      CodecsErrorCode.BadValue,
      "Cannot build an mp4a codecs string: AudioSpecificConfig is empty",
    );
  }
  let type = asc[0]! >> 3;
  if (type === AOT_ESCAPE) {
    if (asc.byteLength < 2) {
      throw new CodecsFormatError(
        CodecsErrorCode.BadValue,
        "Cannot build an mp4a codecs string: escaped audioObjectType needs 2 bytes, got 1",
      );
    }
    type = 32 + (((asc[0]! & 0x07) << 3) | (asc[1]! >> 5));
  }
  return aacCodecs(type);
}

/** A codecs string read back: what {@link avcCodecs} or {@link aacCodecs} was given. */
export type ParsedCodecs =
  | ({ readonly kind: "avc1" } & AvcCodecParameters)
  | { readonly kind: "mp4a"; readonly audioObjectType: number };

const AVC_RE = /^avc1\.([0-9A-Fa-f]{2})([0-9A-Fa-f]{2})([0-9A-Fa-f]{2})$/;
const AAC_RE = /^mp4a\.40\.([1-9][0-9]?)$/;

/**
 * Reads one codecs string of the forms we build (tests, and a check of what a master playlist
 * lists). Other codecs are refused.
 *
 * @throws {CodecsFormatError} `CODECS_BAD_STRING` for anything else.
 *
 * @example
 * ```ts
 * import { parseCodecs } from "./codecs.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseCodecs("mp4a.40.2"), { kind: "mp4a", audioObjectType: 2 });
 * ```
 */
export function parseCodecs(text: string): ParsedCodecs {
  const avc = AVC_RE.exec(text);
  if (avc) {
    return {
      kind: "avc1",
      profileIdc: parseInt(avc[1]!, 16),
      constraintFlags: parseInt(avc[2]!, 16),
      levelIdc: parseInt(avc[3]!, 16),
    };
  }
  const aac = AAC_RE.exec(text);
  if (aac && Number(aac[1]) <= MAX_AUDIO_OBJECT_TYPE) {
    return { kind: "mp4a", audioObjectType: Number(aac[1]) };
  }
  throw new CodecsFormatError(
    CodecsErrorCode.BadString,
    `Cannot parse codecs string: expected avc1.PPCCLL or mp4a.40.N, got ${
      JSON.stringify(text.slice(0, 64))
    }`,
  );
}
