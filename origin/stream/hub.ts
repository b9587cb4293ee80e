/**
 * One live stream: its publisher's tags in, every viewer's bytes out.
 *
 * Shaped after Node-Media-Server's per-stream session (sequence headers and the last GOP cached
 * for late joiners) with two changes that set the fan-out cost (../shared/bench/CEILINGS.md):
 *
 * - Each tag is encoded once per output format (FLV, RTMP) and the bytes are shared by every
 *   viewer of that format: no per-viewer copy.
 * - Tags are coalesced for `flushIntervalMs` and every viewer gets one write per interval, since
 *   the number of writes per viewer, not the bytes, sets the CPU cost.
 *
 * A viewer whose queue passes its cap is dropped (`Viewer.write` returns false); the publisher and
 * the other viewers never wait for it.
 *
 * @module
 */

import { concatBytes } from "../../codec/bytes/concat.ts";
import {
  audioCodecOf,
  type FlvTag,
  FlvTagType,
  isAudioSequenceHeader,
  isVideoKeyframe,
  isVideoSequenceHeader,
  videoCodecOf,
} from "../../codec/flv/mod.ts";
import type { Logger } from "../log.ts";

/** Output formats a hub encodes for. */
export type ViewerFormat = "flv" | "rtmp";

/** A consumer of a stream's encoded bytes (an HTTP-FLV response, an RTMP player). */
export interface Viewer {
  readonly format: ViewerFormat;
  /** For logs: peer address and connection id. */
  readonly id: string;
  /**
   * Queues bytes for the socket. `bytes` is shared with other viewers: never mutate it.
   * @returns false when the viewer's queue is over its cap; the hub then drops the viewer.
   */
  write(bytes: Uint8Array): boolean;
  /** The stream ended or the viewer was dropped; `reason` is for the log. */
  close(reason: string): void;
}

/** A consumer of raw tags, called synchronously in arrival order (HLS packager, recorder). */
export interface TagListener {
  onTag(tag: FlvTag): void;
  onEnd(): void;
}

/** How one output format turns tags into bytes. */
export interface FormatEncoder {
  /** Bytes a new viewer gets before any tag (the FLV file header), if any. */
  header?(info: { hasAudio: boolean; hasVideo: boolean }): Uint8Array;
  /** Encodes one tag; the result is shared by all viewers of the format. */
  tag(tag: FlvTag): Uint8Array;
}

/** Options of a hub; the origin config's `live` section. */
export interface HubOptions {
  /** Keep the last GOP for late joiners. @default true */
  readonly gopCache: boolean;
  /** A GOP larger than this is not cached (the viewer waits for the next keyframe). */
  readonly maxGopCacheBytes: number;
  /** Coalescing interval for viewer writes; 0 writes every tag at once. @default 50 (the origin config) */
  readonly flushIntervalMs: number;
  readonly encoders: Readonly<Record<ViewerFormat, FormatEncoder>>;
  readonly log: Logger;
  /** Epoch milliseconds. @default Date.now */
  readonly now?: () => number;
}

/** Codec names seen on a stream, for listings. */
export interface StreamCodecs {
  video?: string;
  audio?: string;
}

/** A snapshot of a hub for APIs and pages. */
export interface HubSummary {
  readonly app: string;
  readonly name: string;
  readonly live: boolean;
  readonly publisher: { readonly peer: string; readonly protocol: string };
  readonly startedAt: string;
  readonly viewers: number;
  readonly bytesIn: number;
  readonly codecs: StreamCodecs;
}

interface Packet {
  readonly tag: FlvTag;
  readonly seq: number;
  readonly enc: Partial<Record<ViewerFormat, Uint8Array>>;
}

interface ViewerEntry {
  readonly viewer: Viewer;
  /** Without a GOP cache a new viewer must start on a keyframe. */
  waitingKeyframe: boolean;
}

/**
 * A live stream's fan-out point. Created by {@link StreamRegistry.startPublish}.
 */
export class Hub {
  readonly app: string;
  readonly name: string;
  readonly publisher: { readonly peer: string; readonly protocol: string };
  readonly startedAtMs: number;
  readonly codecs: StreamCodecs = {};

