/**
 * A live stream's H.264, out to a WHEP viewer: the hub's FLV tags read back as access units
 * (`codec/flv/es_reader.ts`), packetized by RFC 6184 (single NAL units, FU-A; the same
 * packetizer RTSP play uses) into RTP packets on the 90 kHz clock. Playback starts at a
 * keyframe, and the parameter sets (SPS, PPS) go in band before every IDR so a decoder can
 * start there (WebRTC offers have no `sprop-parameter-sets`).
 *
 * Pure: tags in, RTP packets out. The SSRC and payload type written here are placeholders the
 * WebRTC sender rewrites with the negotiated ones; sequence numbers and timestamps are ours.
 *
 * @module
 */

import { FlvToElementary } from "../../codec/flv/es_reader.ts";
import type { FlvTag } from "../../codec/flv/types.ts";
import {
  encodeRtp,
  packetizeH264,
  RTP_MAX_PAYLOAD_BYTES,
} from "../../codec/rtp/mod.ts";

/** H.264's RTP clock (RFC 6184 §8.2.1). */
const H264_CLOCK_HZ = 90_000;
/**
 * Payload bytes per packet: the RTP default less SRTP's tag (10 bytes) and the header
 * extensions WebRTC adds (mid, abs-send-time, about 20 bytes), to stay under a 1500-byte MTU.
 */
export const WEBRTC_MAX_PAYLOAD_BYTES = RTP_MAX_PAYLOAD_BYTES - 200;

/** Options of {@link WhepSender}. */
export interface WhepSenderOptions {
  /** Random 32-bit values (the first sequence number and timestamp, RFC 3550 §5.1). */
  readonly random: () => number;
  /** The negotiated payload type (rewritten by the sender anyway). */
  readonly payloadType?: number;
}

/**
 * @example
 * ```ts
 * import { WhepSender } from "./whep_sender.ts";
 * import assert from "node:assert/strict";
 * const tx = new WhepSender({ random: () => 0 });
 * // A non-key frame before any keyframe: nothing is sent.
 * assert.deepEqual(tx.push({ type: 9, timestampMs: 0, data: new Uint8Array([0x27, 1, 0, 0, 0, 0, 0, 0, 2, 0x41, 0]) }), []);
 * ```
 */
export class WhepSender {
  readonly #reader = new FlvToElementary();
  readonly #o: WhepSenderOptions;
  #seq: number;
  readonly #baseTs: number;
  #started = false;
  /** Frames and packets sent, for metrics and the close line. */
  readonly stats = { frames: 0, packets: 0, bytes: 0, skipped: 0 };
  /** Audio the stream has that we do not send (`aac`, `mp3`, …), once seen. */
  audioCodec: string | undefined;

  constructor(options: WhepSenderOptions) {
    this.#o = options;
    this.#seq = options.random() & 0xffff;
    this.#baseTs = options.random() >>> 0;
  }

  /** True once the first keyframe went out. */
  get started(): boolean {
    return this.#started;
  }

  /** The H.264 profile_idc of the stream, once its configuration was seen. */
  get profileIdc(): number | undefined {
    return this.#reader.video?.codec === "avc"
      ? this.#reader.video.profileLevelId[0]
      : undefined;
  }

  /** One tag from the hub; returns the RTP packets to send, in order. */
  push(tag: FlvTag): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const e of this.#reader.push(tag)) {
      if (e.kind === "audio-config") this.audioCodec ??= e.track.codec;
      if (e.kind === "audio") this.audioCodec ??= this.#reader.audio?.codec;
      if (e.kind !== "video") continue;
      const v = this.#reader.video;
      if (!v || v.codec !== "avc") continue;
      if (!this.#started && !e.keyframe) {
        this.stats.skipped++;
        continue;
      }
      this.#started = true;
      const nalus = e.keyframe ? [...v.sps, ...v.pps, ...e.nalus] : e.nalus;
      const ts = (this.#baseTs +
        Math.round((e.ptsMs * H264_CLOCK_HZ) / 1000)) >>> 0;
      for (const p of packetizeH264(nalus, WEBRTC_MAX_PAYLOAD_BYTES)) {
        out.push(encodeRtp({
          marker: p.marker,
          payloadType: this.#o.payloadType ?? 96,
          sequence: this.#seq,
          timestamp: ts,
          ssrc: 0,
          payload: p.payload,
        }));
        this.#seq = (this.#seq + 1) & 0xffff;
        this.stats.packets++;
        this.stats.bytes += p.payload.byteLength;
      }
      this.stats.frames++;
    }
    return out;
  }
}
