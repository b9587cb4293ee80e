/**
 * What a virtual-live channel plays when: its playlist in order (looping or not) and its daily
 * slots, which interrupt the playlist at their wall time. The playlist then resumes at the item
 * after the one interrupted: a slot marks a change of programme, as in a broadcast rundown, and
 * starting a film again from a mid-way keyframe an hour later would surprise more than it helps.
 *
 * Pure and I/O-free: the channel asks {@link Programme.next} at each item boundary, passing the
 * time, and tells it how items went; times are epoch ms from the channel's injected clock.
 *
 * @module
 */

import {
  formatClockTime,
  nextDate,
  parseClockTime,
  zonedDate,
  zonedTimeToEpoch,
} from "./wall_clock.ts";

/** One daily slot. */
export interface Slot {
  /** Minutes since local midnight. */
  readonly minutes: number;
  readonly file: string;
}

/** A slot on one day. */
export interface SlotTime {
  readonly slot: Slot;
  /** Its index in the schedule as configured. */
  readonly index: number;
  readonly startMs: number;
}

/** An item chosen to play. */
export type PlannedItem =
  | {
    readonly source: "playlist";
    readonly file: string;
    /** Position in the playlist. */
    readonly index: number;
    /** Completed passes over the playlist when it starts. */
    readonly loop: number;
  }
  | {
    readonly source: "schedule";
    readonly file: string;
    /** Position in the schedule as configured. */
    readonly index: number;
    /** When the slot was due (it starts at the first item boundary at or after this). */
    readonly dueMs: number;
  };

/** The configuration a programme runs. */
export interface ProgrammeOptions {
  readonly playlist: readonly string[];
  readonly loop: boolean;
  /** Daily slots as configured (`at` is `HH:MM`). */
  readonly schedule: readonly { readonly at: string; readonly file: string }[];
  /** IANA zone of the slots' times. */
  readonly timeZone: string;
}

/** Days searched ahead for the next slot (one would do; two ride over a daylight-saving day). */
const SLOT_SEARCH_DAYS = 2;

/**
 * A channel's running order.
 *
 * @example
 * ```ts
 * import { Programme } from "./programme.ts";
 * import assert from "node:assert/strict";
 * const t0 = Date.UTC(2024, 5, 1, 19, 0); // 19:00 UTC
 * const p = new Programme({ playlist: ["a.mp4", "b.flv"], loop: true, schedule: [{ at: "20:00", file: "news.mp4" }], timeZone: "UTC" }, t0);
 * assert.equal(p.next(t0)?.file, "a.mp4");
 * assert.equal(p.next(t0 + 60_000)?.file, "b.flv");
 * assert.equal(p.nextSlotAfter(t0)?.startMs, Date.UTC(2024, 5, 1, 20, 0));
 * assert.equal(p.next(Date.UTC(2024, 5, 1, 20, 0, 1))?.file, "news.mp4");
 * assert.equal(p.next(Date.UTC(2024, 5, 1, 20, 30))?.file, "a.mp4"); // a full pass: loop 1
 * assert.equal(p.loops, 1);
 * ```
 */
export class Programme {
  #playlist: readonly string[];
  #loop: boolean;
  readonly #slots: readonly Slot[];
  readonly #timeZone: string;
  /** Next playlist position. */
  #index = 0;
  #loops = 0;
  /** Slots due at or before this have been played or passed. */
  #slotsDoneMs: number;

