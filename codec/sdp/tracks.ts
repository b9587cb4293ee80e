/**
 * What SDP says about each RTP track, for the codecs Meridian carries: H.264 (RFC 6184 §8.1:
 * `sprop-parameter-sets`, `packetization-mode`, `profile-level-id`), H.265 (RFC 7798 §7.1:
 * `sprop-vps/sps/pps`), AAC as MPEG4-GENERIC (RFC 3640 §4.1: `config`, `sizeLength`,
 * `indexLength`, `indexDeltaLength`, `mode=AAC-hbr`), G.711 (PCMU/PCMA, RFC 3551 §4.5.14),
 * MPEG audio (MPA, RFC 2250); and the inverse: the media sections a play's DESCRIBE answers.
 *
 * @module
 */

import {
  formatSdp,
  type SdpAttribute,
  sdpAttribute,
  type SdpMedia,
  type SdpSession,
} from "./sdp.ts";

/** Codecs of a track. */
export type SdpCodec = "h264" | "h265" | "aac" | "pcmu" | "pcma" | "mpa";

/** One track we can receive. */
export interface SdpTrack {
  readonly kind: "video" | "audio";
  readonly codec: SdpCodec;
  readonly payloadType: number;
  readonly clockRate: number;
  readonly channels: number;
  /** The `a=control` value (relative or absolute URL), "" when absent. */
  readonly control: string;
  /** H.264/H.265 out-of-band parameter sets. */
  readonly vps?: readonly Uint8Array[];
  readonly sps?: readonly Uint8Array[];
  readonly pps?: readonly Uint8Array[];
  /** H.264 packetization-mode (0 single NAL, 1 non-interleaved). */
  readonly packetizationMode?: number;
  /** AAC: the AudioSpecificConfig and the AU-header layout. */
  readonly aacConfig?: Uint8Array;
  readonly sizeLength?: number;
  readonly indexLength?: number;
  readonly indexDeltaLength?: number;
}

/** What {@link describeTracks} found: the tracks we carry and those we do not. */
export interface SdpTracks {
  readonly tracks: readonly SdpTrack[];
  /** Media we cannot carry, named for a log line (`video H263`). */
  readonly unsupported: readonly string[];
}

/** Static payload types of RFC 3551 Table 4-5 we carry. */
const STATIC: Readonly<
  Record<number, { codec: SdpCodec; rate: number; kind: "audio" | "video" }>
> = {
  0: { codec: "pcmu", rate: 8000, kind: "audio" },
  8: { codec: "pcma", rate: 8000, kind: "audio" },
  14: { codec: "mpa", rate: 90000, kind: "audio" },
};

function fmtp(m: SdpMedia, pt: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of m.attributes) {
    if (a.name !== "fmtp" || !a.value) continue;
    const sp = a.value.indexOf(" ");
    if (Number(a.value.slice(0, sp < 0 ? undefined : sp)) !== pt) continue;
    for (const p of a.value.slice(sp + 1).split(";")) {
      const eq = p.indexOf("=");
      if (eq > 0) {
        out.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim());
      }
    }
  }
  return out;
}

