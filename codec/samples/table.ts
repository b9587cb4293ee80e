/**
 * Building and searching sample tables.
 *
 * @module
 */

import type { SampleTable, TrackIndex } from "./types.ts";

/**
 * Collects samples one at a time (a growing table), then freezes them into a {@link SampleTable}.
 *
 * @example
 * ```ts
 * import { SampleTableBuilder } from "./table.ts";
 * import assert from "node:assert/strict";
 * const b = new SampleTableBuilder();
 * b.push(100, 10, 0, 40, 0, true);
 * b.push(110, 5, 40, 40, 0, false);
 * const t = b.finish();
 * assert.equal(t.count, 2);
 * assert.deepEqual([...t.sync!], [1, 0]);
 * ```
 */
export class SampleTableBuilder {
  #n = 0;
  #cap: number;
  #offset: Float64Array;
  #size: Uint32Array;
  #dts: Float64Array;
  #duration: Uint32Array;
  #cts: Int32Array;
  #sync: Uint8Array;
  #allSync = true;

  constructor(capacity = 1024) {
    this.#cap = Math.max(16, capacity);
    this.#offset = new Float64Array(this.#cap);
    this.#size = new Uint32Array(this.#cap);
    this.#dts = new Float64Array(this.#cap);
    this.#duration = new Uint32Array(this.#cap);
    this.#cts = new Int32Array(this.#cap);
    this.#sync = new Uint8Array(this.#cap);
  }

  get count(): number {
    return this.#n;
  }

  /** Decoding time of the last sample pushed plus its duration (where the next one starts). */
  get endDts(): number {
    const n = this.#n;
    return n === 0 ? 0 : this.#dts[n - 1]! + this.#duration[n - 1]!;
  }

  /** Sets the duration of the last sample pushed (known only once the next one arrives). */
  setLastDuration(duration: number): void {
    if (this.#n > 0) this.#duration[this.#n - 1] = Math.max(0, duration);
  }

  push(
    offset: number,
    size: number,
    dts: number,
    duration: number,
    cts: number,
    sync: boolean,
  ): void {
    if (this.#n === this.#cap) this.#grow();
    const i = this.#n++;
    this.#offset[i] = offset;
    this.#size[i] = size;
    this.#dts[i] = dts;
    this.#duration[i] = duration;
    this.#cts[i] = cts;
    this.#sync[i] = sync ? 1 : 0;
    if (!sync) this.#allSync = false;
  }

  #grow(): void {
    const cap = this.#cap * 2;
    const g = <T extends Float64Array | Uint32Array | Int32Array | Uint8Array>(
      a: T,
      make: (n: number) => T,
    ): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.#offset = g(this.#offset, (n) => new Float64Array(n));
    this.#size = g(this.#size, (n) => new Uint32Array(n));
    this.#dts = g(this.#dts, (n) => new Float64Array(n));
    this.#duration = g(this.#duration, (n) => new Uint32Array(n));
    this.#cts = g(this.#cts, (n) => new Int32Array(n));
    this.#sync = g(this.#sync, (n) => new Uint8Array(n));
    this.#cap = cap;
  }

  /** The table, trimmed to its samples (copies, so the builder's spare room is freed). */
  finish(): SampleTable {
    const n = this.#n;
    return {
      count: n,
      offset: this.#offset.slice(0, n),
      size: this.#size.slice(0, n),
      dts: this.#dts.slice(0, n),
      duration: this.#duration.slice(0, n),
      cts: this.#cts.slice(0, n),
      sync: this.#allSync ? undefined : this.#sync.slice(0, n),
    };
  }
}

/** True when sample `i` of `t` is a sync sample. */
export function isSync(t: SampleTable, i: number): boolean {
  return t.sync === undefined || t.sync[i] === 1;
}

/** Presentation time of sample `i` of `track`, ticks (`dts + cts - mediaTime`). */
export function presentationTicks(track: TrackIndex, i: number): number {
  const s = track.samples;
  return s.dts[i]! + s.cts[i]! - track.mediaTime;
}

/** Presented length of a track, ticks: from 0 to the end of its last sample. */
export function trackDurationTicks(track: TrackIndex): number {
  const s = track.samples;
  if (s.count === 0) return 0;
  return s.dts[s.count - 1]! + s.duration[s.count - 1]! - track.mediaTime;
}

/**
 * Index of the last sample whose decoding time is at or before `dts` (0 when `dts` precedes
 * every sample). Binary search.
 */
export function sampleAtOrBefore(t: SampleTable, dts: number): number {
  let lo = 0;
  let hi = t.count - 1;
  if (hi < 0 || t.dts[0]! > dts) return 0;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (t.dts[mid]! <= dts) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * The sync sample to start decoding from so that presentation time `ticks` is shown: the last
 * sync sample whose presentation time is at or before it (the first sample when none is).
 */
export function syncSampleFor(track: TrackIndex, ticks: number): number {
  const t = track.samples;
  if (t.count === 0) return 0;
  // Decoding order: a sync sample's PTS is at or after its DTS; search by DTS, then step back
  // to a sync sample whose PTS is not past `ticks`.
  let i = sampleAtOrBefore(t, ticks + track.mediaTime);
  for (;;) {
    while (i > 0 && !isSync(t, i)) i--;
    if (i === 0 || presentationTicks(track, i) <= ticks) return i;
    i--;
  }
}

/** The first sync sample at or after index `from`, or `count` when there is none. */
export function nextSyncSample(t: SampleTable, from: number): number {
  let i = from;
  while (i < t.count && !isSync(t, i)) i++;
  return i;
}

/** Converts `ticks` of `timescale` to milliseconds. */
export function ticksToMs(ticks: number, timescale: number): number {
  return (ticks * 1000) / timescale;
}

/** Converts milliseconds to ticks of `timescale` (rounded). */
export function msToTrackTicks(ms: number, timescale: number): number {
  return Math.round((ms * timescale) / 1000);
}