  #opts: HubOptions;
  #live = true;
  #seq = 0;
  #metadata: Packet | undefined;
  #videoConfig: Packet | undefined;
  #audioConfig: Packet | undefined;
  #gop: Packet[] = [];
  #gopBytes = 0;
  #gopValid = false;
  #hasAudio = false;
  #hasVideo = false;
  #pending: Packet[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #viewers = new Map<Viewer, ViewerEntry>();
  #listeners = new Set<TagListener>();
  #bytesIn = 0;
  #onEnd: () => void;

  constructor(
    app: string,
    name: string,
    publisher: { peer: string; protocol: string },
    options: HubOptions,
    onEnd: () => void = () => {},
  ) {
    this.app = app;
    this.name = name;
    this.publisher = publisher;
    this.#opts = options;
    this.startedAtMs = (options.now ?? Date.now)();
    this.#onEnd = onEnd;
  }

  /** True until the publisher leaves. */
  get live(): boolean {
    return this.#live;
  }

  get viewerCount(): number {
    return this.#viewers.size;
  }

  get bytesIn(): number {
    return this.#bytesIn;
  }

  /** The onMetaData tag body, if the publisher sent one. */
  get metadata(): FlvTag | undefined {
    return this.#metadata?.tag;
  }

  summary(): HubSummary {
    return {
      app: this.app,
      name: this.name,
      live: this.#live,
      publisher: this.publisher,
      startedAt: new Date(this.startedAtMs).toISOString(),
      viewers: this.#viewers.size,
      bytesIn: this.#bytesIn,
      codecs: { ...this.codecs },
    };
  }

