/**
 * One live stream's fan-out: tags in from whatever publishes (RTMP ingest, an edge's upstream,
 * a relay pull, a transcoder), bytes out to every viewer, whatever it reads (HTTP-FLV, RTMP).
 *
 * Shaped after Node-Media-Server's per-stream session (sequence headers and the last GOP cached
 * for late joiners), with the two choices that set the fan-out's cost
 * (../shared/bench/CEILINGS.md):
 *
 * - Each tag is encoded once per output format and the bytes are shared by every viewer of
 *   that format: no per-viewer copy.
 * - Tags are coalesced for `flushIntervalMs` and every viewer gets one write per interval: the
 *   number of writes per viewer, not the bytes, sets the CPU cost.
 *
 * A viewer whose queue passes its cap is dropped (`write` returns false); the publisher and the
 * other viewers never wait for it. A late joiner gets the format's header, `onMetaData` at
 * timestamp 0 (FFmpeg's FLV reader takes metadata at any other time for a data stream of its
 * own), the sequence headers at the first media timestamp (no backwards jump) and the cached
 * GOP, then the live tags; without a GOP it waits for the next keyframe.
 *
 * The origin's hub and the edge's HTTP-FLV fan-out are both this class: they used to be two
 * copies, and the edge's had drifted (metadata stamped with the first media timestamp).
 *
 * @module
 */

import { concatBytes } from "../codec/bytes/concat.ts";
import { type FlvTag, FlvTagType, isVideoKeyframe } from "../codec/flv/mod.ts";
import { GopCache, type LivePacket } from "./gop_cache.ts";

/** A consumer of a stream's encoded bytes (an HTTP-FLV response, an RTMP player). */
export interface LiveViewer {
  /** The encoder it reads (`flv`, `rtmp`). */
  readonly format: string;
  /** For logs: peer address and connection id. */
  readonly id: string;
  /**
   * Queues bytes for the socket. `bytes` is shared with other viewers: never mutate it.
   * @returns false when the viewer's queue is over its cap; the fan-out then drops it.
   */
  write(bytes: Uint8Array): boolean;
  /**
   * The stream ended (`dropped` false) or the viewer was too slow (`dropped` true: abort the
   * response rather than end it cleanly). `reason` is for the log.
   */
  close(reason: string, dropped: boolean): void;
}

/** How one output format turns tags into bytes. */
export interface LiveEncoder {
  /** Bytes a new viewer gets before any tag (the FLV file header), if any. */
  header?(info: { hasAudio: boolean; hasVideo: boolean }): Uint8Array;
  /** Encodes one tag; the result is shared by all viewers of the format. */
  tag(tag: FlvTag): Uint8Array;
}

/** Runs `fn` after `ms` (a timer); returns what cancels it. Injected in tests. */
export type Schedule = (fn: () => void, ms: number) => () => void;

const defaultSchedule: Schedule = (fn, ms) => {
  const t = setTimeout(fn, ms);
  return () => clearTimeout(t);
};

/** Options of {@link LiveFanout}. */
export interface LiveFanoutOptions {
  /** Keep the last GOP for late joiners. */
  readonly gopCache: boolean;
  /** A GOP larger than this is not cached (the viewer waits for the next keyframe). */
  readonly maxGopCacheBytes: number;
  /** Coalescing interval for viewer writes; 0 writes every tag at once. */
  readonly flushIntervalMs: number;
  readonly encoders: Readonly<Record<string, LiveEncoder>>;
  /** Told when a viewer is dropped as too slow (before its `close`). */
  readonly onDrop?: (viewer: LiveViewer, reason: string) => void;
  /** @default setTimeout */
  readonly schedule?: Schedule;
}

interface ViewerEntry {
  /** Without a cached GOP a new viewer must start on a keyframe. */
  waitingKeyframe: boolean;
}

