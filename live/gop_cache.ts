/**
 * What a late joiner of a live stream needs at once: `onMetaData`, the sequence headers and the
 * tags since the last keyframe (the GOP), bounded by bytes. Pure: tags in, no I/O, no clock.
 *
 * @module
 */

import {
  type FlvTag,
  FlvTagType,
  isAudioSequenceHeader,
  isVideoKeyframe,
  isVideoSequenceHeader,
} from "../codec/flv/mod.ts";

/** A tag as the fan-out keeps it: arrival order, and its encodings (one per output format). */
export interface LivePacket {
  readonly tag: FlvTag;
  readonly seq: number;
  readonly enc: Record<string, Uint8Array>;
}

/** Options of {@link GopCache}. */
export interface GopCacheOptions {
  /** Keep the GOP at all (config tags are always kept). */
  readonly enabled: boolean;
  /** A GOP larger than this is dropped (late joiners wait for the next keyframe). */
  readonly maxBytes: number;
}

/**
 * The start-up state of one stream.
 *
 * @example
 * ```ts
 * import { GopCache } from "./gop_cache.ts";
 * import assert from "node:assert/strict";
 * const c = new GopCache({ enabled: true, maxBytes: 1 << 20 });
 * c.push({ tag: { type: 9, timestampMs: 0, data: new Uint8Array([0x17, 1, 0, 0, 0]) }, seq: 0, enc: {} });
 * c.push({ tag: { type: 9, timestampMs: 40, data: new Uint8Array([0x27, 1, 0, 0, 0]) }, seq: 1, enc: {} });
 * assert.equal(c.burstBefore(2).length, 2);
 * ```
 */
export class GopCache {
  readonly #o: GopCacheOptions;
  metadata: LivePacket | undefined;
  videoConfig: LivePacket | undefined;
  audioConfig: LivePacket | undefined;
  hasAudio = false;
  hasVideo = false;
  #gop: LivePacket[] = [];
  #bytes = 0;
  #valid = false;

  constructor(options: GopCacheOptions) {
    this.#o = options;
  }

  /** Tag bytes of the cached GOP (what a late joiner gets at once). */
  get bytes(): number {
    return this.#valid ? this.#bytes : 0;
  }

  /** Takes one tag, in arrival order. */
  push(p: LivePacket): void {
    const d = p.tag.data;
    const type = p.tag.type;
    if (type === FlvTagType.Script) {
      this.metadata = p;
    } else if (type === FlvTagType.Video && d.byteLength > 0) {
      this.hasVideo = true;
      if (isVideoSequenceHeader(d)) this.videoConfig = p;
      else if (isVideoKeyframe(d)) this.#restart(this.#o.enabled);
    } else if (type === FlvTagType.Audio && d.byteLength > 0) {
      this.hasAudio = true;
      if (isAudioSequenceHeader(d)) this.audioConfig = p;
      else if (!this.hasVideo && this.#o.enabled) {
        // Audio-only: the "GOP" is the most recent audio, bounded by bytes.
        this.#valid = true;
        while (
          this.#bytes + d.byteLength > this.#o.maxBytes && this.#gop.length
        ) {
          this.#bytes -= this.#gop.shift()!.tag.data.byteLength;
        }
      }
    }
    if (!this.#valid) return;
    this.#gop.push(p);
    this.#bytes += d.byteLength;
    if (this.#bytes > this.#o.maxBytes && this.hasVideo) this.#restart(false);
  }

  /** Forgets the GOP (the stream was cut: what follows does not continue it). */
  breakGop(): void {
    this.#restart(false);
  }

  #restart(valid: boolean): void {
    this.#gop = [];
    this.#bytes = 0;
    this.#valid = valid;
  }

  /** The cached GOP's packets older than `seq` (those not yet due to every viewer anyway). */
  burstBefore(seq: number): LivePacket[] {
    return this.#valid ? this.#gop.filter((p) => p.seq < seq) : [];
  }

  /** Drops everything (the stream ended). */
  clear(): void {
    this.#restart(false);
  }
}
