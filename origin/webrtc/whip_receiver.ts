/**
 * A WHIP publisher's H.264 RTP, in: packets through the {@link RtpReorderBuffer} (WebRTC
 * repairs loss by retransmission, so late packets are expected), the RFC 6184 depacketizer
 * of `codec/rtp`, RTP time onto the hub's clock, and access units into FLV AVC tags
 * (`codec/flv/es_muxer.ts`), so every output (RTMP, HTTP-FLV, HLS, recording) serves a WHIP
 * stream as it serves an RTMP one.
 *
 * Pure and I/O-free: RTP bytes and the arrival time in, tags out. A payload that breaks
 * RFC 6184 throws {@link RtpFormatError}; the session closes on it with one log line.
 *
 * @module
 */

import { ElementaryToFlv } from "../../codec/flv/es_muxer.ts";
import type { FlvTag } from "../../codec/flv/types.ts";
import {
  decodeRtp,
  H264Depacketizer,
  type RtpPacket,
} from "../../codec/rtp/mod.ts";
import {
  DEFAULT_REORDER,
  type ReorderOptions,
  RtpReorderBuffer,
} from "./reorder.ts";

/** H.264's RTP clock (RFC 6184 §8.2.1). */
const H264_CLOCK_HZ = 90_000;
const RTP_MODULUS = 2 ** 32;

/** What a publish's input did, for its close line and metrics. */
export interface WhipReceiverStats {
  packets: number;
  frames: number;
  foreignSsrc: number;
  /** Access units dropped because a packet of theirs never came. */
  damaged: number;
}

/**
 * @example
 * ```ts
 * import { WhipReceiver } from "./whip_receiver.ts";
 * import { encodeRtp } from "../../codec/rtp/mod.ts";
 * import assert from "node:assert/strict";
 * const rx = new WhipReceiver({ encoder: "test" });
 * const sps = [0x67, 0x42, 0xc0, 0x1e, 0xda, 0x02, 0x80, 0xbf, 0xe5, 0x84, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xf0, 0x3c, 0x58, 0xba, 0x80];
 * const pkt = (seq: number, payload: number[], marker: boolean) =>
 *   encodeRtp({ marker, payloadType: 102, sequence: seq, timestamp: 9000, ssrc: 5, payload: new Uint8Array(payload) });
 * assert.deepEqual(rx.push(pkt(1, sps, false), 0), []);
 * assert.deepEqual(rx.push(pkt(2, [0x68, 0xce, 0x3c, 0x80], false), 0), []);
 * const tags = rx.push(pkt(3, [0x65, 0x88, 0x84], true), 0);
 * // onMetaData, the AVC sequence header, the keyframe.
 * assert.deepEqual(tags.map((t) => [t.type, t.data[0]]), [[18, 2], [9, 0x17], [9, 0x17]]);
 * ```
 */
export class WhipReceiver {
  readonly #reorder: RtpReorderBuffer<RtpPacket>;
  readonly #depacketizer = new H264Depacketizer();
  readonly #flv: ElementaryToFlv;
  #ssrc: number | undefined;
  #firstTs: number | undefined;
  #lastTs = 0;
  #wraps = 0;
  #lastDtsMs = -Infinity;
  readonly stats: WhipReceiverStats = {
    packets: 0,
    frames: 0,
    foreignSsrc: 0,
    damaged: 0,
  };
  /** RTP timestamps of access units a loss touched (the one before the gap and after it). */
  readonly #damaged = new Set<number>();
  #lastPacketTs: number | undefined;
  #wantKeyframe = false;

