/**
 * Times of the archive's requests and schedules: `T` given as unix seconds or ISO 8601, and
 * wall times of day in a time zone (daily programmes). Pure: no clock is read here.
 *
 * @module
 */

import { ArchiveError, ArchiveErrorCode } from "./errors.ts";

/** Earliest time accepted (epoch ms): 2000-01-01. Nothing older can be in any window. */
export const MIN_TIME_MS = Date.UTC(2000, 0, 1);
/** Latest time accepted (epoch ms): 9999-12-31, the end of ISO 8601's four-digit years. */
export const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59);
/** Unix seconds: digits, an optional fraction (ms precision is all a segment has). */
const UNIX_RE = /^\d{1,12}(?:\.\d{1,6})?$/;
/**
 * ISO 8601 date-time (RFC 3339 profile): date, `T`, time with optional seconds and fraction,
 * optional zone (none means UTC here: a server has no "local" time for its users).
 */
const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/i;

function badTime(field: string, raw: string, why: string): ArchiveError {
  return new ArchiveError(
    ArchiveErrorCode.BadRequest,
    `Invalid '${field}': got '${raw.slice(0, 40)}', expected ${why}`,
    { field },
  );
}

/**
 * Parses a time: unix seconds (`1714564800`, `1714564800.5`) or ISO 8601
 * (`2024-05-01T12:00:00Z`, `2024-05-01T20:00:00+08:00`; a `+` that a query string turned into a
 * space is read as `+`).
 *
 * @param field The request field, for the error.
 * @returns Epoch milliseconds.
 * @throws {ArchiveError} `ARCHIVE_BAD_REQUEST` for anything else, a negative number, or a time
 *   before 2000 or after 9999.
 *
 * @example
 * ```ts
 * import { parseTime } from "./time.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseTime("1714564800", "start"), 1714564800000);
 * assert.equal(parseTime("2024-05-01T20:00:00 08:00", "start"), Date.UTC(2024, 4, 1, 12));
 * assert.throws(() => parseTime("-5", "start"));
 * ```
 */
export function parseTime(raw: string, field: string): number {
  const text = raw.trim();
  let ms: number;
  if (UNIX_RE.test(text)) {
    ms = Math.round(Number(text) * 1000);
  } else {
    // A query string decodes '+' as a space: `...T20:00:00+08:00` arrives as `...T20:00:00 08:00`.
    const fixed = text.replace(
      /^(\d{4}-\d{2}-\d{2}T\S+) (\d{2}:?\d{2})$/i,
      "$1+$2",
    );
    const m = ISO_RE.exec(fixed);
    if (!m) {
      throw badTime(
        field,
        raw,
        text.startsWith("-")
          ? "a time, not a negative number"
          : "unix seconds or an ISO 8601 date-time like 2024-05-01T12:00:00Z",
      );
    }
    const [, y, mo, d, h, mi, s, frac, zone] = m;
    const month = Number(mo);
    const day = Number(d);
    const hour = Number(h);
    const minute = Number(mi);
    const second = Number(s ?? 0);
    if (
      month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 ||
      minute > 59 || second > 60
    ) {
      throw badTime(field, raw, "a real date and time of day");
    }
    let offsetMin = 0;
    if (zone && zone.toUpperCase() !== "Z") {
      const z = zone.replace(":", "");
      offsetMin = (Number(z.slice(1, 3)) * 60 + Number(z.slice(3, 5))) *
        (z[0] === "-" ? -1 : 1);
    }
    const fracMs = frac ? Math.round(Number(`0.${frac}`) * 1000) : 0;
    ms =
      Date.UTC(Number(y), month - 1, day, hour, minute, Math.min(second, 59)) +
      fracMs - offsetMin * 60_000;
    if (new Date(ms + offsetMin * 60_000).getUTCDate() !== day) {
      throw badTime(field, raw, "a real date (that month has fewer days)");
    }
  }
  if (!Number.isFinite(ms) || ms < MIN_TIME_MS || ms > MAX_TIME_MS) {
    throw badTime(field, raw, "a time between 2000 and 9999");
  }
  return ms;
}