/**
 * A live stream's fan-out point.
 *
 * @example
 * ```ts
 * import { LiveFanout } from "./fanout.ts";
 * import assert from "node:assert/strict";
 * const got: Uint8Array[] = [];
 * const f = new LiveFanout({
 *   gopCache: true, maxGopCacheBytes: 1 << 20, flushIntervalMs: 0,
 *   encoders: { raw: { tag: (t) => t.data } },
 * });
 * f.pushTag({ type: 9, timestampMs: 0, data: new Uint8Array([0x17, 1, 0, 0, 0, 9]) });
 * f.addViewer({ format: "raw", id: "v", write: (b) => (got.push(b), true), close() {} });
 * assert.deepEqual([...got[0]!], [0x17, 1, 0, 0, 0, 9]); // the cached GOP at once
 * ```
 */
export class LiveFanout {
  readonly #o: LiveFanoutOptions;
  readonly #schedule: Schedule;
  readonly #cache: GopCache;
  #seq = 0;
  #pending: LivePacket[] = [];
  #cancelTimer: (() => void) | undefined;
  readonly #viewers = new Map<LiveViewer, ViewerEntry>();
  #ended = false;
  /** Bytes handed to viewers, by format (`/metrics`: egress by protocol). */
  readonly bytesOut: Record<string, number> = {};

