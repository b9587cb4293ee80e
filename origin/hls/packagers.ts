/**
 * The origin's HLS packagers: one {@link HlsStream} per `app/stream`, attached to every publish
 * of that key, and what happens around them: the end of a stream (grace, EXT-X-ENDLIST, then
 * 404), numbering that survives restarts, and playlist requests that arrive before the first
 * segment.
 *
 * A stream's life, as its playlist shows it:
 *
 * 1. **Live.** Segments are added as they are cut.
 * 2. **Grace** (`endGraceMs` after the publisher left). The playlist stays live: an encoder
 *    that reconnects within the grace continues it behind an EXT-X-DISCONTINUITY.
 * 3. **Ended** (`endedRetentionMs`). EXT-X-ENDLIST is appended (RFC 8216 §4.3.3.4), so players
 *    play out what is listed and stop rather than reload for ever; segments stay downloadable.
 * 4. **Gone.** The playlist and its segments are 404, as `.flv` and `/api/streams` already
 *    say. A later publish starts again, numbering going on (persisted, see
 *    {@link HlsSequenceStore}).
 *
 * @module
 */

import { restartOnCodecChange } from "./codec_change.ts";
import type {
  Counter,
  CounterChild,
  HistogramChild,
  MetricsRegistry,
} from "../../metrics/mod.ts";

/**
 * Segment duration buckets (seconds): around the usual targets (1, 2, 4, 6 s), up to a GOP
 * twice a long target (an encoder whose keyframes are farther apart than the target).
 */
export const SEGMENT_DURATION_BUCKETS_SECONDS: readonly number[] = [
  0.5,
  1,
  1.5,
  2,
  2.5,
  3,
  4,
  5,
  6,
  8,
  10,
  12,
  20,
];
import type { Logger } from "../log.ts";
import type { Hub } from "../stream/hub.ts";
import type { StreamRegistry } from "../stream/registry.ts";
import { HlsStream } from "./segmenter.ts";
import { HlsSequenceStore } from "./sequence_store.ts";
import type { HlsSegment } from "./window.ts";

/**
 * A playlist request for a live stream without a segment yet waits at most this many target
 * durations: the first segment is complete one target (plus the rest of its GOP) after the
 * first keyframe, so a stream listed in `/api/streams` a moment ago has one by then.
 */
export const PLAYLIST_HOLD_TARGET_RATIO = 1.5;
/**
 * ...and never longer than this (ms), whatever the target: a held request must be answered
 * before hls.js gives up on a manifest (10 s, `manifestLoadingTimeOut`) and before an edge's
 * upstream timeout (10 s by default) turns it into a 504.
 */
export const MAX_PLAYLIST_HOLD_MS = 8_000;

/** Options of {@link HlsPackagers} (the `origin.hls` config section, in ms). */
export interface HlsPackagersOptions {
  readonly targetDurationMs: number;
  readonly keyframeTolerance: number;
  readonly windowSegments: number;
  /** After the publisher leaves, the playlist stays live this long (a republish continues it). */
  readonly endGraceMs: number;
  /** After EXT-X-ENDLIST, the ended playlist and its segments stay this long, then 404. */
  readonly endedRetentionMs: number;
  /** Playlist requests held at once (all streams); more are answered 503 at once. */
  readonly maxHeldRequests: number;
}

/** What {@link HlsPackagers} needs from the origin. */
export interface HlsPackagersDeps {
  readonly registry: StreamRegistry;
  readonly metrics: MetricsRegistry;
  readonly log: Logger;
  /**
   * Numbering of every stream seen, persisted or not. Kept after a stream is gone so that a
   * later publish goes on numbering (segment names are never reused: edges cache them for a
   * day). @default HlsSequenceStore.inMemory()
   */
  readonly sequences?: HlsSequenceStore | undefined;
  /** Start of segment names, unique per process start. @default Date.now().toString(36) */
  readonly segmentNamePrefix?: string;
  /**
   * Told of every finished segment and of every publish's end, in order (the DVR keeps them:
   * time-shift is a listener of these segments, not a second segmenter).
   */
  readonly observer?: HlsSegmentObserver | undefined;
}

