/**
 * One virtual-live channel: its programme (playlist, loop, daily slots) played into a stream
 * hub as live FLV tags, paced against the injected clock.
 *
 * Each item is an MP4 or FLV file, opened through its container-neutral sample index
 * ({@link MediaFile}), so both play alike: a frame's tag is built from the index (codec header
 * from the track, payload read from the file in blocks as it comes due, see
 * `sample_reader.ts`). Timestamps run on one channel timeline, continuous and strictly
 * increasing per track across items and loops; sequence headers go out when an item's
 * configuration record differs from the one last sent (never otherwise, so a player or the
 * HLS packager sees a change of codec parameters only where there is one).
 *
 * Never stopped by its media: a file that is missing or unreadable (at open or mid-play) is
 * logged, counted and skipped; a pass over the playlist with nothing playable waits
 * {@link RETRY_MS} before trying again instead of spinning.
 *
 * @module
 */

import {
  FLV_TAG_HEADER_BYTES,
  flvFrameHead,
  type FlvTag,
  FlvTagType,
} from "../../codec/flv/mod.ts";
import { encodeAmf0 } from "../../codec/amf0/encode.ts";
import { Amf0EcmaArray } from "../../codec/amf0/types.ts";
import type { TrackIndex } from "../../codec/samples/mod.ts";
import type { VirtualLiveChannel } from "../../config/mod.ts";
import { describeError, type Logger } from "../log.ts";
import type { Hub } from "../stream/hub.ts";
import type { StreamRegistry } from "../stream/registry.ts";
import { Library, type MediaCache, type MediaFile } from "../vod/mod.ts";
import { VirtualLiveError, VirtualLiveErrorCode } from "./errors.ts";
import { ItemCursor } from "./item_cursor.ts";
import { type PlannedItem, Programme } from "./programme.ts";
import { SampleReader } from "./sample_reader.ts";

/** Longest wait between two pumps while an item plays (ms): bounds the lateness of a frame. */
export const MAX_TICK_MS = 50;
/** Longest wait between two pumps while nothing plays (ms): a slot or a retry comes due. */
export const MAX_IDLE_TICK_MS = 1000;
/** Delay before trying a busy stream key, or a playlist with nothing playable, again (ms). */
export const RETRY_MS = 5_000;
/**
 * A frame this late (ms) re-anchors the pacing instead of sending the backlog at once: after a
 * stalled event loop, a slow disk, a clock step or a wait for a file, viewers get a continuous
 * stream from now rather than a burst of seconds of media.
 */
export const MAX_LAG_MS = 1_000;
/** Tags pushed by one pump before it yields to the event loop. */
export const MAX_TAGS_PER_PUMP = 500;

// Only the extension and error messages of a "library file" matter to the indexer: a
// playlist path is a plain filesystem path, not a path inside a mounted library.
const FILESYSTEM = new Library({ path: ".", prefix: "/virtual-live/" });

/** The item playing now. */
export interface CurrentItem {
  readonly file: string;
  readonly source: PlannedItem["source"];
  /** Playlist or schedule position. */
  readonly index: number;
  /** Clock time it started (epoch ms). */
  readonly startedAtMs: number;
  /** Its length as indexed (ms). */
  readonly durationMs: number;
  /**
   * When its last frame is due by the channel's pacing (epoch ms): its start plus its length,
   * moved by any wait or stall since.
   */
  readonly expectedEndMs: number;
  /** When a slot will cut it short (epoch ms), if one will. */
  readonly interruptAtMs: number | undefined;
  /** A slot's due time (epoch ms), for schedule items. */
  readonly dueMs: number | undefined;
}

/** Counters of a channel (for `/metrics`). */
export interface ChannelStats {
  readonly itemsStarted: number;
  readonly skipped: number;
  readonly loops: number;
}

/** What a channel needs. */
export interface ChannelDeps {
  readonly registry: StreamRegistry;
  readonly log: Logger;
  /** Indexes of media files, shared by every channel (a file played again is not re-read). */
  readonly media: MediaCache;
  /** Epoch ms: paces the frames and places the daily slots. @default Date.now */
  readonly now?: () => number;
}

interface Playing {
  readonly planned: PlannedItem;
  readonly media: MediaFile;
  readonly reader: SampleReader;
  readonly cursor: ItemCursor;
  readonly startedAtMs: number;
  readonly interruptAtMs: number | undefined;
}

