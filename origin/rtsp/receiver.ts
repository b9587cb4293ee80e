/**
 * The tracks of an RTSP publish or a pulled camera, in: RTP packets of each track through its
 * sequence check and depacketizer, times onto the hub's clock, frames into FLV tags for the
 * hub. One per session; the same for a publisher's ANNOUNCE and a source's DESCRIBE.
 *
 * What the network does (loss, reordering, duplicates) is counted and tolerated; a packet of
 * another SSRC than the track's first is dropped, and a payload that does not follow its
 * format is an {@link RtpFormatError} the session closes on.
 *
 * @module
 */

import {
  ElementaryToFlv,
  type EsAudioCodec,
} from "../../codec/flv/es_muxer.ts";
import type { FlvTag } from "../../codec/flv/types.ts";
import {
  AacDepacketizer,
  decodeRtp,
  depacketizeMpa,
  H264Depacketizer,
  H265Depacketizer,
  parseSenderReports,
  type RtpAccessUnit,
  RtpErrorCode,
  RtpFormatError,
  RtpSequence,
} from "../../codec/rtp/mod.ts";
import type { SdpTrack } from "../../codec/sdp/mod.ts";
import { RtpSessionClock, RtpTrackClock } from "./rtp_clock.ts";

/** Foreign-SSRC packets in a row after which a track is given up as taken over. */
export const MAX_FOREIGN_PACKETS = 200;

/** What happened to a session's input, for its close line. */
export interface ReceiverStats {
  packets: number;
  lost: number;
  late: number;
  foreignSsrc: number;
}

interface Track {
  readonly sdp: SdpTrack;
  readonly seq: RtpSequence;
  readonly clock: RtpTrackClock;
  readonly video?: H264Depacketizer | H265Depacketizer;
  readonly aac?: AacDepacketizer;
  foreignRun: number;
  lastDtsMs: number;
}

/**
 * @example
 * ```ts ignore
 * const rx = new RtspReceiver(describeTracks(sdp).tracks, { now: Date.now, encoder: "rtsp" });
 * for (const tag of rx.rtp(0, packet)) hub.pushTag(tag);
 * ```
 */
export class RtspReceiver {
  readonly #tracks: Track[];
  readonly #flv: ElementaryToFlv;
  readonly stats: ReceiverStats = {
    packets: 0,
    lost: 0,
    late: 0,
    foreignSsrc: 0,
  };
  /** Told once, the first time a track sees another SSRC or a gap (for one log line). */
  onAnomaly: ((what: string) => void) | undefined;
  #told = false;

