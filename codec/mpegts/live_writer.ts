/**
 * Elementary frames (as {@link FlvToElementary} reads them from a hub) to a live MPEG-TS, for
 * SRT play: H.264 or H.265 video with an AUD and the parameter sets before every keyframe,
 * AAC as ADTS, MPEG audio as is; PAT and PMT before every keyframe (a receiver joins there)
 * and, for audio-only streams, every {@link AUDIO_ONLY_PSI_INTERVAL_MS}.
 *
 * @module
 */

import { buildAdtsFrame } from "../aac/adts.ts";
import { concatBytes } from "../bytes/concat.ts";
import type { EsAudioTrack, EsEvent, EsVideoTrack } from "../flv/es_reader.ts";
import { buildAnnexBAccessUnit } from "../h264/nalu.ts";
import { HevcNaluType, hevcNaluType } from "../h265/nalu.ts";
import { joinAnnexB } from "../h264/nalu.ts";
import { StreamType } from "./constants.ts";
import { msToTicks, TsMuxer } from "./muxer.ts";

/** PAT/PMT repetition for streams without keyframes to hang them on (audio only). */
export const AUDIO_ONLY_PSI_INTERVAL_MS = 500;
/** H.265 access unit delimiter: type 35, pic_type 2 (any), rbsp_stop_one_bit (§7.3.2.5). */
const HEVC_AUD = new Uint8Array([0x46, 0x01, 0x50]);
/** Lowest MPEG-1 audio rate; lower rates are MPEG-2 audio (stream type 0x04). */
const MPEG1_MIN_RATE_HZ = 32_000;

/**
 * @example
 * ```ts
 * import { TsLiveWriter } from "./live_writer.ts";
 * import { TsDemuxer } from "./demuxer.ts";
 * import assert from "node:assert/strict";
 * const w = new TsLiveWriter();
 * w.write({ kind: "audio-config", track: { codec: "aac", sampleRateHz: 44100, channels: 2,
 *   aac: { objectType: 2, samplingFrequencyIndex: 4, sampleRateHz: 44100, channelConfiguration: 2, sbr: false } } });
 * const ts = w.write({ kind: "audio", data: new Uint8Array(10), ptsMs: 0 });
 * assert.equal(new TsDemuxer().demux(ts).pes[0]?.data.byteLength, 17); // ADTS header + 10
 * ```
 */
export class TsLiveWriter {
  #video: EsVideoTrack | undefined;
  #audio: EsAudioTrack | undefined;
  #mux: TsMuxer | undefined;
  #lastPsiMs = -Infinity;
  #started = false;
  /** The program changed (a track appeared): the next frame carries a new PAT/PMT. */
  #psiDue = false;

  /** True once the stream has a track TS can carry. */
  get ready(): boolean {
    return this.#mux !== undefined;
  }

  #tracks(): { videoStreamType?: number; audioStreamType?: number } {
    const v = this.#video;
    const a = this.#audio;
    return {
      videoStreamType: v
        ? (v.codec === "hevc" ? StreamType.H265 : StreamType.H264)
        : undefined,
      audioStreamType: !a
        ? undefined
        : a.codec === "aac"
        ? StreamType.AacAdts
        : a.codec === "mp3"
        ? (a.sampleRateHz >= MPEG1_MIN_RATE_HZ
          ? StreamType.Mpeg1Audio
          : StreamType.Mpeg2Audio)
        : undefined,
    };
  }

  #layout(): void {
    const t = this.#tracks();
    if (t.videoStreamType === undefined && t.audioStreamType === undefined) {
      return;
    }
    if (!this.#mux) this.#mux = new TsMuxer(t);
    else this.#mux.setTracks(t);
    this.#psiDue = true;
  }

  /**
   * One event from the hub's tags.
   *
   * @returns Whole TS packets (empty when nothing is due: configs, frames before a keyframe).
   */
  write(e: EsEvent): Uint8Array {
    const parts: Uint8Array[] = [];
    switch (e.kind) {
      case "video-config":
        this.#video = e.track;
        this.#layout();
        break;
      case "audio-config":
        // G.711 has no MPEG-TS stream type: such a stream goes out video-only.
        if (e.track.codec === "aac" || e.track.codec === "mp3") {
          this.#audio = e.track;
          this.#layout();
        }
        break;
      case "video": {
        const v = this.#video;
        const mux = this.#mux;
        if (!v || !mux) break;
        if (!this.#started && !e.keyframe) break; // a receiver starts on a keyframe
        this.#started = true;
        if (e.keyframe || this.#psiDue) {
          this.#psiDue = false;
          parts.push(mux.writePsi());
          this.#lastPsiMs = e.dtsMs;
        }
        parts.push(mux.writeVideo({
          dtsTicks: msToTicks(e.dtsMs),
          ptsTicks: msToTicks(e.ptsMs),
          keyframe: e.keyframe,
          data: v.codec === "hevc"
            ? hevcAccessUnit(e.nalus, e.keyframe ? v : undefined)
            : buildAnnexBAccessUnit(e.nalus, { sps: v.sps, pps: v.pps }),
        }));
        break;
      }
      case "audio": {
        const a = this.#audio;
        const mux = this.#mux;
        if (!a || !mux) break;
        if (this.#video && !this.#started) break; // wait for the first keyframe's PSI
        if (
          this.#psiDue ||
          (!this.#video &&
            e.ptsMs - this.#lastPsiMs >= AUDIO_ONLY_PSI_INTERVAL_MS)
        ) {
          this.#psiDue = false;
          parts.push(mux.writePsi());
          this.#lastPsiMs = e.ptsMs;
        }
        const data = a.codec === "aac" && a.aac
          ? buildAdtsFrame({
            objectType: Math.min(Math.max(a.aac.objectType, 1), 4),
            samplingFrequencyIndex: a.aac.samplingFrequencyIndex,
            channelConfiguration: a.aac.channelConfiguration,
          }, e.data)
          : e.data;
        parts.push(mux.writeAudio({ ptsTicks: msToTicks(e.ptsMs), data }));
        break;
      }
      case "unsupported":
        break;
    }
    return parts.length === 1 ? parts[0]! : concatBytes(parts);
  }
}

/** An H.265 access unit in Annex B: AUD first, the parameter sets before an IRAP picture. */
function hevcAccessUnit(
  nalus: readonly Uint8Array[],
  sets: EsVideoTrack | undefined,
): Uint8Array {
  const out: Uint8Array[] = [HEVC_AUD];
  const inBand = nalus.some((n) => hevcNaluType(n) === HevcNaluType.Vps);
  if (sets && !inBand) out.push(...sets.vps, ...sets.sps, ...sets.pps);
  for (const n of nalus) if (hevcNaluType(n) !== HevcNaluType.Aud) out.push(n);
  return joinAnnexB(out);
}