  constructor(options: LiveFanoutOptions) {
    this.#o = options;
    this.#schedule = options.schedule ?? defaultSchedule;
    this.#cache = new GopCache({
      enabled: options.gopCache,
      maxBytes: options.maxGopCacheBytes,
    });
  }

  get viewerCount(): number {
    return this.#viewers.size;
  }

  /** Viewers by output format (`flv`, `rtmp`), for listings; walks the viewers, so not per tag. */
  viewersByFormat(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const v of this.#viewers.keys()) {
      out[v.format] = (out[v.format] ?? 0) + 1;
    }
    return out;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Bytes of the cached GOP. */
  get gopCacheBytes(): number {
    return this.#cache.bytes;
  }

  get hasAudio(): boolean {
    return this.#cache.hasAudio;
  }

  get hasVideo(): boolean {
    return this.#cache.hasVideo;
  }

  /** The latest `onMetaData` tag, if the stream sent one. */
  get metadata(): FlvTag | undefined {
    return this.#cache.metadata?.tag;
  }

  /** The config tags a new raw-tag consumer needs first: metadata, sequence headers. */
  configTags(): FlvTag[] {
    const c = this.#cache;
    return [c.metadata, c.videoConfig, c.audioConfig].filter((p) =>
      p !== undefined
    )
      .map((p) => p!.tag);
  }

  /** Media announced before any tag (an upstream FLV header). */
  setMedia(hasAudio: boolean, hasVideo: boolean): void {
    this.#cache.hasAudio ||= hasAudio;
    this.#cache.hasVideo ||= hasVideo;
  }

  /** The source was cut: the GOP cache does not continue into what comes next. */
  breakGop(): void {
    this.flush();
    this.#cache.breakGop();
  }

  /** One tag from the source, in order. */
  pushTag(tag: FlvTag): void {
    if (this.#ended) return;
    const packet: LivePacket = { tag, seq: this.#seq++, enc: {} };
    this.#cache.push(packet);
    if (this.#viewers.size === 0) return;
    this.#pending.push(packet);
    if (this.#o.flushIntervalMs <= 0) this.flush();
    else {
      this.#cancelTimer ??= this.#schedule(() => {
        this.#cancelTimer = undefined;
        this.flush();
      }, this.#o.flushIntervalMs);
    }
  }

  #encode(p: LivePacket, format: string): Uint8Array {
    return (p.enc[format] ??= this.#o.encoders[format]!.tag(p.tag));
  }

  /** Writes the coalesced tags to every viewer: one shared buffer per format. */
  flush(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    const pending = this.#pending;
    if (pending.length === 0) return;
    this.#pending = [];
    const shared: Record<string, Uint8Array> = {};
    for (const [viewer, entry] of this.#viewers) {
      if (entry.waitingKeyframe) {
        const k = pending.findIndex((p) =>
          p.tag.type === FlvTagType.Video && isVideoKeyframe(p.tag.data)
        );
        if (k < 0) continue;
        entry.waitingKeyframe = false;
        // From its first keyframe on: the packets' shared encodings, not a copy of its own.
        if (!this.#writeEach(viewer, pending.slice(k))) {
          this.#drop(viewer, "slow viewer: queue over its cap");
        }
        continue;
      }
      const bytes = shared[viewer.format] ??= this.#join(
        pending,
        viewer.format,
      );
      if (bytes.byteLength === 0) continue;
      this.#count(viewer.format, bytes.byteLength);
      if (!viewer.write(bytes)) {
        this.#drop(viewer, "slow viewer: queue over its cap");
      }
    }
  }

  #join(packets: readonly LivePacket[], format: string): Uint8Array {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (const p of packets) {
      const b = this.#encode(p, format);
      parts.push(b);
      total += b.byteLength;
    }
    return concatBytes(parts, total);
  }

  /** Writes each packet's shared encoding; false when the viewer refused one (over its cap). */
  #writeEach(viewer: LiveViewer, packets: readonly LivePacket[]): boolean {
    for (const p of packets) {
      const b = this.#encode(p, viewer.format);
      if (b.byteLength === 0) continue;
      this.#count(viewer.format, b.byteLength);
      if (!viewer.write(b)) return false;
    }
    return true;
  }

  #count(format: string, bytes: number): void {
    this.bytesOut[format] = (this.bytesOut[format] ?? 0) + bytes;
  }

  #drop(viewer: LiveViewer, reason: string): void {
    if (!this.#viewers.delete(viewer)) return;
    this.#o.onDrop?.(viewer, reason);
    viewer.close(reason, true);
  }

  /**
   * Adds a viewer: the format header, metadata, sequence headers and the cached GOP at once,
   * then the live tags.
   */
  addViewer(viewer: LiveViewer): void {
    if (this.#ended) {
      viewer.close("stream ended", false);
      return;
    }
    const c = this.#cache;
    const enc = this.#o.encoders[viewer.format]!;
    const burst = c.burstBefore(this.#pending[0]?.seq ?? this.#seq);
    const ts = burst[0]?.tag.timestampMs ?? this.#pending[0]?.tag.timestampMs ??
      0;
    const parts: Uint8Array[] = [];
    if (enc.header) {
      parts.push(enc.header({ hasAudio: c.hasAudio, hasVideo: c.hasVideo }));
    }
    if (c.metadata) parts.push(enc.tag({ ...c.metadata.tag, timestampMs: 0 }));
    for (const p of [c.videoConfig, c.audioConfig]) {
      if (p) parts.push(enc.tag({ ...p.tag, timestampMs: ts }));
    }
    const total = parts.reduce((n, p) => n + p.byteLength, 0);
    this.#viewers.set(viewer, {
      waitingKeyframe: c.hasVideo && burst.length === 0,
    });
    // The viewer's own head (small), then the cached GOP as the packets' shared encodings:
    // a joining viewer costs no copy of the burst (hundreds of KiB at a few Mbit/s).
    if (total > 0) this.#count(viewer.format, total);
    if (
      (total > 0 && !viewer.write(concatBytes(parts, total))) ||
      !this.#writeEach(viewer, burst)
    ) {
      this.#drop(viewer, "slow viewer: start-up burst over its queue cap");
    }
  }

  removeViewer(viewer: LiveViewer): void {
    this.#viewers.delete(viewer);
  }

  /** The source ended: flush, then close every viewer cleanly. Idempotent. */
  end(reason: string): void {
    if (this.#ended) return;
    this.flush();
    this.#ended = true;
    for (const v of [...this.#viewers.keys()]) {
      this.#viewers.delete(v);
      v.close(reason, false);
    }
    this.#cache.clear();
  }
}
