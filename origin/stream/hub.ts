/**
 * One live stream of the origin: its publisher's tags in, every viewer's bytes out.
 *
 * The fan-out itself (GOP cache for late joiners, one encoding per tag and format shared by
 * every viewer, writes coalesced per interval, slow viewers dropped) is the shared
 * {@link LiveFanout} in live/, the same one the edge's HTTP-FLV uses; the hub adds what the
 * origin keeps about a stream (publisher, codecs, bytes in) and the raw-tag listeners (HLS).
 *
 * @module
 */

import {
  audioCodecOf,
  type FlvTag,
  FlvTagType,
  videoCodecOf,
} from "../../codec/flv/mod.ts";
import {
  type LiveEncoder,
  LiveFanout,
  type LiveViewer,
} from "../../live/mod.ts";
import { encodeFlvTag } from "../../codec/flv/tag.ts";
import type { Logger } from "../log.ts";
import { describeLiveMetadata, type LiveMediaInfo } from "./media_info.ts";

/** Who publishes: peer address and protocol (rtmp, virtual, relay). */
export interface PublisherInfo {
  readonly peer: string;
  readonly protocol: string;
  /**
   * The relay nodes the stream passed before it reached this one (a relay pull's chain, or a
   * pushing origin's): a push from here carries it on, so a push loop is refused.
   */
  readonly chain?: { readonly hops: number; readonly via: readonly string[] };
}

/**
 * Output formats a hub encodes for. `rtsp` and `srt` viewers remux (RTP, MPEG-TS) per viewer
 * and read plain FLV tags back, which the hub frames itself.
 */
export type ViewerFormat = "flv" | "rtmp" | "rtsp" | "srt" | "webrtc";

/** The formats whose encoders the origin passes in ({@link HubOptions.encoders}). */
export type EncodedFormat = "flv" | "rtmp";

/** Plain FLV tag framing, for the outputs that read tags back (RTSP, SRT). */
const TAG_FRAMING: FormatEncoder = { tag: encodeFlvTag };

/** A consumer of a stream's encoded bytes (an HTTP-FLV response, an RTMP player). */
export interface Viewer extends LiveViewer {
  readonly format: ViewerFormat;
}

/** A consumer of raw tags, called synchronously in arrival order (HLS packager, recorder). */
export interface TagListener {
  onTag(tag: FlvTag): void;
  onEnd(): void;
  /**
   * The source was replaced mid-stream (a relay pull failing over to another upstream): what
   * follows does not continue what came before, though the stream goes on. The HLS packager
   * closes its segment and marks the next EXT-X-DISCONTINUITY (RFC 8216 §4.3.2.3).
   */
  onBreak?(): void;
}

/** How one output format turns tags into bytes. */
export type FormatEncoder = LiveEncoder;

/** Options of a hub; the origin config's `live` section. */
export interface HubOptions {
  /** Keep the last GOP for late joiners. @default true */
  readonly gopCache: boolean;
  /** A GOP larger than this is not cached (the viewer waits for the next keyframe). */
  readonly maxGopCacheBytes: number;
  /** Coalescing interval for viewer writes; 0 writes every tag at once. @default 50 (the origin config) */
  readonly flushIntervalMs: number;
  readonly encoders: Readonly<Record<EncodedFormat, FormatEncoder>>;
  readonly log: Logger;
  /** Epoch milliseconds. @default Date.now */
  readonly now?: () => number;
  /** Told when a viewer is dropped as too slow (`/metrics`). */
  readonly onViewerDropped?: (format: string) => void;
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
  readonly publisher: PublisherInfo;
  readonly startedAt: string;
  readonly viewers: number;
  readonly bytesIn: number;
  readonly codecs: StreamCodecs;
  /** What the publisher's `onMetaData` says: size, frame rate, encoder. */
  readonly media: LiveMediaInfo;
  /** Viewers by output format (`flv`, `rtmp`). */
  readonly viewersByFormat: Readonly<Record<string, number>>;
}

/**
 * A live stream of the origin: its publisher's tags in, every viewer's bytes out (through the
 * shared {@link LiveFanout}), raw tags to listeners (HLS, recording). Created by
 * {@link StreamRegistry.startPublish}.
 */
export class Hub {
  readonly app: string;
  readonly name: string;
  readonly publisher: PublisherInfo;
  readonly startedAtMs: number;
  readonly codecs: StreamCodecs = {};

