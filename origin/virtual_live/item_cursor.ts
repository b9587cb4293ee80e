/**
 * One playlist item's frames in the order they go out, each with its timestamp on the channel's
 * timeline: the container-neutral sample index of an MP4 or FLV file
 * ({@link MediaIndex}), merged across tracks by decoding time.
 *
 * Timestamps: an item starts at the channel time `baseMs` where the previous one ended, so the
 * channel's timestamps are continuous across files and loops. Inside the item each track keeps
 * its own decoding times, moved by the track's edit-list start (`mediaTime`) so that audio and
 * video stay in sync: the presentation time of sample `i` is `dts + cts - mediaTime`, and
 * each track's timestamps are its `dts - mediaTime` (ms), all moved by one amount so that the
 * earliest first frame lands on `baseMs`: both tracks keep one presentation clock and no
 * timestamp falls before the item's start. An FLV source has no edit lists: its tags keep
 * their spacing from the first one.
 *
 * Pure: the channel reads each frame's bytes (offset and size given here) and builds the tag.
 *
 * @module
 */

import {
  isSync,
  type MediaIndex,
  type TrackIndex,
} from "../../codec/samples/mod.ts";

/** A frame due to go out. */
export interface DueFrame {
  readonly track: TrackIndex;
  /** Sample number in the track. */
  readonly sample: number;
  /** Channel time (ms, rounded): the FLV tag's timestamp (its decoding time). */
  readonly timestampMs: number;
  /** The frame's duration, ms. */
  readonly durationMs: number;
  readonly keyframe: boolean;
  readonly offset: number;
  readonly size: number;
}

interface TrackCursor {
  readonly track: TrackIndex;
  /** ms added to the track's decoding time: the item's base plus the edit-list shift. */
  readonly shiftMs: number;
  next: number;
  /** Samples of the track that play (all, until a cut). */
  end: number;
}

/**
 * Walks an item's frames in decoding order across tracks (video first on ties: a player needs
 * the keyframe before the audio beside it to start).
 *
 * @example
 * ```ts
 * import { ItemCursor } from "./item_cursor.ts";
 * import assert from "node:assert/strict";
 * const track = (kind: "video" | "audio", dts: number[]) => ({
 *   kind, codec: kind === "video" ? "h264" : "aac", timescale: 1000, config: undefined,
 *   sampleEntry: undefined, mediaTime: 0,
 *   samples: { count: dts.length, offset: new Float64Array(dts.length), size: new Uint32Array(dts.length),
 *     dts: new Float64Array(dts), duration: new Uint32Array(dts.length).fill(40),
 *     cts: new Int32Array(dts.length), sync: undefined },
 * } as const);
 * const c = new ItemCursor({ container: "flv", fileSize: 0, durationMs: 120,
 *   tracks: [track("video", [0, 40, 80]), track("audio", [0, 40])] }, 1000);
 * const ts: number[] = [];
 * for (let f = c.peek(); f; f = c.peek()) { ts.push(f.timestampMs); c.advance(); }
 * assert.deepEqual(ts, [1000, 1000, 1040, 1040, 1080]);
 * assert.equal(c.endMs, 1120);
 * ```
 */
export class ItemCursor {
  readonly #cursors: TrackCursor[];
  #endMs: number;
  #cut = false;

  /**
   * @param index The item's sample index (tracks without samples are left out).
   * @param baseMs Channel time at which the item starts.
   */
  constructor(index: MediaIndex, baseMs: number) {
    const tracks = index.tracks.filter((t) => t.samples.count > 0);
    // Each track's decoding time minus its edit-list start: the presentation clock shared by
    // all tracks. The earliest first frame of any track lands on `baseMs`.
    const presentedMs = (t: TrackIndex, ticks: number) =>
      ((ticks - t.mediaTime) * 1000) / t.timescale;
    const earliest = Math.min(
      ...tracks.map((t) => presentedMs(t, t.samples.dts[0]!)),
    );
    this.#cursors = tracks.map((track) => ({
      track,
      shiftMs: baseMs - earliest - (track.mediaTime * 1000) / track.timescale,
      next: 0,
      end: track.samples.count,
    }));
    this.#endMs = baseMs;
  }

  /** The tracks of the item. */
  get tracks(): readonly TrackIndex[] {
    return this.#cursors.map((c) => c.track);
  }

  /**
   * Channel time where the item ends: the end (timestamp + duration) of the latest frame taken,
   * never before the item's start. The next item starts here.
   */
  get endMs(): number {
    return this.#endMs;
  }

  /** True once a cut was asked for. */
  get cut(): boolean {
    return this.#cut;
  }

  /** Channel time at which the item would end if played to its last frame. */
  get fullEndMs(): number {
    let end = this.#endMs;
    for (const c of this.#cursors) {
      const s = c.track.samples;
      const last = s.count - 1;
      end = Math.max(
        end,
        this.#timestamp(c, last) +
          (s.duration[last]! * 1000) / c.track.timescale,
      );
    }
    return Math.round(end);
  }

  /** The next frame to send, or `undefined` when the item is over. */
  peek(): DueFrame | undefined {
    const c = this.#pick();
    if (!c) return undefined;
    const s = c.track.samples;
    const i = c.next;
    return {
      track: c.track,
      sample: i,
      timestampMs: this.#timestamp(c, i),
      durationMs: (s.duration[i]! * 1000) / c.track.timescale,
      keyframe: c.track.kind === "audio" || isSync(s, i),
      offset: s.offset[i]!,
      size: s.size[i]!,
    };
  }

  /** Takes the frame {@link peek} gave. */
  advance(): void {
    const c = this.#pick();
    if (!c) return;
    const s = c.track.samples;
    const i = c.next++;
    this.#endMs = Math.max(
      this.#endMs,
      this.#timestamp(c, i) + (s.duration[i]! * 1000) / c.track.timescale,
    );
  }

  /**
   * Ends the item early, at the next video keyframe not yet sent (the next item then starts on
   * its own keyframe, so nothing is shown that cannot be decoded): video stops before it, audio
   * at the same time. An audio-only item stops at once.
   */
  cutAtNextKeyframe(): void {
    if (this.#cut) return;
    this.#cut = true;
    const video = this.#cursors.find((c) => c.track.kind === "video");
    let stopMs = -Infinity;
    if (video) {
      const s = video.track.samples;
      let k = video.next;
      while (k < video.end && !isSync(s, k)) k++;
      video.end = k;
      // No keyframe left: the item plays to its end.
      stopMs = k < s.count ? this.#timestamp(video, k) : Infinity;
    }
    for (const c of this.#cursors) {
      if (c === video) continue;
      let e = c.next;
      while (e < c.end && this.#timestamp(c, e) < stopMs) e++;
      c.end = e;
    }
  }

  #timestamp(c: TrackCursor, i: number): number {
    return Math.round(
      c.shiftMs + (c.track.samples.dts[i]! * 1000) / c.track.timescale,
    );
  }

  #pick(): TrackCursor | undefined {
    let best: TrackCursor | undefined;
    let bestTs = Infinity;
    for (const c of this.#cursors) {
      if (c.next >= c.end) continue;
      const ts = this.#timestamp(c, c.next);
      if (
        ts < bestTs ||
        (ts === bestTs && c.track.kind === "video" &&
          best?.track.kind !== "video")
      ) {
        best = c;
        bestTs = ts;
      }
    }
    return best;
  }
}
