/**
 * The live window of finished HLS segments: which ones the playlist lists, which extra ones
 * stay downloadable for slow clients, and the sequence numbers that go with them.
 *
 * @module
 */

/** A finished segment. */
export interface HlsSegment {
  /** File name (with ".ts"), unique for the process start. */
  readonly name: string;
  /** Media sequence number (RFC 8216 §3). */
  readonly sequence: number;
  readonly durationMs: number;
  /** Wall clock when the segment's first tag arrived, epoch ms. */
  readonly programDateTimeMs: number;
  /**
   * Media time of the segment's first frame (the FLV timestamp of its keyframe, or of its first
   * audio frame), ms: the TS timestamps inside are this in 90 kHz ticks plus the muxer's
   * `PCR_DELAY_TICKS`, so a reader recovers the publisher's own timeline (time-shift FLV, clips).
   */
  readonly mediaStartMs?: number | undefined;
  /** Preceded by EXT-X-DISCONTINUITY (a republish, a codec or timestamp change). */
  readonly discontinuity: boolean;
  /** The MPEG-TS bytes. */
  readonly bytes: Uint8Array;
}

/**
 * Keeps the last `windowSegments` segments listed and `retainedExtra` more downloadable:
 * RFC 8216 §6.2.2 requires a removed segment to stay available for a while, because a client
 * may have fetched the playlist that still named it.
 *
 * EXT-X-DISCONTINUITY-SEQUENCE counts the discontinuity-flagged segments that have left the
 * listed window (§6.2.1: incremented whenever such a segment is removed from the playlist), on
 * top of a starting value: the count an earlier process left behind (a restart).
 *
 * {@link SegmentWindow.retireAll} takes every segment off the playlist at once (a new
 * presentation after an ended one) and keeps them downloadable as retained extras.
 *
 * @example
 * ```ts
 * import { SegmentWindow } from "./window.ts";
 * import assert from "node:assert/strict";
 * const w = new SegmentWindow(2, 1);
 * for (let i = 0; i < 4; i++) {
 *   w.push({ name: `s${i}.ts`, sequence: i, durationMs: 2000, programDateTimeMs: 0, discontinuity: i === 1, bytes: new Uint8Array(0) });
 * }
 * assert.deepEqual(w.listed.map((s) => s.name), ["s2.ts", "s3.ts"]);
 * assert.equal(w.mediaSequence, 2);
 * assert.equal(w.discontinuitySequence, 1); // s1 (flagged) left the playlist
 * assert.ok(w.find("s1.ts")); // still downloadable
 * assert.equal(w.find("s0.ts"), undefined);
 * ```
 */
export class SegmentWindow {
  readonly #windowSegments: number;
  readonly #retainedExtra: number;
  readonly #segments: HlsSegment[] = []; // oldest first: retained-only, then listed
  /** How many of the newest segments are listed (at most the window). */
  #listedCount = 0;
  #discontinuitySequence: number;
  #retainedBytes = 0;

  /**
   * @param windowSegments Segments listed in the playlist (at least 1).
   * @param retainedExtra Older segments kept downloadable beyond the window.
   * @param discontinuitySequence The starting EXT-X-DISCONTINUITY-SEQUENCE.
   */
  constructor(
    windowSegments: number,
    retainedExtra: number,
    discontinuitySequence = 0,
  ) {
    this.#windowSegments = windowSegments;
    this.#retainedExtra = retainedExtra;
    this.#discontinuitySequence = discontinuitySequence;
  }

  /**
   * Appends a finished segment, sliding the window.
   *
   * @param segment The segment; its sequence must follow the previous one.
   */
  push(segment: HlsSegment): void {
    this.#segments.push(segment);
    this.#retainedBytes += segment.bytes.byteLength;
    if (this.#listedCount < this.#windowSegments) this.#listedCount++;
    else {
      // The segment that just left the listed window.
      const leaving =
        this.#segments[this.#segments.length - 1 - this.#windowSegments];
      if (leaving?.discontinuity) this.#discontinuitySequence++;
    }
    this.#trim();
  }

  /**
   * Takes every listed segment off the playlist (they stay downloadable, as retained extras,
   * until newer segments push them out), counting the discontinuities that leave (§6.2.1).
   */
  retireAll(): void {
    for (const s of this.listed) {
      if (s.discontinuity) this.#discontinuitySequence++;
    }
    this.#listedCount = 0;
  }

  #trim(): void {
    // At most the window plus the extras in all: in steady state that leaves `retainedExtra`
    // unlisted; after retireAll() the retired ones go, oldest first, as new segments come.
    while (this.#segments.length > this.#windowSegments + this.#retainedExtra) {
      this.#retainedBytes -= this.#segments.shift()!.bytes.byteLength;
    }
  }

  /** Segments the playlist lists, oldest first. */
  get listed(): readonly HlsSegment[] {
    return this.#listedCount === 0
      ? []
      : this.#segments.slice(-this.#listedCount);
  }

  /** EXT-X-MEDIA-SEQUENCE: the first listed segment's sequence (0 when empty). */
  get mediaSequence(): number {
    return this.listed[0]?.sequence ?? 0;
  }

  /** EXT-X-DISCONTINUITY-SEQUENCE. */
  get discontinuitySequence(): number {
    return this.#discontinuitySequence;
  }

  /** Bytes held by all retained segments. */
  get retainedBytes(): number {
    return this.#retainedBytes;
  }

  /** Number of listed segments. */
  get listedCount(): number {
    return this.#listedCount;
  }

  /** Number of retained segments (listed and extra). */
  get size(): number {
    return this.#segments.length;
  }

  /**
   * Finds a retained segment by file name.
   *
   * @param name The name, with or without ".ts".
   * @returns The segment, or `undefined` if unknown or expired.
   */
  find(name: string): HlsSegment | undefined {
    const full = name.endsWith(".ts") ? name : `${name}.ts`;
    // Newest first: clients mostly ask for the live edge.
    for (let i = this.#segments.length - 1; i >= 0; i--) {
      if (this.#segments[i]!.name === full) return this.#segments[i];
    }
    return undefined;
  }
}