  /**
   * @param startMs When the channel starts: slots due before it are not played late.
   * @throws {RangeError} For a bad `at` or time zone (the config loader refuses both first).
   */
  constructor(options: ProgrammeOptions, startMs: number) {
    this.#playlist = [...options.playlist];
    this.#loop = options.loop;
    this.#slots = options.schedule.map((s) => ({
      minutes: parseClockTime(s.at),
      file: s.file,
    }));
    this.#timeZone = options.timeZone;
    zonedDate(startMs, this.#timeZone); // throws on an unknown zone, now rather than later
    this.#slotsDoneMs = startMs;
  }

  /** The playlist in force (a replacement shows here at once, plays from the next boundary). */
  get playlist(): readonly string[] {
    return this.#playlist;
  }

  get loop(): boolean {
    return this.#loop;
  }

  get timeZone(): string {
    return this.#timeZone;
  }

  /** Completed passes over the playlist. */
  get loops(): number {
    return this.#loops;
  }

  /** True when a non-looping playlist has played out (slots may still come). */
  get playlistDone(): boolean {
    return !this.#loop && this.#index >= this.#playlist.length;
  }

  /**
   * Replaces the playlist: the next item boundary plays its first item. Loops already counted
   * stay counted.
   */
  replacePlaylist(playlist: readonly string[], loop: boolean): void {
    this.#playlist = [...playlist];
    this.#loop = loop;
    this.#index = 0;
  }

  /**
   * The item to start at `nowMs`, an item boundary: the latest slot that has come due since the
   * last one (slots missed meanwhile are passed over), else the next playlist item.
   *
   * @returns `undefined` when nothing is due: a non-looping playlist has played out (or is
   *   empty) and no slot is due yet; {@link nextSlotAfter} says when one is.
   */
  next(nowMs: number): PlannedItem | undefined {
    const due = this.#dueSlot(nowMs);
    if (due) {
      this.#slotsDoneMs = due.startMs;
      return {
        source: "schedule",
        file: due.slot.file,
        index: due.index,
        dueMs: due.startMs,
      };
    }
    return this.#takePlaylist(true);
  }

  /** What {@link next} would give at `nowMs` from the playlist, without taking it. */
  peekPlaylist(): PlannedItem | undefined {
    return this.#takePlaylist(false);
  }

  /** The first slot starting after `afterMs` (and after every slot already played). */
  nextSlotAfter(afterMs: number): SlotTime | undefined {
    const from = Math.max(afterMs, this.#slotsDoneMs);
    let best: SlotTime | undefined;
    let date = zonedDate(from, this.#timeZone);
    for (let d = 0; d <= SLOT_SEARCH_DAYS && !best; d++) {
      for (const s of this.#slotsOn(date)) {
        if (s.startMs > from && (!best || s.startMs < best.startMs)) best = s;
      }
      date = { ...nextDate(date), minutes: 0 };
    }
    return best;
  }

  /** The slots of the local day containing `atMs`, in time order. */
  slotsOfDay(atMs: number): SlotTime[] {
    return this.#slotsOn(zonedDate(atMs, this.#timeZone));
  }

  /** The schedule as configured, `at` in `HH:MM`. */
  get schedule(): { readonly at: string; readonly file: string }[] {
    return this.#slots.map((s) => ({
      at: formatClockTime(s.minutes),
      file: s.file,
    }));
  }

  #slotsOn(
    date: { year: number; month: number; day: number },
  ): SlotTime[] {
    return this.#slots.map((slot, index) => ({
      slot,
      index,
      startMs: zonedTimeToEpoch(date, slot.minutes, this.#timeZone),
    })).sort((a, b) => a.startMs - b.startMs);
  }

  /** The latest slot with `slotsDone < start <= now` (yesterday's late slots included). */
  #dueSlot(nowMs: number): SlotTime | undefined {
    if (this.#slots.length === 0 || nowMs <= this.#slotsDoneMs) {
      return undefined;
    }
    const today = zonedDate(nowMs, this.#timeZone);
    const yesterday = zonedDate(nowMs - 24 * 3600_000, this.#timeZone);
    let due: SlotTime | undefined;
    for (const s of [...this.#slotsOn(yesterday), ...this.#slotsOn(today)]) {
      if (s.startMs > this.#slotsDoneMs && s.startMs <= nowMs) {
        if (!due || s.startMs > due.startMs) due = s;
      }
    }
    return due;
  }

  #takePlaylist(take: boolean): PlannedItem | undefined {
    const n = this.#playlist.length;
    if (n === 0) return undefined;
    let index = this.#index;
    let loops = this.#loops;
    if (index >= n) {
      if (!this.#loop) return undefined;
      index = 0;
      loops++;
    }
    if (take) {
      this.#index = index + 1;
      this.#loops = loops;
    }
    return {
      source: "playlist",
      file: this.#playlist[index]!,
      index,
      loop: loops,
    };
  }
}
