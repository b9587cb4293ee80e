/**
 * The tracks of an RTSP play, out: the hub's tags read back as elementary frames, packetized
 * per track (H.264 FU-A, H.265 FU, AAC-hbr, G.711, MPA) with the track's SSRC, sequence and
 * clock, and an RTCP sender report per track every {@link SENDER_REPORT_INTERVAL_MS} so
 * players line audio up with video (RFC 3550 §6.4.1).
 *
 * @module
 */

import {
  type EsAudioTrack,
  type EsVideoTrack,
  FlvToElementary,
} from "../../codec/flv/es_reader.ts";
import type { FlvTag } from "../../codec/flv/types.ts";
import {
  encodeRtp,
  encodeSenderReport,
  packetizeAac,
  packetizeH264,
  packetizeH265,
  packetizeMpa,
  RTP_MAX_PAYLOAD_BYTES,
} from "../../codec/rtp/mod.ts";
import type { SdpOutTrack } from "../../codec/sdp/mod.ts";
import type { Hub } from "../stream/hub.ts";

/** RTCP sender reports go out this often per track (RFC 3550 §6.2's 5 s minimum). */
export const SENDER_REPORT_INTERVAL_MS = 5000;
/** Dynamic payload types we use (RFC 3551 §6: 96..127). */
const PT_VIDEO = 96;
const PT_AAC = 97;
/** Static payload types (RFC 3551 Table 4). */
const PT_PCMU = 0;
const PT_PCMA = 8;
const PT_MPA = 14;

/** What a play of `hub` can offer: the tracks its sequence headers describe. */
export interface PlayTracks {
  readonly sdp: readonly SdpOutTrack[];
  readonly video: EsVideoTrack | undefined;
  readonly audio: EsAudioTrack | undefined;
}

/** The tracks of a live hub, from its cached sequence headers (no media is read). */
export function playTracksOf(hub: Hub): PlayTracks {
  const reader = new FlvToElementary();
  const off = hub.addListener({
    onTag: (t) => void reader.push(t),
    onEnd() {},
  });
  off();
  const sdp: SdpOutTrack[] = [];
  const v = reader.video;
  // G.711 and MP3 have no sequence header: the codec the hub saw in its frames says it.
  const seen = hub.codecs.audio;
  const a: EsAudioTrack | undefined = reader.audio ??
    (seen === "g711a" || seen === "g711u"
      ? { codec: seen, sampleRateHz: 8000, channels: 1 }
      : seen === "mp3"
      ? { codec: "mp3", sampleRateHz: 44100, channels: 2 }
      : undefined);
  if (v) {
    sdp.push({
      codec: v.codec === "hevc" ? "h265" : "h264",
      payloadType: PT_VIDEO,
      clockRate: 90000,
      channels: 1,
      control: `trackID=${sdp.length}`,
      vps: v.vps,
      sps: v.sps,
      pps: v.pps,
      profileLevelId: v.profileLevelId,
    });
  }
  if (a) {
    if (a.codec === "aac" && a.asc) {
      sdp.push({
        codec: "aac",
        payloadType: PT_AAC,
        clockRate: a.sampleRateHz,
        channels: a.channels,
        control: `trackID=${sdp.length}`,
        aacConfig: a.asc,
      });
    } else if (a.codec === "g711a" || a.codec === "g711u") {
      sdp.push({
        codec: a.codec === "g711a" ? "pcma" : "pcmu",
        payloadType: a.codec === "g711a" ? PT_PCMA : PT_PCMU,
        clockRate: 8000,
        channels: 1,
        control: `trackID=${sdp.length}`,
      });
    } else if (a.codec === "mp3") {
      sdp.push({
        codec: "mpa",
        payloadType: PT_MPA,
        clockRate: 90000,
        channels: a.channels,
        control: `trackID=${sdp.length}`,
      });
    }
  }
  return { sdp, video: v, audio: a };
}

interface OutTrack {
  readonly sdp: SdpOutTrack;
  readonly ssrc: number;
  seq: number;
  readonly baseTs: number;
  packets: number;
  octets: number;
  lastSrMs: number;
}

/** Where packets go: track index, `rtp` or `rtcp`; false when the client's queue is full. */
export type RtpSink = (
  track: number,
  kind: "rtp" | "rtcp",
  bytes: Uint8Array,
) => boolean;

/**
 * @example
 * ```ts ignore
 * const tx = new RtspSender(playTracksOf(hub).sdp, sink, { now: Date.now, random: () => 1 });
 * hub viewer: (tags) => tx.send(tags)
 * ```
 */
export class RtspSender {
  readonly #tracks: OutTrack[];
  readonly #sink: RtpSink;
  readonly #now: () => number;
  readonly #reader = new FlvToElementary();
  #set = new Set<number>();
  /** The hub time and wall time of the latest packet sent, for sender reports. */
  #last: { ms: number; wallMs: number } | undefined;

