/**
 * Timestamps kept increasing when a live stream's source is replaced mid-stream (an edge
 * switching origins, a relay pull failing over to another upstream): the new source starts
 * its clock wherever it likes (often back at its GOP's keyframe, seconds earlier), and a
 * viewer that stays connected must never see time go back. Pure: tags in, tags out.
 *
 * After {@link TimestampRebaser.cut}, the configuration tags that open the new source
 * (`onMetaData`, sequence headers) are stamped with the last timestamp sent, and its first
 * media tag continues {@link REBASE_GAP_MS} after it; every later tag keeps that offset. A
 * forward jump is fine, going back is not (FFmpeg's FLV demuxer and hls.js both take a jump).
 *
 * @module
 */

import {
  type FlvTag,
  FlvTagType,
  isAudioSequenceHeader,
  isVideoSequenceHeader,
} from "../codec/flv/mod.ts";

/** Gap between the last tag before a source switch and the first media tag after it (ms). */
export const REBASE_GAP_MS = 40;

/** True for the tags that configure a decoder rather than carry media. */
function isConfigTag(tag: FlvTag): boolean {
  const d = tag.data;
  return tag.type === FlvTagType.Script ||
    (tag.type === FlvTagType.Video && isVideoSequenceHeader(d)) ||
    (tag.type === FlvTagType.Audio && isAudioSequenceHeader(d));
}

/**
 * Rebases one stream's timestamps across source switches.
 *
 * @example
 * ```ts
 * import { TimestampRebaser } from "./rebase.ts";
 * import assert from "node:assert/strict";
 * const r = new TimestampRebaser();
 * const v = (ts: number) => ({ type: 9 as const, timestampMs: ts, data: new Uint8Array([0x27, 1, 0, 0, 0]) });
 * assert.equal(r.retime(v(5000)).timestampMs, 5000);
 * r.cut(); // the new source starts again at 0
 * assert.equal(r.retime(v(0)).timestampMs, 5040);
 * assert.equal(r.retime(v(40)).timestampMs, 5080);
 * ```
 */
export class TimestampRebaser {
  #offset = 0;
  #lastOut = 0;
  #cut = false;

  /** The latest timestamp handed out (ms). */
  get lastOutMs(): number {
    return this.#lastOut;
  }

  /** The source was replaced: the next media tag continues after the last one out. */
  cut(): void {
    this.#cut = true;
  }

  /** The tag with its timestamp on the continuous clock (the same object when unchanged). */
  retime(tag: FlvTag): FlvTag {
    if (this.#cut) {
      if (isConfigTag(tag)) return { ...tag, timestampMs: this.#lastOut };
      this.#offset = this.#lastOut + REBASE_GAP_MS - tag.timestampMs;
      this.#cut = false;
    }
    const ts = Math.max(0, tag.timestampMs + this.#offset);
    if (ts > this.#lastOut) this.#lastOut = ts;
    return this.#offset === 0 ? tag : { ...tag, timestampMs: ts };
  }
}