  /** Subscribes a raw-tag listener; it first gets the cached config tags. Returns the unsubscriber. */
  addListener(listener: TagListener): () => void {
    this.#listeners.add(listener);
    for (const p of [this.#metadata, this.#videoConfig, this.#audioConfig]) {
      if (p) listener.onTag(p.tag);
    }
    return () => this.#listeners.delete(listener);
  }

  /** Publisher side: one tag in arrival order. */
  pushTag(tag: FlvTag): void {
    if (!this.#live) return;
    this.#bytesIn += tag.data.byteLength;
    const packet: Packet = { tag, seq: this.#seq++, enc: {} };
    const d = tag.data;
    if (tag.type === FlvTagType.Script) {
      this.#metadata = packet;
    } else if (tag.type === FlvTagType.Video && d.byteLength > 0) {
      this.#hasVideo = true;
      this.codecs.video ??= videoCodecOf(d);
      if (isVideoSequenceHeader(d)) {
        this.#videoConfig = packet;
      } else if (isVideoKeyframe(d)) {
        this.#gop = [];
        this.#gopBytes = 0;
        this.#gopValid = this.#opts.gopCache;
      }
    } else if (tag.type === FlvTagType.Audio && d.byteLength > 0) {
      this.#hasAudio = true;
      this.codecs.audio ??= audioCodecOf(d);
      if (isAudioSequenceHeader(d)) this.#audioConfig = packet;
      else if (!this.#hasVideo && this.#opts.gopCache) {
        // Audio-only: the "GOP" is the most recent audio, bounded by bytes.
        this.#gopValid = true;
        while (
          this.#gopBytes + d.byteLength > this.#opts.maxGopCacheBytes &&
          this.#gop.length
        ) {
          this.#gopBytes -= this.#gop.shift()!.tag.data.byteLength;
        }
      }
    }
    if (this.#gopValid) {
      this.#gop.push(packet);
      this.#gopBytes += d.byteLength;
      if (this.#gopBytes > this.#opts.maxGopCacheBytes && this.#hasVideo) {
        // Too long a GOP to keep: late joiners wait for the next keyframe instead.
        this.#gop = [];
        this.#gopBytes = 0;
        this.#gopValid = false;
      }
    }
    for (const l of this.#listeners) l.onTag(tag);
    if (this.#viewers.size === 0) return;
    this.#pending.push(packet);
    if (this.#opts.flushIntervalMs <= 0) this.flush();
    else {this.#timer ??= setTimeout(() =>
        this.flush(), this.#opts.flushIntervalMs);}
  }

  #encode(p: Packet, format: ViewerFormat): Uint8Array {
    return (p.enc[format] ??= this.#opts.encoders[format].tag(p.tag));
  }

  /** Writes the coalesced tags to every viewer: one shared buffer per format. */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const pending = this.#pending;
    if (pending.length === 0) return;
    this.#pending = [];
    const shared: Partial<Record<ViewerFormat, Uint8Array>> = {};
    for (const [viewer, entry] of this.#viewers) {
      let bytes: Uint8Array | undefined;
      if (entry.waitingKeyframe) {
        const k = pending.findIndex((p) =>
          p.tag.type === FlvTagType.Video && isVideoKeyframe(p.tag.data)
        );
        if (k < 0) continue;
        entry.waitingKeyframe = false;
        bytes = this.#join(pending.slice(k), viewer.format);
      } else {
        bytes = shared[viewer.format] ??= this.#join(pending, viewer.format);
      }
      if (bytes.byteLength > 0 && !viewer.write(bytes)) {
        this.#drop(viewer, "slow viewer: queue over its cap");
      }
    }
  }

  #join(packets: Packet[], format: ViewerFormat): Uint8Array {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (const p of packets) {
      const b = this.#encode(p, format);
      parts.push(b);
      total += b.byteLength;
    }
    return concatBytes(parts, total);
  }

  #drop(viewer: Viewer, reason: string): void {
    if (!this.#viewers.delete(viewer)) return;
    this.#opts.log.info("viewer dropped", {
      stream: `${this.app}/${this.name}`,
      viewer: viewer.id,
      reason,
    });
    viewer.close(reason);
  }

  /**
   * Adds a viewer: it gets the format header, metadata, sequence headers and the cached GOP at
   * once, then the live tags.
   */
  addViewer(viewer: Viewer): void {
    if (!this.#live) {
      viewer.close("stream ended");
      return;
    }
    const format = viewer.format;
    const enc = this.#opts.encoders[format];
    const firstPending = this.#pending[0]?.seq ?? this.#seq;
    const burst = this.#gopValid
      ? this.#gop.filter((p) => p.seq < firstPending)
      : [];
    // Sequence headers go out stamped with the first media timestamp so players see no backwards
    // jump. Metadata stays at 0: FFmpeg's FLV reader takes onMetaData at any other time for a
    // data stream of its own.
    const ts = burst[0]?.tag.timestampMs ?? this.#pending[0]?.tag.timestampMs ??
      0;
    const parts: Uint8Array[] = [];
    if (enc.header) {
      parts.push(
        enc.header({ hasAudio: this.#hasAudio, hasVideo: this.#hasVideo }),
      );
    }
    if (this.#metadata) {
      parts.push(enc.tag({ ...this.#metadata.tag, timestampMs: 0 }));
    }
    for (const p of [this.#videoConfig, this.#audioConfig]) {
      if (p) parts.push(enc.tag({ ...p.tag, timestampMs: ts }));
    }
    for (const p of burst) parts.push(this.#encode(p, format));
    const total = parts.reduce((n, p) => n + p.byteLength, 0);
    // Without a cached GOP the viewer's first live bytes start at the next keyframe.
    const waitingKeyframe = this.#hasVideo && burst.length === 0;
    this.#viewers.set(viewer, { viewer, waitingKeyframe });
    if (total > 0 && !viewer.write(concatBytes(parts, total))) {
      this.#drop(viewer, "slow viewer: start-up burst over its queue cap");
    }
  }

  removeViewer(viewer: Viewer): void {
    this.#viewers.delete(viewer);
  }

  /** The publisher left: flush, close every viewer, tell listeners. Idempotent. */
  end(): void {
    if (!this.#live) return;
    this.flush();
    this.#live = false;
    for (const v of [...this.#viewers.keys()]) {
      this.#viewers.delete(v);
      v.close("stream ended");
    }
    for (const l of this.#listeners) l.onEnd();
    this.#listeners.clear();
    this.#gop = [];
    this.#onEnd();
  }
}