function base64(v: string): Uint8Array | undefined {
  try {
    return Uint8Array.from(atob(v.trim()), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

function sets(v: string | undefined): Uint8Array[] {
  if (!v) return [];
  return v.split(",").map(base64).filter((b): b is Uint8Array =>
    !!b && b.byteLength > 0
  );
}

function hex(v: string | undefined): Uint8Array | undefined {
  if (!v || v.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(v)) return undefined;
  return Uint8Array.from(v.match(/../g)!, (h) => parseInt(h, 16));
}

/**
 * The tracks of a description, in order (the first payload type of each `m=` line).
 *
 * @example
 * ```ts
 * import { describeTracks } from "./tracks.ts";
 * import { parseSdp } from "./sdp.ts";
 * import assert from "node:assert/strict";
 * const sdp = parseSdp([
 *   "v=0", "o=- 0 0 IN IP4 127.0.0.1", "s=x",
 *   "m=audio 0 RTP/AVP 97", "a=rtpmap:97 MPEG4-GENERIC/44100/2",
 *   "a=fmtp:97 profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=1210",
 *   "a=control:streamid=1",
 * ].join("\r\n"));
 * const [t] = describeTracks(sdp).tracks;
 * assert.deepEqual([t?.codec, t?.clockRate, t?.channels, t?.control, [...t!.aacConfig!]], ["aac", 44100, 2, "streamid=1", [0x12, 0x10]]);
 * ```
 */
export function describeTracks(session: SdpSession): SdpTracks {
  const tracks: SdpTrack[] = [];
  const unsupported: string[] = [];
  for (const m of session.media) {
    const pt = Number(m.formats[0]);
    if ((m.type !== "video" && m.type !== "audio") || !Number.isInteger(pt)) {
      unsupported.push(`${m.type} ${m.formats[0] ?? ""}`.trim());
      continue;
    }
    const control = sdpAttribute(m.attributes, "control") ?? "";
    const rtpmap = m.attributes.find((a) =>
      a.name === "rtpmap" && a.value?.startsWith(`${pt} `)
    )?.value;
    let encoding: string | undefined;
    let clockRate = 0;
    let channels = 1;
    if (rtpmap) {
      const [enc, rate, ch] = rtpmap.slice(rtpmap.indexOf(" ") + 1).split("/");
      encoding = enc?.toUpperCase();
      clockRate = Number(rate);
      channels = ch ? Number(ch) || 1 : 1;
    }
    const f = fmtp(m, pt);
    const base = { payloadType: pt, control, channels };
    if (encoding === "H264" && m.type === "video") {
      const ps = sets(f.get("sprop-parameter-sets"));
      tracks.push({
        ...base,
        kind: "video",
        codec: "h264",
        clockRate: clockRate || 90000,
        sps: ps.filter((n) => (n[0]! & 0x1f) === 7),
        pps: ps.filter((n) => (n[0]! & 0x1f) === 8),
        packetizationMode: Number(f.get("packetization-mode") ?? 0),
      });
    } else if (
      (encoding === "H265" || encoding === "HEVC") && m.type === "video"
    ) {
      tracks.push({
        ...base,
        kind: "video",
        codec: "h265",
        clockRate: clockRate || 90000,
        vps: sets(f.get("sprop-vps")),
        sps: sets(f.get("sprop-sps")),
        pps: sets(f.get("sprop-pps")),
      });
    } else if (
      encoding === "MPEG4-GENERIC" && m.type === "audio" &&
      /aac-hbr/i.test(f.get("mode") ?? "")
    ) {
      const config = hex(f.get("config"));
      if (!config) {
        unsupported.push("audio MPEG4-GENERIC without config");
        continue;
      }
      tracks.push({
        ...base,
        kind: "audio",
        codec: "aac",
        clockRate: clockRate || 44100,
        aacConfig: config,
        sizeLength: Number(f.get("sizelength") ?? 13),
        indexLength: Number(f.get("indexlength") ?? 3),
        indexDeltaLength: Number(f.get("indexdeltalength") ?? 3),
      });
    } else if (
      (encoding === "PCMU" || encoding === "PCMA") || (!rtpmap && STATIC[pt])
    ) {
      const s = STATIC[pt];
      const codec: SdpCodec = encoding === "PCMU"
        ? "pcmu"
        : encoding === "PCMA"
        ? "pcma"
        : s!.codec;
      if (codec === "mpa") {
        tracks.push({ ...base, kind: "audio", codec, clockRate: 90000 });
      } else {
        tracks.push({
          ...base,
          kind: "audio",
          codec,
          clockRate: clockRate || 8000,
        });
      }
    } else if (encoding === "MPA") {
      tracks.push({
        ...base,
        kind: "audio",
        codec: "mpa",
        clockRate: clockRate || 90000,
      });
    } else {
      unsupported.push(`${m.type} ${encoding ?? pt}`);
    }
  }
  return { tracks, unsupported };
}

/** A track of a play's DESCRIBE answer. */
export interface SdpOutTrack {
  readonly codec: SdpCodec;
  readonly payloadType: number;
  readonly clockRate: number;
  readonly channels: number;
  readonly control: string;
  readonly vps?: readonly Uint8Array[];
  readonly sps?: readonly Uint8Array[];
  readonly pps?: readonly Uint8Array[];
  /** H.264: profile_idc, constraint flags, level_idc. */
  readonly profileLevelId?: readonly [number, number, number];
  readonly aacConfig?: Uint8Array;
}

function b64(b: Uint8Array): string {
  return btoa(String.fromCharCode(...b));
}

/**
 * The description of a stream we serve: one `m=` per track, each with `a=control`.
 *
 * @example
 * ```ts
 * import { buildPlaySdp } from "./tracks.ts";
 * import assert from "node:assert/strict";
 * const text = buildPlaySdp({ name: "live/a", address: "127.0.0.1", tracks: [
 *   { codec: "pcma", payloadType: 8, clockRate: 8000, channels: 1, control: "trackID=0" }] });
 * assert.match(text, /m=audio 0 RTP\/AVP 8\r\na=rtpmap:8 PCMA\/8000\r\na=control:trackID=0/);
 * ```
 */
export function buildPlaySdp(o: {
  readonly name: string;
  readonly address: string;
  readonly tracks: readonly SdpOutTrack[];
}): string {
  const ip = o.address.includes(":") ? `IP6 ${o.address}` : `IP4 ${o.address}`;
  const media: SdpMedia[] = o.tracks.map((t) => {
    const attrs: SdpAttribute[] = [];
    const pt = t.payloadType;
    switch (t.codec) {
      case "h264": {
        attrs.push({ name: "rtpmap", value: `${pt} H264/90000` });
        const p = t.profileLevelId ?? [0x42, 0xc0, 0x1f];
        const pli = p.map((x) => x.toString(16).padStart(2, "0")).join("");
        const sprop = [...(t.sps ?? []), ...(t.pps ?? [])].map(b64).join(",");
        attrs.push({
          name: "fmtp",
          value: `${pt} packetization-mode=1;profile-level-id=${pli}${
            sprop ? `;sprop-parameter-sets=${sprop}` : ""
          }`,
        });
        break;
      }
      case "h265": {
        attrs.push({ name: "rtpmap", value: `${pt} H265/90000` });
        const v = (t.vps ?? []).map(b64).join(",");
        const s = (t.sps ?? []).map(b64).join(",");
        const p = (t.pps ?? []).map(b64).join(",");
        attrs.push({
          name: "fmtp",
          value: `${pt} sprop-vps=${v};sprop-sps=${s};sprop-pps=${p}`,
        });
        break;
      }
      case "aac": {
        attrs.push({
          name: "rtpmap",
          value: `${pt} MPEG4-GENERIC/${t.clockRate}/${t.channels}`,
        });
        const cfg = [...(t.aacConfig ?? [])].map((x) =>
          x.toString(16).padStart(2, "0")
        ).join("");
        attrs.push({
          name: "fmtp",
          value:
            `${pt} profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=${cfg}`,
        });
        break;
      }
      case "pcmu":
      case "pcma":
        attrs.push({
          name: "rtpmap",
          value: `${pt} ${t.codec.toUpperCase()}/8000`,
        });
        break;
      case "mpa":
        attrs.push({ name: "rtpmap", value: `${pt} MPA/90000` });
        break;
    }
    attrs.push({ name: "control", value: t.control });
    return {
      type: t.codec === "h264" || t.codec === "h265" ? "video" : "audio",
      port: 0,
      protocol: "RTP/AVP",
      formats: [String(pt)],
      attributes: attrs,
    };
  });
  const session: SdpSession = {
    origin: `- 0 0 IN ${ip}`,
    name: o.name,
    connection: `IN ${ip.startsWith("IP6") ? "IP6 ::" : "IP4 0.0.0.0"}`,
    attributes: [{ name: "tool", value: "Meridian" }, {
      name: "control",
      value: "*",
    }, { name: "range", value: "npt=now-" }],
    media,
  };
  return formatSdp(session);
}
