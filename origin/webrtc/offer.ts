/**
 * What a WHEP or WHIP offer (RFC 9725 §4.2, an SDP offer of RFC 8829 JSEP) asks for, read
 * before any WebRTC machinery is loaded: whether it is a WebRTC offer at all (ICE credentials
 * and a DTLS fingerprint, RFC 8839 §5.4 and RFC 8842 §5), and which of its H.264 payload
 * types we answer with (packetization-mode 1, RFC 6184 §8.1, since our access units are
 * larger than one packet; the stream's profile preferred).
 *
 * Pure: text in, a choice or a typed error out. The routes map the errors to 400 (malformed)
 * and 406 (no codec we carry).
 *
 * @module
 */

import { CodedError } from "../../errors/mod.ts";
import {
  parseSdp,
  sdpAttribute,
  SdpFormatError,
  type SdpMedia,
  type SdpSession,
} from "../../codec/sdp/mod.ts";

/** Why an offer cannot be answered. */
export const OfferErrorCode = {
  /** Not SDP, or SDP without what WebRTC needs (400). */
  Malformed: "WEBRTC_BAD_OFFER",
  /** A WebRTC offer without a usable H.264 video section (406). */
  NoCodec: "WEBRTC_NO_CODEC",
} as const;

/** One of {@link OfferErrorCode}. */
export type OfferErrorCodeValue =
  (typeof OfferErrorCode)[keyof typeof OfferErrorCode];

/** An offer we cannot answer; `code` says whether it is malformed or has no codec of ours. */
export class OfferError extends CodedError<OfferErrorCodeValue> {
  override name = "OfferError";
}

/** The H.264 payload type chosen from the offer's video section. */
export interface H264Choice {
  readonly payloadType: number;
  /** The offer's `a=fmtp` parameters of that payload type, as written ("" when none). */
  readonly fmtp: string;
  /** `profile-level-id` as 6 lower-case hex digits, or undefined when the offer has none. */
  readonly profileLevelId: string | undefined;
  readonly packetizationMode: number;
  /** The `rtcp-fb` values the offer lists for it (`nack`, `nack pli`, `goog-remb`, …). */
  readonly rtcpFeedback: readonly string[];
}

/** What an offer asks for. */
export interface OfferSummary {
  /** The video section's direction (`sendrecv` when not said, RFC 8866 §6.7). */
  readonly videoDirection: "sendrecv" | "sendonly" | "recvonly" | "inactive";
  readonly h264: H264Choice;
  /** True when the offer also has an audio section. */
  readonly hasAudio: boolean;
  /** The audio section's Opus payload type (48 kHz stereo, RFC 7587), if it offers Opus. */
  readonly opus:
    | { readonly payloadType: number; readonly fmtp: string }
    | undefined;
  /** Codec names of the video section, for the 406 text and the log line (`VP8`, `AV1`). */
  readonly videoCodecs: readonly string[];
}

const DIRECTIONS = ["sendrecv", "sendonly", "recvonly", "inactive"] as const;

function directionOf(m: SdpMedia): OfferSummary["videoDirection"] {
  for (const d of DIRECTIONS) {
    if (m.attributes.some((a) => a.name === d)) return d;
  }
  return "sendrecv";
}

/** `rtpmap` of a payload type: `H264/90000` → name and rate. */
function rtpmaps(m: SdpMedia): Map<number, { name: string; rate: number }> {
  const out = new Map<number, { name: string; rate: number }>();
  for (const a of m.attributes) {
    if (a.name !== "rtpmap" || !a.value) continue;
    const match = /^(\d{1,3})\s+([^/\s]+)\/(\d+)/.exec(a.value);
    if (!match) continue;
    out.set(Number(match[1]), {
      name: match[2]!.toUpperCase(),
      rate: Number(match[3]),
    });
  }
  return out;
}

function perPayload(m: SdpMedia, name: string, pt: number): string[] {
  const out: string[] = [];
  for (const a of m.attributes) {
    if (a.name !== name || !a.value) continue;
    const sp = a.value.indexOf(" ");
    const head = sp < 0 ? a.value : a.value.slice(0, sp);
    if (head === String(pt)) {
      out.push(sp < 0 ? "" : a.value.slice(sp + 1).trim());
    }
  }
  return out;
}

function fmtpParams(fmtp: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of fmtp.split(";")) {
    const eq = p.indexOf("=");
    if (eq > 0) {
      out.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim());
    }
  }
  return out;
}

function bad(why: string): OfferError {
  return new OfferError(OfferErrorCode.Malformed, `Cannot read offer: ${why}`);
}