/** What a listener of the packagers' segments is told (see {@link HlsPackagersDeps.observer}). */
export interface HlsSegmentObserver {
  /** A segment of `hub`'s publish is finished (called from the hub's fan-out: keep it cheap). */
  onSegment(hub: Hub, segment: HlsSegment): void;
  /** `hub`'s publish ended; its last segment was told before. */
  onPublishEnd(hub: Hub): void;
}

/** Where a stream's playlist is in its life (see the module notes). */
export type HlsStreamPhase = "live" | "grace" | "ended";

/** How a held playlist request ended. */
export type PlaylistWait =
  | { readonly kind: "ready"; readonly text: string }
  /** No segment within the hold time. */
  | { readonly kind: "timeout" }
  /** Too many requests held already. */
  | { readonly kind: "busy" }
  /** The stream ended (or was never live) without a segment. */
  | { readonly kind: "gone" }
  /** The client went away. */
  | { readonly kind: "aborted" };

interface Waiter {
  settle(result: PlaylistWait): void;
}

interface Entry {
  readonly key: string;
  readonly stream: HlsStream;
  /** The publish now feeding the stream (the last one, after it left). */
  hub: Hub;
  phase: HlsStreamPhase;
  timer: ReturnType<typeof setTimeout> | undefined;
  readonly waiters: Set<Waiter>;
}

/**
 * Packages every stream of a registry as HLS and answers for its playlists and segments.
 *
 * @example
 * ```ts
 * import { HlsPackagers } from "./packagers.ts";
 * import { StreamRegistry } from "../stream/registry.ts";
 * import { MetricsRegistry } from "../../metrics/mod.ts";
 * import { silentLogger } from "../log.ts";
 * import assert from "node:assert/strict";
 * const enc = { tag: (t: { data: Uint8Array }) => t.data };
 * const registry = new StreamRegistry({ gopCache: true, maxGopCacheBytes: 1 << 20, flushIntervalMs: 0, encoders: { flv: enc, rtmp: enc }, log: silentLogger });
 * const hls = new HlsPackagers({
 *   targetDurationMs: 2000, keyframeTolerance: 0.1, windowSegments: 6,
 *   endGraceMs: 10_000, endedRetentionMs: 60_000, maxHeldRequests: 100,
 * }, { registry, metrics: new MetricsRegistry(), log: silentLogger });
 * registry.startPublish("live", "cam", { peer: "test", protocol: "rtmp" });
 * assert.equal(hls.pending("live", "cam"), true); // live, no segment yet: a request may wait
 * assert.equal(hls.pending("live", "none"), false); // unknown: 404 at once
 * registry.endAll();
 * await hls.close();
 * ```
 */
export class HlsPackagers {
  readonly #o: HlsPackagersOptions;
  readonly #log: Logger;
  readonly #sequences: HlsSequenceStore;
  readonly #prefix: string;
  readonly #holdMs: number;
  readonly #entries = new Map<string, Entry>();
  readonly #unsubscribe: () => void;
  readonly #holds: Counter;
  readonly #ended: Counter;
  readonly #observer: HlsSegmentObserver | undefined;
  readonly #segments: CounterChild;
  readonly #segmentBytes: CounterChild;
  readonly #segmentSeconds: HistogramChild;
  #held = 0;
  #closed = false;

