/**
 * HTTP-date parsing (RFC 9110 §5.6.7), strict in grammar and lenient only in letter case, as
 * RFC 9111 §4.2 asks of caches.
 *
 * `Date.parse` is not used: it accepts nearly anything that looks like a date (`… UTC`, other
 * time zones, one-digit hours, dashes, doubled spaces), and RFC 9111 §5.3 says a cache must
 * treat an invalid `Expires` as a time in the past, so "invalid" has to mean what the grammar
 * says. Pure: no clock (the rfc850 century rule takes `nowMs`).
 *
 * @module
 */

const MONTHS = [
  "jan",
  "feb",
  "mar",
  "apr",
  "may",
  "jun",
  "jul",
  "aug",
  "sep",
  "oct",
  "nov",
  "dec",
] as const;

const DAY = "(?:mon|tue|wed|thu|fri|sat|sun)";
const DAY_LONG = "(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)";
const MONTH = `(${MONTHS.join("|")})`;
const TIME = "(\\d{2}):(\\d{2}):(\\d{2})";

/** IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`. */
const IMF_FIXDATE = new RegExp(
  `^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`,
  "i",
);
/** rfc850-date (obsolete): `Sunday, 06-Nov-94 08:49:37 GMT`. */
const RFC850_DATE = new RegExp(
  `^${DAY_LONG}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`,
  "i",
);
/** asctime-date (obsolete): `Sun Nov  6 08:49:37 1994` (day as 2DIGIT or SP DIGIT). */
const ASCTIME_DATE = new RegExp(
  `^${DAY} ${MONTH} (\\d{2}| \\d) ${TIME} (\\d{4})$`,
  "i",
);

/** Milliseconds in the 50 years of the rfc850 two-digit-year rule (RFC 9110 §5.6.7). */
const FIFTY_YEARS_MS = 50 * 365.2425 * 24 * 3600 * 1000;

function build(
  year: number,
  month: string,
  day: number,
  hour: number,
  minute: number,
  second: number,
): number | undefined {
  const m = MONTHS.indexOf(month.toLowerCase() as typeof MONTHS[number]);
  // RFC 9110 §5.6.7: hour 00-23, minute 00-59, second 00-60 (a leap second reads as :59).
  if (m < 0 || hour > 23 || minute > 59 || second > 60 || day < 1) {
    return undefined;
  }
  const d = new Date(0);
  d.setUTCFullYear(year, m, day); // not Date.UTC: it maps years 0-99 to 1900-1999
  d.setUTCHours(hour, minute, Math.min(second, 59));
  // No 31 Feb: the day must survive the round trip.
  return d.getUTCDate() === day ? d.getTime() : undefined;
}

/**
 * Parses an HTTP-date in any of the three formats a recipient must accept (RFC 9110 §5.6.7).
 *
 * @param value The field value (a list or anything else is invalid).
 * @param nowMs For rfc850's two-digit year: a year that would be more than 50 years in the
 *   future is the most recent past year with those digits. @default Date.now()
 * @returns Epoch milliseconds, or `undefined` when the value is not an HTTP-date.
 *
 * @example
 * ```ts
 * import { parseHttpDate } from "./http_date.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777000);
 * assert.equal(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777000);
 * assert.equal(parseHttpDate("Sun Nov  6 08:49:37 1994"), 784111777000);
 * assert.equal(parseHttpDate("Sun, 06 Nov 1994 08:49:37 UTC"), undefined);
 * assert.equal(parseHttpDate("0"), undefined);
 * ```
 */
export function parseHttpDate(
  value: string | null | undefined,
  nowMs: number = Date.now(),
): number | undefined {
  if (!value) return undefined;
  let m = IMF_FIXDATE.exec(value);
  if (m) {
    return build(
      Number(m[3]),
      m[2]!,
      Number(m[1]),
      Number(m[4]),
      Number(m[5]),
      Number(m[6]),
    );
  }
  m = ASCTIME_DATE.exec(value);
  if (m) {
    return build(
      Number(m[6]),
      m[1]!,
      Number(m[2]!.trim()),
      Number(m[3]),
      Number(m[4]),
      Number(m[5]),
    );
  }
  m = RFC850_DATE.exec(value);
  if (!m) return undefined;
  const yy = Number(m[3]);
  const century = Math.floor(new Date(nowMs).getUTCFullYear() / 100) * 100;
  // The latest year ending in `yy` that is not more than 50 years ahead of now.
  for (const c of [century + 100, century, century - 100]) {
    const ms = build(
      c + yy,
      m[2]!,
      Number(m[1]),
      Number(m[4]),
      Number(m[5]),
      Number(m[6]),
    );
    if (ms !== undefined && ms - nowMs <= FIFTY_YEARS_MS) return ms;
  }
  return undefined;
}