/**
 * Reads an offer and chooses its H.264 payload type.
 *
 * @param preferProfileIdc The stream's H.264 profile_idc (66 baseline, 77 main, 100 high):
 *   a payload type of that profile is preferred; else constrained baseline (`42e0`), then any.
 * @throws {OfferError} `WEBRTC_BAD_OFFER` for text that is not a WebRTC offer,
 *   `WEBRTC_NO_CODEC` for one without H.264 packetization-mode 1 video.
 *
 * @example
 * ```ts
 * import { inspectOffer } from "./offer.ts";
 * import assert from "node:assert/strict";
 * const sdp = [
 *   "v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
 *   "a=fingerprint:sha-256 AA:BB", "a=ice-ufrag:abcd", "a=ice-pwd:0123456789abcdef012345",
 *   "m=video 9 UDP/TLS/RTP/SAVPF 96 97", "a=mid:0", "a=recvonly",
 *   "a=rtpmap:96 VP8/90000", "a=rtpmap:97 H264/90000",
 *   "a=fmtp:97 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", "",
 * ].join("\r\n");
 * const o = inspectOffer(sdp);
 * assert.equal(o.h264.payloadType, 97);
 * assert.equal(o.videoDirection, "recvonly");
 * ```
 */
export function inspectOffer(
  text: string,
  preferProfileIdc?: number,
): OfferSummary {
  let s: SdpSession;
  try {
    s = parseSdp(text);
  } catch (err) {
    if (err instanceof SdpFormatError) {
      throw new OfferError(OfferErrorCode.Malformed, err.message, {
        cause: err,
      });
    }
    throw err;
  }
  const video = s.media.find((m) => m.type === "video" && m.port !== 0);
  const first = video ?? s.media[0];
  if (!first) throw bad("no media section (m=)");
  const iceOf = (name: string) =>
    sdpAttribute(first.attributes, name) ?? sdpAttribute(s.attributes, name);
  if (!iceOf("ice-ufrag") || !iceOf("ice-pwd")) {
    throw bad("no ICE credentials (a=ice-ufrag, a=ice-pwd, RFC 8839 §5.4)");
  }
  if (!iceOf("fingerprint")) {
    throw bad("no DTLS fingerprint (a=fingerprint, RFC 8122 §5)");
  }
  const audio = s.media.find((m) => m.type === "audio" && m.port !== 0);
  const hasAudio = audio !== undefined;
  let opus: OfferSummary["opus"];
  if (audio) {
    const maps = rtpmaps(audio);
    for (const f of audio.formats) {
      const pt = Number(f);
      const m = maps.get(pt);
      if (m?.name === "OPUS" && m.rate === 48000) {
        opus = {
          payloadType: pt,
          fmtp: perPayload(audio, "fmtp", pt)[0] ?? "",
        };
        break;
      }
    }
  }
  if (!video) {
    throw new OfferError(
      OfferErrorCode.NoCodec,
      "The offer has no video section: this server sends and receives H.264 video",
    );
  }
  if (!/\bSAVPF?\b/.test(video.protocol)) {
    throw bad(
      `video section of protocol '${
        video.protocol.slice(0, 40)
      }' (WebRTC uses UDP/TLS/RTP/SAVPF)`,
    );
  }
  const maps = rtpmaps(video);
  const names = [...new Set([...maps.values()].map((v) => v.name))].filter(
    (n) => n !== "RTX" && n !== "RED" && n !== "ULPFEC" && n !== "FLEXFEC-03",
  );
  const candidates: H264Choice[] = [];
  for (const f of video.formats) {
    const pt = Number(f);
    const map = maps.get(pt);
    if (!map || map.name !== "H264" || map.rate !== 90000) continue;
    const fmtp = perPayload(video, "fmtp", pt)[0] ?? "";
    const params = fmtpParams(fmtp);
    const mode = Number(params.get("packetization-mode") ?? "0");
    const pli = params.get("profile-level-id");
    candidates.push({
      payloadType: pt,
      fmtp,
      profileLevelId: pli && /^[0-9a-f]{6}$/i.test(pli)
        ? pli.toLowerCase()
        : undefined,
      packetizationMode: mode,
      rtcpFeedback: perPayload(video, "rtcp-fb", pt),
    });
  }
  const usable = candidates.filter((c) => c.packetizationMode === 1);
  if (usable.length === 0) {
    throw new OfferError(
      OfferErrorCode.NoCodec,
      candidates.length > 0
        ? "The offer's H.264 is packetization-mode 0 only: this server needs packetization-mode=1 (RFC 6184 §6.3)"
        : `The offer's video has no H.264 (offered: ${
          names.join(", ").slice(0, 200) || "none"
        }); this server sends and receives H.264 only`,
    );
  }
  const profileHex = preferProfileIdc === undefined
    ? undefined
    : preferProfileIdc.toString(16).padStart(2, "0");
  const h264 = (profileHex &&
    usable.find((c) => c.profileLevelId?.startsWith(profileHex))) ||
    usable.find((c) => c.profileLevelId?.startsWith("42e0")) ||
    usable[0]!;
  return {
    videoDirection: directionOf(video),
    h264,
    hasAudio,
    opus,
    videoCodecs: names,
  };
}