/** The configuration record last sent for a kind of track. */
interface SentConfig {
  readonly codec: string;
  readonly config: Uint8Array | undefined;
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined) {
  if (a === b) return true;
  if (!a || !b || a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The sequence header of a track (FLV spec E.4.2.1, E.4.3.1; enhanced RTMP for HEVC), or
 * `undefined` for a codec without one (MP3).
 */
export function sequenceHeaderOf(track: TrackIndex): Uint8Array | undefined {
  const config = track.config;
  if (!config) return undefined;
  let head: Uint8Array;
  if (track.kind === "video") {
    head = track.codec === "hevc"
      // ExHeader | keyframe | SequenceStart, FourCC 'hvc1'
      ? new Uint8Array([0x90, 0x68, 0x76, 0x63, 0x31])
      : new Uint8Array([0x17, 0x00, 0, 0, 0]); // keyframe AVC, AVC sequence header, cts 0
  } else if (track.codec === "aac") {
    head = new Uint8Array([0xaf, 0x00]); // AAC, AAC sequence header
  } else return undefined;
  const out = new Uint8Array(head.byteLength + config.byteLength);
  out.set(head);
  out.set(config, head.byteLength);
  return out;
}

/**
 * A running channel. `start()` publishes it and drives it with timers; tests call
 * {@link VirtualChannel.pump} themselves with a manual clock.
 */
export class VirtualChannel {
  readonly app: string;
  readonly stream: string;
  readonly #registry: StreamRegistry;
  readonly #log: Logger;
  readonly #media: MediaCache;
  readonly #now: () => number;
  readonly #programme: Programme;

  #hub: Hub | undefined;
  #item: Playing | undefined;
  /** Channel time (ms) where the next item starts. */
  #timelineMs = 0;
  /** Clock time of channel time 0 (set by the first frame). */
  #anchorMs: number | undefined;
  /** Last timestamp sent per track kind (strictly increasing, whatever a file says). */
  #lastTs = { video: -Infinity, audio: -Infinity };
  #sent: { video?: SentConfig; audio?: SentConfig } = {};
  #metadataSent = false;
  #idleUntilMs = 0;
  #consecutiveSkips = 0;
  #ended = false;
  #stopped = false;
  #started = false;
  #pumping = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #itemsStarted = 0;
  #skipped = 0;

  constructor(config: VirtualLiveChannel, deps: ChannelDeps) {
    this.app = config.app;
    this.stream = config.stream;
    this.#registry = deps.registry;
    this.#log = deps.log;
    this.#media = deps.media;
    this.#now = deps.now ?? Date.now;
    const playlist = config.playlist?.length
      ? config.playlist
      : config.file
      ? [config.file]
      : [];
    this.#programme = new Programme({
      playlist,
      loop: config.loop ?? true,
      schedule: config.schedule ?? [],
      timeZone: config.timeZone ?? "UTC",
    }, this.#now());
  }

  /** `app/stream`. */
  get key(): string {
    return `${this.app}/${this.stream}`;
  }

  /** The running order (read-only use: playlist, schedule, slots of a day). */
  get programme(): Programme {
    return this.#programme;
  }

  /** The item playing now. */
  get current(): CurrentItem | undefined {
    const p = this.#item;
    if (!p) return undefined;
    return {
      file: p.planned.file,
      source: p.planned.source,
      index: p.planned.index,
      startedAtMs: p.startedAtMs,
      durationMs: p.media.index.durationMs,
      expectedEndMs: this.#anchorMs === undefined
        ? p.startedAtMs + p.media.index.durationMs
        : Math.max(this.#now(), this.#anchorMs + p.cursor.fullEndMs),
      interruptAtMs: p.interruptAtMs,
      dueMs: p.planned.source === "schedule" ? p.planned.dueMs : undefined,
    };
  }

  /** True while the stream is published. */
  get live(): boolean {
    return this.#hub !== undefined;
  }

  /** True once a non-looping playlist has played out with no slot to come. */
  get ended(): boolean {
    return this.#ended;
  }

  get stats(): ChannelStats {
    return {
      itemsStarted: this.#itemsStarted,
      skipped: this.#skipped,
      loops: this.#programme.loops,
    };
  }

  /**
   * Replaces the playlist; it plays from the next item boundary (the item playing now ends as
   * it would have). A channel that had played out, or was waiting on unplayable files, starts
   * at once.
   */
  replacePlaylist(playlist: readonly string[], loop: boolean): void {
    this.#programme.replacePlaylist(playlist, loop);
    this.#idleUntilMs = 0;
    this.#consecutiveSkips = 0;
    this.#ended = false;
    this.#log.info("virtual live playlist replaced", {
      stream: this.key,
      items: playlist.length,
      loop,
    });
    if (this.#started && !this.#pumping && !this.#stopped) this.#schedule(0);
  }

  /** Publishes the channel and plays it on timers until {@link stop}. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#schedule(0);
  }

  /** Stops playing and ends the stream (idempotent). */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#closeItem();
    this.#hub?.end();
    this.#hub = undefined;
  }

  #schedule(ms: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#run(), ms);
  }

  async #run(): Promise<void> {
    this.#timer = undefined;
    if (this.#stopped) return;
    let wait: number;
    try {
      wait = await this.pump();
    } catch (err) {
      // A bug must not end the channel either: log it and go on after a pause.
      this.#log.error("virtual live channel error", {
        stream: this.key,
        error: describeError(err),
      });
      this.#closeItem();
      wait = RETRY_MS;
    }
    if (this.#stopped) return;
    const cap = this.#item ? MAX_TICK_MS : MAX_IDLE_TICK_MS;
    this.#schedule(Math.max(0, Math.min(wait, cap)));
  }

  /**
   * Pushes every frame due by now into the hub, opening items as earlier ones end.
   *
   * @returns Milliseconds (of the clock) until the next frame is due; `Infinity` when the
   *   channel has played out.
   */
  async pump(): Promise<number> {
    if (this.#pumping || this.#stopped) return MAX_TICK_MS;
    this.#pumping = true;
    try {
      return await this.#pump();
    } finally {
      this.#pumping = false;
    }
  }

  async #pump(): Promise<number> {
    let pushed = 0;
    for (;;) {
      const now = this.#now();
      if (!this.#item) {
        if (this.#ended) return Infinity;
        if (now < this.#idleUntilMs) return this.#idleUntilMs - now;
        const wait = await this.#openNext(now);
        if (this.#stopped) return Infinity;
        if (wait !== undefined) return wait;
        continue;
      }
      const item = this.#item;
      if (
        item.interruptAtMs !== undefined && now >= item.interruptAtMs &&
        !item.cursor.cut
      ) {
        item.cursor.cutAtNextKeyframe();
      }
      const f = item.cursor.peek();
      if (!f) {
        this.#finishItem();
        continue;
      }
      if (!this.#hub) {
        // Ended while an item was open (cannot happen from outside: stop() closes the item).
        this.#closeItem();
        continue;
      }
      const kind = f.track.kind;
      const ts = Math.max(f.timestampMs, this.#lastTs[kind] + 1);
      this.#anchorMs ??= now - ts;
      let dueAt = this.#anchorMs + ts;
      if (now - dueAt > MAX_LAG_MS) {
        this.#anchorMs = now - ts;
        dueAt = now;
      }
      if (dueAt > now) return dueAt - now;
      let data: Uint8Array;
      try {
        const head = flvFrameHead(f.track, f.sample, ts).subarray(
          FLV_TAG_HEADER_BYTES,
        );
        data = new Uint8Array(head.byteLength + f.size);
        data.set(head);
        await item.reader.read(
          f.offset,
          f.size,
          data.subarray(head.byteLength),
        );
      } catch (err) {
        if (this.#stopped) return Infinity;
        this.#skip(item.planned.file, err, "reading a frame");
        this.#finishItem();
        continue;
      }
      if (this.#stopped || this.#item !== item) return Infinity;
      this.#hub.pushTag({
        type: kind === "video" ? FlvTagType.Video : FlvTagType.Audio,
        timestampMs: ts,
        data,
      });
      this.#lastTs[kind] = ts;
      item.cursor.advance();
      if (++pushed >= MAX_TAGS_PER_PUMP) return 0;
    }
  }

  /**
   * Opens the next item of the programme (publishing the stream first if it is not) and sends
   * what its start needs (sequence headers that changed).
   *
   * @returns How long to wait, or `undefined` to go on at once (an item is open, or one was
   *   skipped and the next should be tried).
   */
  async #openNext(now: number): Promise<number | undefined> {
    if (!this.#hub && this.#registry.get(this.app, this.stream)) {
      // Someone publishes this key live: the channel waits, its programme untouched.
      this.#log.warn("virtual live channel waits: stream key busy", {
        stream: this.key,
      });
      this.#idleUntilMs = now + RETRY_MS;
      return RETRY_MS;
    }
    const planned = this.#programme.next(now);
    if (!planned) {
      // A non-looping playlist has played out: off the air until the next slot, if any.
      const slot = this.#programme.nextSlotAfter(now);
      this.#endHub();
      if (!slot) {
        this.#ended = true;
        this.#log.info("virtual live channel played out", {
          stream: this.key,
        });
        return Infinity;
      }
      this.#idleUntilMs = slot.startMs;
      return slot.startMs - now;
    }
    let media: MediaFile;
    let reader: SampleReader;
    try {
      media = await this.#index(planned.file);
      reader = await SampleReader.open(media.file.realPath);
    } catch (err) {
      if (this.#stopped) return Infinity;
      this.#skip(planned.file, err, "opening");
      if (
        this.#consecutiveSkips >= Math.max(1, this.#programme.playlist.length)
      ) {
        // A whole pass found nothing to play: off the air, try again later.
        this.#consecutiveSkips = 0;
        this.#idleUntilMs = now + RETRY_MS;
        this.#endHub();
        this.#log.warn("virtual live channel has nothing playable: retrying", {
          stream: this.key,
          retryInSeconds: RETRY_MS / 1000,
        });
        return RETRY_MS;
      }
      return undefined; // on to the next item
    }
    if (this.#stopped) {
      reader.close();
      return Infinity;
    }
    if (!this.#hub && !this.#publish()) {
      // Taken while the file was opened (a publisher raced us): this item is passed over.
      reader.close();
      this.#idleUntilMs = now + RETRY_MS;
      return RETRY_MS;
    }
    this.#consecutiveSkips = 0;
    const base = Math.max(
      Math.ceil(this.#timelineMs),
      this.#lastTs.video + 1,
      this.#lastTs.audio + 1,
    );
    const cursor = new ItemCursor(media.index, base);
    this.#sendConfig(cursor.tracks, base);
    const interrupt = this.#programme.nextSlotAfter(now);
    this.#item = {
      planned,
      media,
      reader,
      cursor,
      startedAtMs: now,
      interruptAtMs: interrupt?.startMs,
    };
    this.#itemsStarted++;
    this.#log.info("virtual live item started", {
      stream: this.key,
      file: planned.file,
      source: planned.source,
      index: planned.index,
      loop: planned.source === "playlist" ? planned.loop : undefined,
      seconds: Math.round(media.index.durationMs) / 1000,
    });
    return undefined;
  }

  async #index(path: string): Promise<MediaFile> {
    const info = await Deno.stat(path);
    if (!info.isFile) {
      throw new VirtualLiveError(
        VirtualLiveErrorCode.NotAFile,
        `Cannot play ${path}: not a regular file`,
      );
    }
    return await this.#media.get({
      library: FILESYSTEM,
      relPath: path,
      realPath: await Deno.realPath(path),
      size: info.size,
      mtimeMs: info.mtime?.getTime() ?? 0,
    });
  }

  #publish(): boolean {
    try {
      this.#hub = this.#registry.startPublish(this.app, this.stream, {
        peer: `virtual:${this.key}`,
        protocol: "virtual",
      });
    } catch (err) {
      this.#log.warn("virtual live channel waits: stream key busy", {
        stream: this.key,
        error: describeError(err),
      });
      return false;
    }
    // A new publish: its viewers and packagers know nothing yet.
    this.#sent = {};
    this.#metadataSent = false;
    this.#log.info("virtual live channel started", { stream: this.key });
    return true;
  }

  #endHub(): void {
    this.#hub?.end();
    this.#hub = undefined;
  }

  /** Sends onMetaData once per publish and each sequence header that differs from the last. */
  #sendConfig(tracks: readonly TrackIndex[], ts: number): void {
    const hub = this.#hub!;
    if (!this.#metadataSent) {
      // No size or duration: a channel's items differ in both, and a late joiner would get the
      // first item's. Codec ids only (FLV spec E.5), at 0 as FFmpeg's FLV reader expects.
      const meta: Record<string, number | string> = {
        encoder: "Meridian virtual live",
      };
      const video = tracks.find((t) => t.kind === "video");
      const audio = tracks.find((t) => t.kind === "audio");
      if (video) meta.videocodecid = video.codec === "hevc" ? 12 : 7;
      if (audio) meta.audiocodecid = audio.codec === "aac" ? 10 : 2;
      hub.pushTag({
        type: FlvTagType.Script,
        timestampMs: 0,
        data: encodeAmf0("onMetaData", new Amf0EcmaArray(meta)),
      });
      this.#metadataSent = true;
    }
    // Video first: a player starting on this keyframe needs its parameter sets first.
    const ordered = [...tracks].sort((a, b) =>
      a.kind === b.kind ? 0 : a.kind === "video" ? -1 : 1
    );
    for (const t of ordered) {
      const last = this.#sent[t.kind];
      if (last && last.codec === t.codec && sameBytes(last.config, t.config)) {
        continue;
      }
      this.#sent[t.kind] = { codec: t.codec, config: t.config };
      const data = sequenceHeaderOf(t);
      if (!data) continue;
      const tag: FlvTag = {
        type: t.kind === "video" ? FlvTagType.Video : FlvTagType.Audio,
        timestampMs: ts,
        data,
      };
      hub.pushTag(tag);
    }
  }

  #skip(file: string, err: unknown, when: string): void {
    this.#skipped++;
    this.#consecutiveSkips++;
    this.#log.warn("virtual live item skipped", {
      stream: this.key,
      file,
      when,
      error: describeError(err),
    });
  }

  #finishItem(): void {
    const item = this.#item;
    if (!item) return;
    this.#timelineMs = Math.max(this.#timelineMs, item.cursor.endMs);
    this.#closeItem();
  }

  #closeItem(): void {
    this.#item?.reader.close();
    this.#item = undefined;
  }
}