  readonly #fanout: LiveFanout;
  #live = true;
  #listeners = new Set<TagListener>();
  readonly #log: Logger;
  #bytesIn = 0;
  #onEnd: () => void;
  #kicked = false;
  readonly #kickHandlers = new Set<() => void>();
  #media: { tag: FlvTag | undefined; info: LiveMediaInfo } = {
    tag: undefined,
    info: {},
  };

  constructor(
    app: string,
    name: string,
    publisher: PublisherInfo,
    options: HubOptions,
    onEnd: () => void = () => {},
  ) {
    this.app = app;
    this.name = name;
    this.publisher = publisher;
    this.startedAtMs = (options.now ?? Date.now)();
    this.#log = options.log;
    this.#onEnd = onEnd;
    const stream = `${app}/${name}`;
    this.#fanout = new LiveFanout({
      gopCache: options.gopCache,
      maxGopCacheBytes: options.maxGopCacheBytes,
      flushIntervalMs: options.flushIntervalMs,
      encoders: { rtsp: TAG_FRAMING, srt: TAG_FRAMING, ...options.encoders },
      onDrop: (viewer, reason) => {
        options.onViewerDropped?.(viewer.format);
        options.log.info("viewer dropped", {
          stream,
          viewer: viewer.id,
          reason,
        });
      },
    });
  }

  /** True until the publisher leaves. */
  get live(): boolean {
    return this.#live;
  }

  get viewerCount(): number {
    return this.#fanout.viewerCount;
  }

  get bytesIn(): number {
    return this.#bytesIn;
  }

  /** Bytes handed to viewers, by format (`flv`, `rtmp`). */
  get bytesOut(): Readonly<Record<string, number>> {
    return this.#fanout.bytesOut;
  }

  /** Bytes of the cached GOP. */
  get gopCacheBytes(): number {
    return this.#fanout.gopCacheBytes;
  }

  /** Viewers by format, counted now. */
  viewersByFormat(): Record<string, number> {
    return this.#fanout.viewersByFormat();
  }

  /** The onMetaData tag body, if the publisher sent one. */
  get metadata(): FlvTag | undefined {
    return this.#fanout.metadata;
  }

  /** True when an operator ended the stream ({@link kick}). */
  get kicked(): boolean {
    return this.#kicked;
  }

  /** True when the publisher can be disconnected (an RTMP connection registered itself). */
  get kickable(): boolean {
    return this.#kickHandlers.size > 0;
  }

  /**
   * Registers what disconnects the publisher when an operator kicks the stream (its
   * connection's close). Returns the unsubscriber.
   */
  onKick(handler: () => void): () => void {
    this.#kickHandlers.add(handler);
    return () => this.#kickHandlers.delete(handler);
  }

  /** An operator ends the stream: the publisher is disconnected, then the hub ends. */
  kick(): void {
    if (!this.#live) return;
    this.#kicked = true;
    for (const h of [...this.#kickHandlers]) h();
    this.end();
  }

  summary(): HubSummary {
    const meta = this.#fanout.metadata;
    if (meta !== this.#media.tag) {
      this.#media = {
        tag: meta,
        info: meta ? describeLiveMetadata(meta.data) : {},
      };
    }
    return {
      app: this.app,
      name: this.name,
      live: this.#live,
      publisher: this.publisher,
      startedAt: new Date(this.startedAtMs).toISOString(),
      viewers: this.#fanout.viewerCount,
      bytesIn: this.#bytesIn,
      codecs: { ...this.codecs },
      media: this.#media.info,
      viewersByFormat: this.#fanout.viewersByFormat(),
    };
  }

  /** Subscribes a raw-tag listener; it first gets the cached config tags. Returns the unsubscriber. */
  addListener(listener: TagListener): () => void {
    this.#listeners.add(listener);
    for (const t of this.#fanout.configTags()) this.#tell(listener, t);
    return () => this.#listeners.delete(listener);
  }

  /**
   * One tag to one listener. A listener that throws (a packager's bug on some stream's tags)
   * is detached and logged once: it must not end the publish or starve the listeners and
   * viewers after it.
   */
  #tell(listener: TagListener, tag: FlvTag): void {
    try {
      listener.onTag(tag);
    } catch (e) {
      this.#listeners.delete(listener);
      this.#log.error("stream listener failed on a tag and was detached", {
        stream: `${this.app}/${this.name}`,
        tagType: tag.type,
        error: e instanceof Error ? e.message : String(e),
      });
    }
  }

  /** Publisher side: one tag in arrival order. */
  pushTag(tag: FlvTag): void {
    if (!this.#live) return;
    this.#bytesIn += tag.data.byteLength;
    const d = tag.data;
    if (d.byteLength > 0) {
      if (tag.type === FlvTagType.Video) this.codecs.video ??= videoCodecOf(d);
      else if (tag.type === FlvTagType.Audio) {
        this.codecs.audio ??= audioCodecOf(d);
      }
    }
    for (const l of this.#listeners) this.#tell(l, tag);
    this.#fanout.pushTag(tag);
  }

  /**
   * The publisher's source was replaced (a relay pull switched upstreams): viewers stay, the
   * GOP cache does not continue into the new source, listeners are told (HLS: a
   * discontinuity). The new source's sequence headers and keyframe follow as ordinary tags.
   */
  breakSource(): void {
    if (!this.#live) return;
    this.#fanout.breakGop();
    for (const l of this.#listeners) l.onBreak?.();
  }

  /** Writes the coalesced tags to every viewer now. */
  flush(): void {
    this.#fanout.flush();
  }

  /**
   * Adds a viewer: it gets the format header, metadata, sequence headers and the cached GOP at
   * once, then the live tags.
   */
  addViewer(viewer: Viewer): void {
    this.#fanout.addViewer(viewer);
  }

  removeViewer(viewer: Viewer): void {
    this.#fanout.removeViewer(viewer);
  }

  /** The publisher left: flush, close every viewer, tell listeners. Idempotent. */
  end(): void {
    if (!this.#live) return;
    this.#live = false;
    this.#fanout.end("stream ended");
    for (const l of this.#listeners) l.onEnd();
    this.#listeners.clear();
    this.#onEnd();
  }
}