  constructor(options: HlsPackagersOptions, deps: HlsPackagersDeps) {
    this.#o = options;
    this.#log = deps.log;
    this.#sequences = deps.sequences ?? HlsSequenceStore.inMemory();
    this.#prefix = deps.segmentNamePrefix ?? Date.now().toString(36);
    this.#observer = deps.observer;
    this.#holdMs = Math.min(
      options.targetDurationMs * PLAYLIST_HOLD_TARGET_RATIO,
      MAX_PLAYLIST_HOLD_MS,
    );
    const m = deps.metrics;
    this.#holds = m.counter(
      "meridian_origin_hls_playlist_holds_total",
      "Playlist requests held for a stream's first segment, by outcome (ready, timeout, busy: over the cap, gone, aborted)",
    );
    this.#ended = m.counter(
      "meridian_origin_hls_ended_total",
      "Playlists that got EXT-X-ENDLIST (the publisher left and did not return within the grace)",
    );
    this.#segments = m.counter(
      "meridian_origin_hls_segments_total",
      "HLS segments produced (all streams)",
    ).labels();
    this.#segmentBytes = m.counter(
      "meridian_origin_hls_segment_bytes_total",
      "Bytes of the HLS segments produced (all streams)",
    ).labels();
    this.#segmentSeconds = m.histogram(
      "meridian_origin_hls_segment_duration_seconds",
      "Media duration of each HLS segment produced (whole GOPs: near the target unless the encoder's GOP differs)",
      { buckets: SEGMENT_DURATION_BUCKETS_SECONDS },
    ).labels();
    m.collect(
      "meridian_origin_hls_held_playlist_requests",
      "Playlist requests waiting for a stream's first segment now",
      "gauge",
      () => [[undefined, this.#held]],
    );
    m.collect(
      "meridian_origin_hls_streams",
      "HLS playlists by phase: live, grace (publisher gone, republish expected), ended (EXT-X-ENDLIST, 404 next)",
      "gauge",
      () => {
        const n: Record<HlsStreamPhase, number> = {
          live: 0,
          grace: 0,
          ended: 0,
        };
        for (const e of this.#entries.values()) n[e.phase]++;
        return Object.entries(n).map(([phase, v]) => [{ phase }, v]);
      },
    );
    this.#unsubscribe = deps.registry.onPublish((hub) => this.#onPublish(hub));
  }

  /** The playlist's phase, or `undefined` when it is gone (or never existed). */
  phase(app: string, stream: string): HlsStreamPhase | undefined {
    return this.#entries.get(`${app}/${stream}`)?.phase;
  }

  /** The playlist text, if the stream has one now. */
  playlist(app: string, stream: string): string | undefined {
    return this.#entries.get(`${app}/${stream}`)?.stream.playlist();
  }

  /**
   * True for a live stream without a first segment yet: its playlist request may wait for it
   * ({@link HlsPackagers.waitForPlaylist}). False for streams that are not live (404 at once).
   */
  pending(app: string, stream: string): boolean {
    const e = this.#entries.get(`${app}/${stream}`);
    return e !== undefined && e.phase === "live" &&
      e.stream.playlist() === undefined && this.#o.maxHeldRequests > 0;
  }

  /**
   * Waits for a pending playlist: until the stream's first segment exists, at most
   * {@link PLAYLIST_HOLD_TARGET_RATIO} target durations (and {@link MAX_PLAYLIST_HOLD_MS}).
   * At most `maxHeldRequests` wait at once; `signal` (the client's request) releases the hold
   * when the client goes away.
   */
  waitForPlaylist(
    app: string,
    stream: string,
    signal?: AbortSignal,
  ): Promise<PlaylistWait> {
    const e = this.#entries.get(`${app}/${stream}`);
    const text = e?.stream.playlist();
    if (text !== undefined) return Promise.resolve({ kind: "ready", text });
    if (!e || e.phase !== "live" || this.#closed) {
      return Promise.resolve(this.#count({ kind: "gone" }));
    }
    if (this.#held >= this.#o.maxHeldRequests) {
      return Promise.resolve(this.#count({ kind: "busy" }));
    }
    if (signal?.aborted) {
      return Promise.resolve(this.#count({ kind: "aborted" }));
    }
    return new Promise<PlaylistWait>((resolve) => {
      const onAbort = () => waiter.settle({ kind: "aborted" });
      const timer = setTimeout(
        () => waiter.settle({ kind: "timeout" }),
        this.#holdMs,
      );
      const waiter: Waiter = {
        settle: (result) => {
          if (!e.waiters.delete(waiter)) return;
          this.#held--;
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          resolve(this.#count(result));
        },
      };
      e.waiters.add(waiter);
      this.#held++;
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** The segments the stream's playlist lists now, oldest first (master playlists' rates). */
  segments(app: string, stream: string): readonly HlsSegment[] {
    return this.#entries.get(`${app}/${stream}`)?.stream.segments ?? [];
  }

  /** A segment's bytes while the stream's playlist lists or retains it. */
  segment(app: string, stream: string, name: string): Uint8Array | undefined {
    return this.#entries.get(`${app}/${stream}`)?.stream.segment(name);
  }

  /** Playlist requests held now. */
  get heldRequests(): number {
    return this.#held;
  }

  /**
   * Stops: no more packaging, every timer cleared, every held request answered `gone`.
   * Resolves when the persisted numbering is written.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe();
    for (const e of this.#entries.values()) {
      clearTimeout(e.timer);
      e.timer = undefined;
      this.#wake(e, true);
    }
    await this.#sequences.flush();
  }

  #count(result: PlaylistWait): PlaylistWait {
    this.#holds.inc({ outcome: result.kind });
    return result;
  }

  #onPublish(hub: Hub): void {
    if (this.#closed) return;
    const key = `${hub.app}/${hub.name}`;
    let e = this.#entries.get(key);
    if (!e) {
      const created = this.#create(hub);
      if (!created) return;
      e = created;
      this.#entries.set(key, e);
    }
    clearTimeout(e.timer);
    e.timer = undefined;
    e.phase = "live";
    e.hub = hub;
    const entry = e;
    // A new resolution or sample rate mid-publish (a virtual-live channel's next file, an
    // encoder's change) closes the segment and opens the next with EXT-X-DISCONTINUITY.
    const stream = restartOnCodecChange(entry.stream);
    hub.addListener({
      onTag: (tag) => stream.onTag(tag),
      onEnd: () => this.#onUnpublish(entry),
      // A relay's new upstream: the segment closes, the next opens behind EXT-X-DISCONTINUITY
      // with the sequence headers the new upstream sends; numbering goes on.
      onBreak: () => stream.onEnd(),
    });
  }

  #create(hub: Hub): Entry | undefined {
    const key = `${hub.app}/${hub.name}`;
    const waiters = new Set<Waiter>();
    let entry: Entry | undefined;
    try {
      const stream = new HlsStream({
        streamName: hub.name,
        targetDurationMs: this.#o.targetDurationMs,
        keyframeTolerance: this.#o.keyframeTolerance,
        windowSegments: this.#o.windowSegments,
        segmentNamePrefix: this.#prefix,
        now: Date.now,
        resume: this.#sequences.get(hub.app, hub.name),
        onSegmentOpened: (state) =>
          this.#sequences.set(hub.app, hub.name, state),
        onSegmentClosed: (segment) => {
          this.#segments.inc();
          this.#segmentBytes.inc(segment.bytes.byteLength);
          this.#segmentSeconds.observe(segment.durationMs / 1000);
          if (!entry) return;
          this.#wake(entry, false);
          this.#observe(entry.hub, segment);
        },
      });
      entry = { key, stream, hub, phase: "live", timer: undefined, waiters };
      return entry;
    } catch (err) {
      this.#log.warn("stream not packaged as HLS", {
        stream: key,
        error: err instanceof Error ? err.message : String(err),
      });
      return undefined;
    }
  }

  /** Tells the observer; what it throws is logged, never the fan-out's problem. */
  #observe(hub: Hub, segment: HlsSegment | undefined): void {
    if (!this.#observer) return;
    try {
      if (segment) this.#observer.onSegment(hub, segment);
      else this.#observer.onPublishEnd(hub);
    } catch (err) {
      this.#log.warn("segment observer failed", {
        stream: `${hub.app}/${hub.name}`,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }

  #onUnpublish(e: Entry): void {
    e.stream.onEnd();
    this.#observe(e.hub, undefined);
    if (this.#closed || this.#entries.get(e.key) !== e) return;
    e.phase = "grace";
    this.#wake(e, false);
    e.timer = setTimeout(() => this.#end(e), this.#o.endGraceMs);
  }

  #end(e: Entry): void {
    if (e.phase !== "grace") return; // republished meanwhile
    e.stream.markEnded();
    e.phase = "ended";
    this.#ended.inc();
    this.#log.info("HLS playlist ended", { stream: e.key });
    e.timer = setTimeout(() => {
      if (this.#entries.get(e.key) === e && e.phase === "ended") {
        this.#entries.delete(e.key);
      }
    }, this.#o.endedRetentionMs);
  }

  /** Answers the held requests of `e` that can be answered (all of them when `all`). */
  #wake(e: Entry, all: boolean): void {
    if (e.waiters.size === 0) return;
    const text = e.stream.playlist();
    for (const w of [...e.waiters]) {
      if (text !== undefined) w.settle({ kind: "ready", text });
      else if (all || e.phase !== "live") w.settle({ kind: "gone" });
    }
  }
}
