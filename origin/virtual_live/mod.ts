/**
 * Virtual live: an FLV file played as a live stream, looping with continuous timestamps.
 *
 * The file is read once; its metadata and sequence headers are published once, then its media
 * tags are paced against the wall clock. Each loop adds the clip's length to the timestamps, so
 * players and the HLS packager see one unbroken stream.
 *
 * @module
 */

import {
  type FlvTag,
  FlvTagType,
  isAudioSequenceHeader,
  isVideoSequenceHeader,
  readFlvFile,
} from "../../codec/flv/mod.ts";
import type { VirtualLiveChannel } from "../../config/mod.ts";
import { describeError, type Logger } from "../log.ts";
import type { Hub } from "../stream/hub.ts";
import type { StreamRegistry } from "../stream/registry.ts";

/** How long between pacing ticks at most (ms). */
const MAX_TICK_MS = 50;
/** Delay before trying to take a busy stream key again (ms). */
const RETRY_MS = 5_000;

function isConfigTag(t: FlvTag): boolean {
  if (t.type === FlvTagType.Script) return true;
  return t.type === FlvTagType.Video
    ? isVideoSequenceHeader(t.data)
    : isAudioSequenceHeader(t.data);
}

/** A clip split into what is sent once and what loops. */
export interface LoopingClip {
  readonly config: readonly FlvTag[];
  /** Media tags with timestamps rebased to start at 0. */
  readonly media: readonly FlvTag[];
  /** Timestamp added per loop (ms): the clip's length including its last frame. */
  readonly loopDurationMs: number;
}

/**
 * Splits an FLV file into config tags and rebased media tags.
 *
 * @throws {Error} When the file holds no media tags.
 */
export function prepareClip(bytes: Uint8Array, source: string): LoopingClip {
  const { tags } = readFlvFile(bytes);
  const config = tags.filter(isConfigTag);
  const media = tags.filter((t) => !isConfigTag(t));
  if (media.length === 0) {
    throw new Error(`Cannot loop ${source}: it holds no audio or video tags`);
  }
  const base = Math.min(...media.map((t) => t.timestampMs));
  const rebased = media.map((t) => ({
    ...t,
    timestampMs: t.timestampMs - base,
  }));
  // The loop length must cover each track's last frame, so the next loop never goes backwards.
  let end = 0;
  for (const type of [FlvTagType.Audio, FlvTagType.Video]) {
    const ts = rebased.filter((t) => t.type === type).map((t) => t.timestampMs);
    if (ts.length === 0) continue;
    const last = ts[ts.length - 1]!;
    const frame = ts.length > 1 ? (last - ts[0]!) / (ts.length - 1) : 40;
    end = Math.max(end, Math.round(last + frame));
  }
  return { config, media: rebased, loopDurationMs: Math.max(end, 1) };
}

/** A running channel. */
export interface VirtualLiveHandle {
  stop(): void;
}

/**
 * Starts a channel: reads the file and publishes it to the registry as `app/stream`.
 *
 * A missing or bad file is logged and the channel is skipped: it must not stop the origin. A
 * busy key (someone is publishing it live) is retried every few seconds.
 */
export async function startVirtualLive(
  channel: VirtualLiveChannel,
  deps: { registry: StreamRegistry; log: Logger; now?: () => number },
): Promise<VirtualLiveHandle> {
  const log = deps.log;
  const now = deps.now ?? (() => performance.now());
  const key = `${channel.app}/${channel.stream}`;
  let clip: LoopingClip;
  try {
    clip = prepareClip(await Deno.readFile(channel.file), channel.file);
  } catch (err) {
    log.error("virtual live channel skipped", {
      stream: key,
      file: channel.file,
      error: describeError(err),
    });
    return { stop() {} };
  }

  let hub: Hub | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let startedAt = 0;
  let index = 0;
  let loop = 0;

  const tick = () => {
    timer = undefined;
    if (stopped || !hub) return;
    const elapsed = now() - startedAt;
    // Push every tag that is due; timestamps continue across loops.
    for (;;) {
      const t = clip.media[index]!;
      const ts = t.timestampMs + loop * clip.loopDurationMs;
      if (ts > elapsed) break;
      hub.pushTag({ type: t.type, timestampMs: ts, data: t.data });
      if (++index === clip.media.length) {
        index = 0;
        loop++;
      }
    }
    const next = clip.media[index]!.timestampMs + loop * clip.loopDurationMs;
    timer = setTimeout(
      tick,
      Math.min(MAX_TICK_MS, Math.max(1, next - (now() - startedAt))),
    );
  };

  const begin = () => {
    timer = undefined;
    if (stopped) return;
    try {
      hub = deps.registry.startPublish(channel.app, channel.stream, {
        peer: `file:${channel.file}`,
        protocol: "virtual",
      });
    } catch (err) {
      log.warn("virtual live channel waits: stream key busy", {
        stream: key,
        error: describeError(err),
      });
      timer = setTimeout(begin, RETRY_MS);
      return;
    }
    log.info("virtual live channel started", {
      stream: key,
      file: channel.file,
      loopSeconds: clip.loopDurationMs / 1000,
    });
    for (const t of clip.config) hub.pushTag({ ...t, timestampMs: 0 });
    startedAt = now();
    index = 0;
    loop = 0;
    tick();
  };
  begin();

  return {
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      hub?.end();
    },
  };
}