  constructor(
    tracks: readonly SdpTrack[],
    options: { readonly now: () => number; readonly encoder: string },
  ) {
    const session = new RtpSessionClock(options.now);
    this.#flv = new ElementaryToFlv({
      encoder: options.encoder,
      expectVideo: tracks.some((t) => t.kind === "video"),
    });
    this.#tracks = tracks.map((t) => {
      if (t.codec === "h264" || t.codec === "h265") {
        this.#flv.setParameterSets(t.codec === "h264" ? "avc" : "hevc", {
          vps: t.vps ?? [],
          sps: t.sps ?? [],
          pps: t.pps ?? [],
        });
      }
      if (t.codec === "aac" && t.aacConfig) this.#flv.setAacConfig(t.aacConfig);
      return {
        sdp: t,
        seq: new RtpSequence(),
        clock: new RtpTrackClock(t.clockRate, session),
        ...(t.codec === "h264"
          ? { video: new H264Depacketizer() }
          : t.codec === "h265"
          ? { video: new H265Depacketizer() }
          : {}),
        ...(t.codec === "aac"
          ? {
            aac: new AacDepacketizer({
              sizeLength: t.sizeLength ?? 13,
              indexLength: t.indexLength ?? 3,
              indexDeltaLength: t.indexDeltaLength ?? 3,
            }),
          }
          : {}),
        foreignRun: 0,
        lastDtsMs: -Infinity,
      };
    });
  }

  get trackCount(): number {
    return this.#tracks.length;
  }

  #anomaly(what: string): void {
    if (this.#told) return;
    this.#told = true;
    this.onAnomaly?.(what);
  }

  /** The PLAY answer's RTP-Info of track `index`. */
  rtpInfo(index: number, rtptime: number): void {
    this.#tracks[index]?.clock.rtpInfo(rtptime);
  }

  /** An RTCP compound packet of track `index` (sender reports anchor its clock). */
  rtcp(index: number, bytes: Uint8Array): void {
    const t = this.#tracks[index];
    if (!t) return;
    try {
      for (const sr of parseSenderReports(bytes)) {
        t.clock.senderReport(sr.ntpMs, sr.rtpTimestamp);
      }
    } catch {
      // A damaged report: the clock falls back to arrival time.
    }
  }

  /**
   * An RTP packet of track `index`.
   *
   * @returns The tags for the hub.
   * @throws {RtpFormatError} For a malformed packet or payload, or a track taken over by
   *   another SSRC for {@link MAX_FOREIGN_PACKETS} packets.
   */
  rtp(index: number, bytes: Uint8Array): FlvTag[] {
    const t = this.#tracks[index];
    if (!t) return [];
    const p = decodeRtp(bytes);
    this.stats.packets++;
    const verdict = t.seq.accept(p.ssrc, p.sequence);
    if (verdict === "foreign") {
      this.stats.foreignSsrc++;
      this.#anomaly(
        `RTP of SSRC ${p.ssrc.toString(16)} on a track of SSRC ${
          t.seq.ssrc?.toString(16)
        }`,
      );
      if (++t.foreignRun >= MAX_FOREIGN_PACKETS) {
        throw new RtpFormatError(
          RtpErrorCode.BadPacket,
          `Cannot receive RTP: SSRC changed on track ${index} (${MAX_FOREIGN_PACKETS} packets of another source)`,
        );
      }
      return [];
    }
    t.foreignRun = 0;
    if (verdict === "late") {
      this.stats.late++;
      return [];
    }
    const lost = verdict === "lost";
    if (lost) {
      this.stats.lost = this.#tracks.reduce((n, x) => n + x.seq.lost, 0);
      this.#anomaly(`RTP sequence gap on track ${index}`);
    }
    const out: FlvTag[] = [];
    if (t.video) {
      for (const au of t.video.push(p, lost)) out.push(...this.#videoAu(t, au));
      return out;
    }
    if (t.aac) {
      for (const f of t.aac.push(p, lost)) {
        out.push(
          ...this.#flv.pushAudio({
            codec: "aac",
            data: f.data,
            ptsMs: t.clock.toMs(f.timestamp),
          }),
        );
      }
      return out;
    }
    const codec: EsAudioCodec | undefined = t.sdp.codec === "pcma"
      ? "g711a"
      : t.sdp.codec === "pcmu"
      ? "g711u"
      : t.sdp.codec === "mpa"
      ? "mp3"
      : undefined;
    if (!codec) return out;
    const data = codec === "mp3"
      ? depacketizeMpa(p.payload)
      : p.payload.slice();
    if (!data || data.byteLength === 0) return out;
    return this.#flv.pushAudio({
      codec,
      data,
      ptsMs: t.clock.toMs(p.timestamp),
    });
  }

  #videoAu(t: Track, au: RtpAccessUnit): FlvTag[] {
    const ptsMs = t.clock.toMs(au.timestamp);
    // RTP carries presentation times only; without B-frames (cameras, low-latency encoders)
    // decoding order is presentation order. A frame presented before its predecessor keeps
    // the decode clock moving forward (composition offset negative) rather than going back.
    const dtsMs = Math.max(ptsMs, t.lastDtsMs);
    t.lastDtsMs = dtsMs;
    return this.#flv.pushVideo({
      codec: t.sdp.codec === "h265" ? "hevc" : "avc",
      nalus: au.nalus,
      dtsMs,
      ptsMs,
    });
  }
}
