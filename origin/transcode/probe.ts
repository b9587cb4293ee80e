/**
 * What a live stream carries, as a master playlist and the transcoder need it: picture size
 * and RFC 6381 codecs strings from the stream's own sequence headers (SPS, AudioSpecificConfig),
 * and the frame rate measured from its timestamps. A raw-tag listener on the stream's hub; a
 * few comparisons per tag, sequence headers parsed only when they change.
 *
 * @module
 */

import {
  AudioCodec,
  AudioPacketType,
  decodeAudioTagHeader,
  decodeVideoTagHeader,
  type FlvTag,
  FlvTagType,
  VideoCodec,
  VideoFrameType,
  VideoPacketType,
} from "../../codec/flv/mod.ts";
import { decodeAvcDecoderConfig, parseSps } from "../../codec/h264/mod.ts";
import {
  aacCodecsOfConfig,
  avcCodecsOfSps,
  MP3_CODECS,
} from "../../codec/rfc6381/mod.ts";

/** Video frame timestamps kept for the frame rate (about 4 s at 30 fps). */
export const FRAME_RATE_WINDOW_FRAMES = 120;
/** Frame rates are reported to this many decimals (FRAME-RATE has 3, RFC 8216 §4.3.4.2). */
const FRAME_RATE_DECIMALS = 3;

/** A stream's video as the probe knows it. */
export interface ProbedVideo {
  /** The FLV codec name (`avc`, `hevc`, …). */
  readonly codec: string;
  /** RFC 6381 string, for H.264 only (the codec HLS carries here). */
  readonly codecs: string | undefined;
  readonly width: number | undefined;
  readonly height: number | undefined;
}

/** A stream's audio as the probe knows it. */
export interface ProbedAudio {
  readonly codec: string;
  /** RFC 6381 string for AAC (from the AudioSpecificConfig) and MP3. */
  readonly codecs: string | undefined;
}

/** Watches one stream's tags. */
export class StreamProbe {
  #video: ProbedVideo | undefined;
  #audio: ProbedAudio | undefined;
  #videoConfig: Uint8Array | undefined;
  #audioConfig: Uint8Array | undefined;
  #keyframes = 0;
  #frameTimes: number[] = [];
  #lastError: string | undefined;

  /** The video (after its sequence header, or its first frame for codecs without one). */
  get video(): ProbedVideo | undefined {
    return this.#video;
  }

  get audio(): ProbedAudio | undefined {
    return this.#audio;
  }

  /** Video keyframes seen. */
  get keyframes(): number {
    return this.#keyframes;
  }

  /** Why a sequence header could not be read, if one could not. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /**
   * Frames per second over the last {@link FRAME_RATE_WINDOW_FRAMES} frames, or `undefined`
   * before two frames.
   */
  get frameRate(): number | undefined {
    const t = this.#frameTimes;
    if (t.length < 2) return undefined;
    const spanMs = t[t.length - 1]! - t[0]!;
    if (spanMs <= 0) return undefined;
    const fps = ((t.length - 1) * 1000) / spanMs;
    return Number(fps.toFixed(FRAME_RATE_DECIMALS));
  }

  /** RFC 6381 strings of the stream's tracks (video first), those known. */
  get codecs(): string[] {
    const out: string[] = [];
    if (this.#video?.codecs) out.push(this.#video.codecs);
    if (this.#audio?.codecs) out.push(this.#audio.codecs);
    return out;
  }

  /** The publisher left: what was learned stays (a republish sends its headers again). */
  onEnd(): void {}

  /** A tag of the stream, in order. Never throws (a bad header is noted in `lastError`). */
  onTag(tag: FlvTag): void {
    const d = tag.data;
    if (d.byteLength === 0) return;
    try {
      if (tag.type === FlvTagType.Video) this.#onVideo(tag);
      else if (tag.type === FlvTagType.Audio) this.#onAudio(d);
    } catch (e) {
      this.#lastError = e instanceof Error ? e.message : String(e);
    }
  }

  #onVideo(tag: FlvTag): void {
    const h = decodeVideoTagHeader(tag.data);
    if (h.codec === undefined) return;
    if (h.packetType === VideoPacketType.SequenceStart) {
      const config = tag.data.subarray(h.payloadOffset);
      if (h.codec !== VideoCodec.Avc) {
        this.#video = {
          codec: h.codec,
          codecs: undefined,
          width: undefined,
          height: undefined,
        };
        return;
      }
      if (sameBytes(config, this.#videoConfig)) return;
      this.#videoConfig = config.slice();
      const avc = decodeAvcDecoderConfig(config);
      const sps = avc.sps[0];
      const size = sps ? parseSps(sps) : undefined;
      this.#video = {
        codec: h.codec,
        codecs: sps ? avcCodecsOfSps(sps) : undefined,
        width: size?.width,
        height: size?.height,
      };
      return;
    }
    if (
      h.packetType !== undefined &&
      h.packetType !== VideoPacketType.CodedFrames &&
      h.packetType !== VideoPacketType.CodedFramesX
    ) return;
    this.#video ??= {
      codec: h.codec,
      codecs: undefined,
      width: undefined,
      height: undefined,
    };
    if (h.frameType === VideoFrameType.Key) this.#keyframes++;
    const t = this.#frameTimes;
    t.push(tag.timestampMs);
    if (t.length > FRAME_RATE_WINDOW_FRAMES) t.shift();
    // A timestamp going back (a republish, a wrap) starts the measurement over.
    if (t.length >= 2 && t[t.length - 1]! < t[t.length - 2]!) {
      this.#frameTimes = [tag.timestampMs];
    }
  }

  #onAudio(d: Uint8Array): void {
    const h = decodeAudioTagHeader(d);
    if (h.codec === AudioCodec.Aac) {
      if (h.packetType !== AudioPacketType.SequenceStart) {
        this.#audio ??= { codec: h.codec, codecs: undefined };
        return;
      }
      const config = d.subarray(h.payloadOffset);
      if (sameBytes(config, this.#audioConfig)) return;
      this.#audioConfig = config.slice();
      this.#audio = { codec: h.codec, codecs: aacCodecsOfConfig(config) };
      return;
    }
    if (h.codec === undefined) return;
    if (this.#audio?.codec !== h.codec) {
      this.#audio = {
        codec: h.codec,
        codecs: h.codec === AudioCodec.Mp3 ? MP3_CODECS : undefined,
      };
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array | undefined): boolean {
  if (b === undefined || a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
