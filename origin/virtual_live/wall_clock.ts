/**
 * Wall-clock times of day in an IANA time zone: when "20:00 in Asia/Shanghai" is, as epoch ms.
 *
 * Pure (no `Date.now`): every function takes the instant it reasons about. `Intl.DateTimeFormat`
 * is the only source of zone rules (the runtime's ICU data), so no zone table is bundled.
 *
 * Daylight-saving edges, decided here once: a time that a spring-forward gap skips (02:30 in
 * America/New_York on the second Sunday of March) starts at the same distance past the gap
 * (03:30), as cron and systemd timers do; a time a fall-back repeats starts at its first
 * occurrence.
 *
 * @module
 */

/** Minutes in a day. */
export const MINUTES_PER_DAY = 24 * 60;
const MS_PER_MINUTE = 60_000;
const MS_PER_DAY = 24 * 3600_000;
const CLOCK_TIME_RE = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;

/** A zone's calendar date. */
export interface ZonedDate {
  readonly year: number;
  /** 1..12 */
  readonly month: number;
  /** 1..31 */
  readonly day: number;
  /** Minutes since local midnight, 0..1439. */
  readonly minutes: number;
}

/**
 * Parses `HH:MM` (24-hour) into minutes since midnight.
 *
 * @throws {RangeError} For anything else (the config loader has already refused such values).
 * @example
 * ```ts
 * import { parseClockTime } from "./wall_clock.ts";
 * if (parseClockTime("20:05") !== 1205) throw new Error("parse");
 * ```
 */
export function parseClockTime(text: string): number {
  const m = CLOCK_TIME_RE.exec(text);
  if (!m) {
    throw new RangeError(
      `Cannot parse time of day: expected HH:MM, got ${JSON.stringify(text)}`,
    );
  }
  return Number(m[1]) * 60 + Number(m[2]);
}

/** Formats minutes since midnight as `HH:MM`. */
export function formatClockTime(minutes: number): string {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`;
}

// Building a DateTimeFormat costs far more than using one: one per zone, kept.
const FORMATS = new Map<string, Intl.DateTimeFormat>();

function formatFor(timeZone: string): Intl.DateTimeFormat {
  let f = FORMATS.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    FORMATS.set(timeZone, f);
  }
  return f;
}

function partsOf(epochMs: number, timeZone: string) {
  const out = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const p of formatFor(timeZone).formatToParts(epochMs)) {
    if (p.type in out) out[p.type as keyof typeof out] = Number(p.value);
  }
  return out;
}

/**
 * The calendar date and time of day of `epochMs` in `timeZone`.
 *
 * @throws {RangeError} For an unknown time zone.
 */
export function zonedDate(epochMs: number, timeZone: string): ZonedDate {
  const p = partsOf(epochMs, timeZone);
  return {
    year: p.year,
    month: p.month,
    day: p.day,
    minutes: p.hour * 60 + p.minute,
  };
}

/** The zone's offset from UTC at `epochMs` (ms; UTC+8 is +28 800 000). */
export function zoneOffsetMs(epochMs: number, timeZone: string): number {
  const p = partsOf(epochMs, timeZone);
  const local = Date.UTC(
    p.year,
    p.month - 1,
    p.day,
    p.hour,
    p.minute,
    p.second,
  );
  return local - Math.floor(epochMs / 1000) * 1000;
}

/**
 * The instant a wall time happens in `timeZone` (see the module notes for daylight-saving
 * gaps and repeats).
 *
 * @param minutes Minutes since local midnight of the date.
 * @example
 * ```ts
 * import { zonedTimeToEpoch } from "./wall_clock.ts";
 * // 20:00 in Shanghai (UTC+8) on 1 June 2024 is 12:00 UTC.
 * const t = zonedTimeToEpoch({ year: 2024, month: 6, day: 1 }, 20 * 60, "Asia/Shanghai");
 * if (t !== Date.UTC(2024, 5, 1, 12, 0)) throw new Error(new Date(t).toISOString());
 * ```
 */
export function zonedTimeToEpoch(
  date: { readonly year: number; readonly month: number; readonly day: number },
  minutes: number,
  timeZone: string,
): number {
  const wall = Date.UTC(date.year, date.month - 1, date.day) +
    minutes * MS_PER_MINUTE;
  // Zone offsets a day either side: a real zone changes offset at most once in between, so
  // the wall time is one of these two instants, or both (a repeat: the first wins), or
  // neither (a gap: the earlier offset puts it as far past the gap as it was into it).
  const early = zoneOffsetMs(wall - MS_PER_DAY, timeZone);
  const late = zoneOffsetMs(wall + MS_PER_DAY, timeZone);
  const candidates = [wall - early, wall - late].sort((a, b) => a - b);
  for (const t of candidates) {
    if (t + zoneOffsetMs(t, timeZone) === wall) return t;
  }
  return wall - Math.min(early, late);
}

/** The next calendar date after `date`. */
export function nextDate(
  date: { readonly year: number; readonly month: number; readonly day: number },
): { year: number; month: number; day: number } {
  const t = new Date(
    Date.UTC(date.year, date.month - 1, date.day) + MS_PER_DAY,
  );
  return {
    year: t.getUTCFullYear(),
    month: t.getUTCMonth() + 1,
    day: t.getUTCDate(),
  };
}
