/**
 * Virtual live (虚拟直播): files played as live channels. Each channel of `origin.virtualLive`
 * plays a playlist of MP4 and FLV files (mixed) in order, looping, with optional daily slots
 * in its time zone that interrupt the playlist; timestamps run on one timeline across files
 * and loops, so players and the HLS packager see one unbroken stream, and sequence headers are
 * sent again only where a file's codec parameters differ from the one before.
 *
 * Files are streamed, never read whole: each item is opened through the VOD sample index
 * (`indexMediaFile`, cached), and its frames are read in blocks as they come due, paced
 * against the channel's clock. A file that is missing or unreadable is skipped with a log
 * line; the channel goes on.
 *
 * The origin mounts {@link createVirtualLiveRoutes} (the programme guide and the admin API) and
 * registers {@link registerVirtualLiveMetrics}.
 *
 * @module
 */

import type { VirtualLiveChannel } from "../../config/mod.ts";
import type { MetricsRegistry } from "../../metrics/mod.ts";
import type { Logger } from "../log.ts";
import type { StreamRegistry } from "../stream/registry.ts";
import { MediaCache } from "../vod/mod.ts";
import { VirtualChannel } from "./channel.ts";

export {
  type ChannelDeps,
  type ChannelStats,
  type CurrentItem,
  MAX_LAG_MS,
  MAX_TICK_MS,
  RETRY_MS,
  sequenceHeaderOf,
  VirtualChannel,
} from "./channel.ts";
export {
  VirtualLiveError,
  VirtualLiveErrorCode,
  type VirtualLiveErrorCodeValue,
} from "./errors.ts";
export { type DueFrame, ItemCursor } from "./item_cursor.ts";
export {
  type PlannedItem,
  Programme,
  type ProgrammeOptions,
  type Slot,
  type SlotTime,
} from "./programme.ts";
export {
  baseName,
  type FileNames,
  programsOf,
  type ProgramsView,
} from "./programs.ts";
export {
  type ChannelDirectory,
  ChannelRequestError,
  channelView,
  createVirtualLiveRoutes,
  MAX_CHANNEL_BODY_BYTES,
  parsePlaylistChange,
  type PlaylistChange,
  type VirtualLiveRoutesOptions,
} from "./http.ts";
export {
  MAX_SAMPLE_BYTES,
  SAMPLE_BLOCK_BYTES,
  SampleReader,
} from "./sample_reader.ts";
export {
  formatClockTime,
  parseClockTime,
  zonedDate,
  zonedTimeToEpoch,
} from "./wall_clock.ts";

/**
 * Bytes of file indexes kept for the channels (about 25 bytes a frame: a two-hour film is
 * ~5 MB), so an item played again on the next loop is not indexed again.
 */
export const CHANNEL_INDEX_CACHE_BYTES = 64 * 1024 * 1024;

/** What the channels need. */
export interface VirtualLiveDeps {
  readonly registry: StreamRegistry;
  readonly log: Logger;
  /** The channels' clock, epoch ms (tests run it fast or by hand). @default Date.now */
  readonly now?: (() => number) | undefined;
}

/** Every channel of the origin. */
export class VirtualLiveChannels {
  readonly #channels = new Map<string, VirtualChannel>();
  readonly #now: () => number;

  /**
   * Creates the channels (not yet playing: {@link start}).
   *
   * @throws {RangeError} For a bad slot time or time zone (the config loader refuses both).
   */
  constructor(configs: readonly VirtualLiveChannel[], deps: VirtualLiveDeps) {
    this.#now = deps.now ?? Date.now;
    const media = new MediaCache(CHANNEL_INDEX_CACHE_BYTES);
    for (const c of configs) {
      const ch = new VirtualChannel(c, {
        registry: deps.registry,
        log: deps.log,
        media,
        now: this.#now,
      });
      this.#channels.set(ch.key, ch);
    }
  }

  /** The channel publishing `app/stream`, if there is one. */
  get(app: string, stream: string): VirtualChannel | undefined {
    return this.#channels.get(`${app}/${stream}`);
  }

  /** The channels' clock (epoch ms). */
  now(): number {
    return this.#now();
  }

  list(): VirtualChannel[] {
    return [...this.#channels.values()];
  }

  /** Starts every channel playing. */
  start(): void {
    for (const ch of this.#channels.values()) ch.start();
  }

  /** Stops every channel and ends its stream. */
  stop(): void {
    for (const ch of this.#channels.values()) ch.stop();
  }
}

/**
 * Per-channel series on `/metrics`: the item playing (`source`, `file`), items started, loops
 * completed and files skipped.
 */
export function registerVirtualLiveMetrics(
  metrics: MetricsRegistry,
  channels: VirtualLiveChannels,
): void {
  metrics.collect(
    "meridian_origin_virtual_live_item",
    "The item each virtual-live channel plays now (1 per channel playing)",
    "gauge",
    () =>
      channels.list().flatMap((ch) => {
        const c = ch.current;
        return c
          ? [[{ stream: ch.key, source: c.source, file: c.file }, 1]] as const
          : [];
      }),
  );
  const counter = (
    name: string,
    help: string,
    pick: (ch: VirtualChannel) => number,
  ) =>
    metrics.collect(
      name,
      help,
      "counter",
      () => channels.list().map((ch) => [{ stream: ch.key }, pick(ch)]),
    );
  counter(
    "meridian_origin_virtual_live_items_total",
    "Items a virtual-live channel has started",
    (ch) => ch.stats.itemsStarted,
  );
  counter(
    "meridian_origin_virtual_live_loops_total",
    "Passes over its playlist a virtual-live channel has completed",
    (ch) => ch.stats.loops,
  );
  counter(
    "meridian_origin_virtual_live_skipped_total",
    "Files a virtual-live channel skipped (missing or unreadable)",
    (ch) => ch.stats.skipped,
  );
}