/**
 * Parses a relative time, `-SECONDS` from now (`offset=-30`).
 *
 * @returns Milliseconds, at most 0.
 * @throws {ArchiveError} `ARCHIVE_BAD_REQUEST` for a positive, non-numeric or absurd offset.
 */
export function parseOffset(raw: string, field: string): number {
  const text = raw.trim();
  if (!/^-?\d{1,9}(?:\.\d{1,6})?$/.test(text)) {
    throw badTime(field, raw, "negative seconds like -30");
  }
  const v = Number(text);
  if (v > 0) {
    throw badTime(
      field,
      raw,
      "negative seconds (the future is not recorded yet)",
    );
  }
  return Math.round(v * 1000);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/**
 * How far `timeZone`'s wall clock is ahead of UTC at `utcMs` (ms; +8 h for Asia/Shanghai).
 *
 * @example
 * ```ts
 * import { zoneOffsetMs } from "./time.ts";
 * import assert from "node:assert/strict";
 * assert.equal(zoneOffsetMs("Asia/Shanghai", Date.UTC(2024, 0, 1)), 8 * 3600_000);
 * assert.equal(zoneOffsetMs("UTC", 0), 0);
 * ```
 */
export function zoneOffsetMs(timeZone: string, utcMs: number): number {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timeZone, f);
  }
  const parts: Record<string, number> = {};
  for (const p of f.formatToParts(new Date(utcMs))) {
    if (p.type !== "literal") parts[p.type] = Number(p.value);
  }
  const wall = Date.UTC(
    parts.year!,
    parts.month! - 1,
    parts.day!,
    parts.hour!,
    parts.minute!,
    parts.second!,
  );
  return wall - Math.floor(utcMs / 1000) * 1000;
}

/** The UTC instant of wall time `minutes` after midnight of the zone's day holding `dayUtcMs`. */
function wallToUtc(
  timeZone: string,
  dayStartWall: number,
  minutes: number,
): number {
  const wall = dayStartWall + minutes * 60_000;
  // The offset at the guess, then again at the answer (a DST change between them).
  let utc = wall - zoneOffsetMs(timeZone, wall);
  utc = wall - zoneOffsetMs(timeZone, utc);
  return utc;
}

/**
 * The showings of a daily `HH:MM`–`HH:MM` slot (an end before the start ends the next day)
 * that overlap `[fromMs, toMs)`.
 *
 * @example
 * ```ts
 * import { dailyOccurrences } from "./time.ts";
 * import assert from "node:assert/strict";
 * const day = Date.UTC(2024, 4, 1);
 * assert.deepEqual(
 *   dailyOccurrences("19:00", "19:30", "UTC", day, day + 86_400_000),
 *   [{ startMs: day + 19 * 3600_000, endMs: day + 19.5 * 3600_000 }],
 * );
 * ```
 */
export function dailyOccurrences(
  start: string,
  end: string,
  timeZone: string,
  fromMs: number,
  toMs: number,
): { startMs: number; endMs: number }[] {
  const minutes = (hhmm: string) =>
    Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
  const a = minutes(start);
  let b = minutes(end);
  if (b <= a) b += 24 * 60;
  const out: { startMs: number; endMs: number }[] = [];
  // From the day before `from` (a slot past midnight) to the day of `to`.
  const firstWall = fromMs + zoneOffsetMs(timeZone, fromMs) - 86_400_000;
  let dayWall = Math.floor(firstWall / 86_400_000) * 86_400_000;
  for (let n = 0; n < 400 && dayWall - 86_400_000 < toMs + 86_400_000; n++) {
    const s = wallToUtc(timeZone, dayWall, a);
    const e = wallToUtc(timeZone, dayWall, b);
    if (s >= toMs) break;
    if (e > fromMs) out.push({ startMs: s, endMs: e });
    dayWall += 86_400_000;
  }
  return out;
}

/** Start of the hour (in `timeZone`) holding `utcMs`. */
export function hourStart(timeZone: string, utcMs: number): number {
  const off = zoneOffsetMs(timeZone, utcMs);
  return Math.floor((utcMs + off) / 3_600_000) * 3_600_000 - off;
}