  constructor(
    tracks: readonly SdpOutTrack[],
    sink: RtpSink,
    options: { readonly now: () => number; readonly random: () => number },
  ) {
    this.#sink = sink;
    this.#now = options.now;
    this.#tracks = tracks.map((t) => ({
      sdp: t,
      ssrc: options.random() >>> 0,
      seq: options.random() & 0xffff,
      baseTs: options.random() >>> 0,
      packets: 0,
      octets: 0,
      lastSrMs: -Infinity,
    }));
  }

  /** Marks track `index` as set up (only those get packets). */
  setUp(index: number): void {
    this.#set.add(index);
  }

  get setUpCount(): number {
    return this.#set.size;
  }

  /** SSRC of track `index` (for SETUP's Transport). */
  ssrcOf(index: number): number | undefined {
    return this.#tracks[index]?.ssrc;
  }

  /** The RTP-Info value of a PLAY answer: each set-up track's next seq and its RTP base. */
  rtpInfo(baseUrl: string): string {
    return [...this.#set].sort().map((i) => {
      const t = this.#tracks[i]!;
      return `url=${baseUrl}/${t.sdp.control};seq=${t.seq};rtptime=${t.baseTs}`;
    }).join(",");
  }

  /** Tags from the hub; false when a write found the client's queue full. */
  send(tags: readonly FlvTag[]): boolean {
    for (const tag of tags) {
      for (const e of this.#reader.push(tag)) {
        if (e.kind === "video") {
          const i = this.#tracks.findIndex((t) =>
            t.sdp.codec === "h264" || t.sdp.codec === "h265"
          );
          const t = this.#tracks[i];
          if (!t || !this.#set.has(i)) continue;
          const v = this.#reader.video;
          let nalus = e.nalus;
          if (e.keyframe && v) {
            // Parameter sets in band before each keyframe: players that missed the SDP's
            // (or joined after a change) can start there.
            nalus = [...v.vps, ...v.sps, ...v.pps, ...nalus];
          }
          const payloads = t.sdp.codec === "h265"
            ? packetizeH265(nalus, RTP_MAX_PAYLOAD_BYTES)
            : packetizeH264(nalus, RTP_MAX_PAYLOAD_BYTES);
          if (!this.#emit(i, t, e.ptsMs, payloads)) return false;
        } else if (e.kind === "audio") {
          const i = this.#tracks.findIndex((t) =>
            !(t.sdp.codec === "h264" || t.sdp.codec === "h265")
          );
          const t = this.#tracks[i];
          if (!t || !this.#set.has(i)) continue;
          const payloads = t.sdp.codec === "aac"
            ? packetizeAac(e.data)
            : t.sdp.codec === "mpa"
            ? packetizeMpa(e.data)
            : splitG711(e.data);
          if (!this.#emit(i, t, e.ptsMs, payloads)) return false;
        }
      }
    }
    return true;
  }

  #emit(
    index: number,
    t: OutTrack,
    ptsMs: number,
    payloads: readonly { payload: Uint8Array; marker: boolean }[],
  ): boolean {
    const now = this.#now();
    this.#last = { ms: ptsMs, wallMs: now };
    const ts = (t.baseTs + Math.round((ptsMs * t.sdp.clockRate) / 1000)) >>> 0;
    if (now - t.lastSrMs >= SENDER_REPORT_INTERVAL_MS && t.packets > 0) {
      t.lastSrMs = now;
      this.#sink(
        index,
        "rtcp",
        encodeSenderReport({
          ssrc: t.ssrc,
          ntpMs: now,
          rtpTimestamp: ts,
          packets: t.packets,
          octets: t.octets,
        }, "meridian"),
      );
    }
    for (const p of payloads) {
      const packet = encodeRtp({
        marker: p.marker,
        payloadType: t.sdp.payloadType,
        sequence: t.seq,
        timestamp: ts,
        ssrc: t.ssrc,
        payload: p.payload,
      });
      t.seq = (t.seq + 1) & 0xffff;
      t.packets++;
      t.octets += p.payload.byteLength;
      if (!this.#sink(index, "rtp", packet)) return false;
    }
    return true;
  }
}

/** G.711 samples in packets of at most one payload each. */
function splitG711(
  data: Uint8Array,
): { payload: Uint8Array; marker: boolean }[] {
  const out: { payload: Uint8Array; marker: boolean }[] = [];
  for (let o = 0; o < data.byteLength; o += RTP_MAX_PAYLOAD_BYTES) {
    out.push({
      payload: data.subarray(o, o + RTP_MAX_PAYLOAD_BYTES),
      marker: false,
    });
  }
  return out;
}

export type { EsAudioTrack, EsVideoTrack };