  constructor(
    options: { readonly encoder: string; readonly reorder?: ReorderOptions },
  ) {
    this.#reorder = new RtpReorderBuffer(options.reorder ?? DEFAULT_REORDER);
    this.#flv = new ElementaryToFlv({
      encoder: options.encoder,
      expectVideo: true,
    });
  }

  /** Packets given up as lost, reordered and duplicated. */
  get sequenceStats(): { lost: number; reordered: number; duplicate: number } {
    return this.#reorder.stats;
  }

  /** The picture size, once an SPS was read. */
  get picture():
    | { readonly width: number; readonly height: number }
    | undefined {
    return this.#flv.picture;
  }

  /**
   * One RTP packet of the video track, arrived at `nowMs`.
   *
   * @throws {RtpFormatError} For a malformed packet or H.264 payload.
   */
  push(bytes: Uint8Array, nowMs: number): FlvTag[] {
    const p = decodeRtp(bytes);
    this.stats.packets++;
    // One publisher, one video SSRC (RFC 9725 §4.2: no simulcast here); a stray stream is
    // dropped rather than mixed in.
    this.#ssrc ??= p.ssrc;
    if (p.ssrc !== this.#ssrc) {
      this.stats.foreignSsrc++;
      return [];
    }
    return this.#frames(this.#reorder.push(p, nowMs));
  }

  /** Gives up gaps that waited too long (a timer calls this between packets). */
  poll(nowMs: number): FlvTag[] {
    return this.#frames(this.#reorder.poll(nowMs));
  }

  /**
   * True once after a loss damaged a frame: the frames after it reference what is missing,
   * so the session asks the publisher for a keyframe (RTCP PLI).
   */
  takeKeyframeRequest(): boolean {
    const want = this.#wantKeyframe;
    this.#wantKeyframe = false;
    return want;
  }

  #frames(ordered: readonly { packet: RtpPacket; lost: boolean }[]): FlvTag[] {
    const out: FlvTag[] = [];
    for (const { packet, lost } of ordered) {
      if (lost) {
        // The gap may end the access unit before it or begin this one: both are incomplete.
        if (this.#lastPacketTs !== undefined) {
          this.#damaged.add(this.#lastPacketTs);
        }
        this.#damaged.add(packet.timestamp);
      }
      this.#lastPacketTs = packet.timestamp;
      for (const au of this.#depacketizer.push(packet, lost)) {
        if (this.#damaged.delete(au.timestamp)) {
          this.stats.damaged++;
          this.#wantKeyframe = true;
          continue;
        }
        if (this.#damaged.size > 8) this.#damaged.clear(); // bounded: old marks are moot
        const ptsMs = this.#toMs(au.timestamp);
        // RTP carries presentation times; WebRTC encoders send no B-frames, so decoding
        // order is presentation order. A frame stamped before its predecessor keeps the
        // decode clock from going back.
        const dtsMs = Math.max(ptsMs, this.#lastDtsMs);
        this.#lastDtsMs = dtsMs;
        const tags = this.#flv.pushVideo({
          codec: "avc",
          nalus: au.nalus,
          dtsMs,
          ptsMs,
        });
        if (tags.some((t) => t.type === 9 && t.data[1] === 1)) {
          this.stats.frames++;
        }
        out.push(...tags);
      }
    }
    return out;
  }

  /** RTP time to ms since the first packet, across 32-bit wraps. */
  #toMs(ts: number): number {
    if (this.#firstTs === undefined) {
      this.#firstTs = ts;
      this.#lastTs = ts;
    }
    // A timestamp far below the last one wrapped; one far above it is a straggler from
    // before the last wrap (counted in the previous epoch, the epoch kept).
    let wraps = this.#wraps;
    if (ts < this.#lastTs && this.#lastTs - ts > RTP_MODULUS / 2) {
      wraps = ++this.#wraps;
      this.#lastTs = ts;
    } else if (ts > this.#lastTs && ts - this.#lastTs > RTP_MODULUS / 2) {
      wraps--;
    } else if (ts > this.#lastTs) this.#lastTs = ts;
    const unwrapped = ts + wraps * RTP_MODULUS - this.#firstTs;
    return (unwrapped * 1000) / H264_CLOCK_HZ;
  }
}
