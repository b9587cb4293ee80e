/**
 * Ingest bit rates of live streams, from the byte counts the origins announce
 * (`DirectoryStream.bytesIn` at the listing's `updatedAtMs`): the growth between two
 * announcements, per stream and origin. Kept in memory, bounded; streams not seen for a minute
 * are forgotten.
 *
 * @module
 */

/** Streams tracked at once. */
export const MAX_TRACKED_STREAMS = 10_000;
/** A stream not seen for this long is forgotten (ms). */
const FORGET_MS = 60_000;

interface Sample {
  bytes: number;
  atMs: number;
  bps: number | undefined;
  seenMs: number;
}

/**
 * Computes bit rates from successive byte counts.
 *
 * @example
 * ```ts
 * import { BitrateSampler } from "./bitrate.ts";
 * const s = new BitrateSampler();
 * s.observe("o/live/a", 0, 1_000, 1_000);
 * if (s.observe("o/live/a", 250_000, 3_000, 3_000) !== 1_000_000) throw new Error("2 s, 2 Mbit");
 * ```
 */
export class BitrateSampler {
  readonly #samples = new Map<string, Sample>();

  /**
   * Takes a byte count sampled at `atMs` (the announcement's time) and returns the bit rate
   * since the previous different sample, or `undefined` before there are two.
   */
  observe(
    key: string,
    bytes: number,
    atMs: number,
    nowMs: number,
  ): number | undefined {
    const prev = this.#samples.get(key);
    if (prev && prev.atMs === atMs) {
      prev.seenMs = nowMs;
      return prev.bps;
    }
    let bps: number | undefined;
    if (prev && atMs > prev.atMs && bytes >= prev.bytes) {
      bps = Math.round((bytes - prev.bytes) * 8 / ((atMs - prev.atMs) / 1000));
    }
    this.#samples.delete(key);
    if (this.#samples.size >= MAX_TRACKED_STREAMS) this.#prune(nowMs);
    this.#samples.set(key, { bytes, atMs, bps, seenMs: nowMs });
    return bps;
  }

  #prune(nowMs: number): void {
    for (const [k, s] of this.#samples) {
      if (nowMs - s.seenMs > FORGET_MS) this.#samples.delete(k);
    }
    while (this.#samples.size >= MAX_TRACKED_STREAMS) {
      this.#samples.delete(this.#samples.keys().next().value!);
    }
  }
}
