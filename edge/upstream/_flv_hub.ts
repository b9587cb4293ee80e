/**
 * The edge's per-stream FLV fan-out point: the same shape as the origin's hub (sequence headers
 * and the last GOP kept for late joiners, one encoding per tag shared by every viewer, writes
 * coalesced per interval, a slow viewer dropped at its queue cap), reduced to the one format
 * the edge serves. Module-private to `flv_fanout.ts`.
 *
 * @module
 */

import { concatBytes } from "../../codec/bytes/concat.ts";
import {
  encodeFlvHeader,
  encodeFlvTag,
  type FlvTag,
  FlvTagType,
  isAudioSequenceHeader,
  isVideoKeyframe,
  isVideoSequenceHeader,
} from "../../codec/flv/mod.ts";

/** One HTTP-FLV viewer. */
export interface FlvViewer {
  readonly id: string;
  /**
   * Queues bytes for the socket. `bytes` is shared with other viewers: never mutate it.
   * @returns false when the viewer's queue is over its cap (the hub then drops it).
   */
  write(bytes: Uint8Array): boolean;
  /** `dropped`: the viewer was too slow (abort the response); otherwise the stream ended. */
  close(reason: string, dropped: boolean): void;
}

/** Options of {@link FlvHub}. */
export interface FlvHubOptions {
  readonly flushIntervalMs: number;
  readonly maxGopCacheBytes: number;
  /** Called with the reason when a viewer is dropped. */
  readonly onDrop?: (viewer: FlvViewer, reason: string) => void;
}

interface Packet {
  readonly tag: FlvTag;
  readonly seq: number;
  bytes: Uint8Array | undefined;
}

/** A live stream's fan-out on the edge. */
export class FlvHub {
  readonly #o: FlvHubOptions;
  #seq = 0;
  #hasAudio = false;
  #hasVideo = false;
  #metadata: Packet | undefined;
  #videoConfig: Packet | undefined;
  #audioConfig: Packet | undefined;
  #gop: Packet[] = [];
  #gopBytes = 0;
  #gopValid = false;
  #pending: Packet[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #viewers = new Map<FlvViewer, { waitingKeyframe: boolean }>();
  #ended = false;

  constructor(options: FlvHubOptions) {
    this.#o = options;
  }

  get viewerCount(): number {
    return this.#viewers.size;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Media announced by the first upstream FLV header. */
  setMedia(hasAudio: boolean, hasVideo: boolean): void {
    this.#hasAudio ||= hasAudio;
    this.#hasVideo ||= hasVideo;
  }

  /** The upstream was lost: the GOP cache no longer continues into what comes next. */
  breakGop(): void {
    this.flush();
    this.#gop = [];
    this.#gopBytes = 0;
    this.#gopValid = false;
  }

  #encode(p: Packet): Uint8Array {
    return (p.bytes ??= encodeFlvTag(p.tag));
  }

  /** One upstream tag (timestamps already made monotonic). */
  pushTag(tag: FlvTag): void {
    if (this.#ended) return;
    const p: Packet = { tag, seq: this.#seq++, bytes: undefined };
    const d = tag.data;
    if (tag.type === FlvTagType.Script) this.#metadata = p;
    else if (tag.type === FlvTagType.Video && d.byteLength > 0) {
      this.#hasVideo = true;
      if (isVideoSequenceHeader(d)) this.#videoConfig = p;
      else if (isVideoKeyframe(d)) {
        this.#gop = [];
        this.#gopBytes = 0;
        this.#gopValid = this.#o.maxGopCacheBytes > 0;
      }
    } else if (tag.type === FlvTagType.Audio && d.byteLength > 0) {
      this.#hasAudio = true;
      if (isAudioSequenceHeader(d)) this.#audioConfig = p;
      else if (!this.#hasVideo && this.#o.maxGopCacheBytes > 0) {
        this.#gopValid = true;
        while (
          this.#gopBytes + d.byteLength > this.#o.maxGopCacheBytes &&
          this.#gop.length
        ) this.#gopBytes -= this.#gop.shift()!.tag.data.byteLength;
      }
    }
    if (this.#gopValid) {
      this.#gop.push(p);
      this.#gopBytes += d.byteLength;
      if (this.#gopBytes > this.#o.maxGopCacheBytes && this.#hasVideo) {
        this.#gop = [];
        this.#gopBytes = 0;
        this.#gopValid = false;
      }
    }
    if (this.#viewers.size === 0) return;
    this.#pending.push(p);
    if (this.#o.flushIntervalMs <= 0) this.flush();
    else {
      this.#timer ??= setTimeout(() => this.flush(), this.#o.flushIntervalMs);
    }
  }

  /** Writes the coalesced tags: one shared buffer for every viewer. */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const pending = this.#pending;
    if (pending.length === 0) return;
    this.#pending = [];
    let shared: Uint8Array | undefined;
    for (const [viewer, entry] of this.#viewers) {
      let bytes: Uint8Array;
      if (entry.waitingKeyframe) {
        const k = pending.findIndex((p) =>
          p.tag.type === FlvTagType.Video && isVideoKeyframe(p.tag.data)
        );
        if (k < 0) continue;
        entry.waitingKeyframe = false;
        bytes = this.#join(pending.slice(k));
      } else bytes = shared ??= this.#join(pending);
      if (bytes.byteLength > 0 && !viewer.write(bytes)) {
        this.#drop(viewer, "slow viewer: queue over its cap");
      }
    }
  }

  #join(packets: Packet[]): Uint8Array {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (const p of packets) {
      const b = this.#encode(p);
      parts.push(b);
      total += b.byteLength;
    }
    return concatBytes(parts, total);
  }

  #drop(viewer: FlvViewer, reason: string): void {
    if (!this.#viewers.delete(viewer)) return;
    this.#o.onDrop?.(viewer, reason);
    viewer.close(reason, true);
  }

  /** Adds a viewer: header, metadata, sequence headers and the cached GOP at once. */
  addViewer(viewer: FlvViewer): void {
    if (this.#ended) {
      viewer.close("stream ended", false);
      return;
    }
    const firstPending = this.#pending[0]?.seq ?? this.#seq;
    const burst = this.#gopValid
      ? this.#gop.filter((p) => p.seq < firstPending)
      : [];
    const ts = burst[0]?.tag.timestampMs ??
      this.#pending[0]?.tag.timestampMs ?? 0;
    const parts: Uint8Array[] = [
      encodeFlvHeader({ hasAudio: this.#hasAudio, hasVideo: this.#hasVideo }),
    ];
    for (const p of [this.#metadata, this.#videoConfig, this.#audioConfig]) {
      // Config tags carry the first media timestamp: no backwards jump for the player.
      if (p) parts.push(encodeFlvTag({ ...p.tag, timestampMs: ts }));
    }
    for (const p of burst) parts.push(this.#encode(p));
    const total = parts.reduce((n, p) => n + p.byteLength, 0);
    this.#viewers.set(viewer, {
      waitingKeyframe: this.#hasVideo && burst.length === 0,
    });
    if (!viewer.write(concatBytes(parts, total))) {
      this.#drop(viewer, "slow viewer: start-up burst over its queue cap");
    }
  }

  removeViewer(viewer: FlvViewer): void {
    this.#viewers.delete(viewer);
  }

  /** Ends the stream: flush, then close every viewer cleanly. Idempotent. */
  end(reason: string): void {
    if (this.#ended) return;
    this.flush();
    this.#ended = true;
    for (const v of [...this.#viewers.keys()]) {
      this.#viewers.delete(v);
      v.close(reason, false);
    }
    this.#gop = [];
  }
}
