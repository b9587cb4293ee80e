import assert from "node:assert/strict";
import {
  formatClockTime,
  nextDate,
  parseClockTime,
  zonedDate,
  zonedTimeToEpoch,
} from "../../../origin/virtual_live/wall_clock.ts";

Deno.test("parseClockTime() reads HH:MM and refuses anything else", () => {
  assert.equal(parseClockTime("00:00"), 0);
  assert.equal(parseClockTime("20:05"), 20 * 60 + 5);
  assert.equal(parseClockTime("23:59"), 1439);
  for (const bad of ["24:00", "8:00", "08:60", "08:00:00", "", " 08:00"]) {
    assert.throws(() => parseClockTime(bad), RangeError, bad);
  }
  assert.equal(formatClockTime(1205), "20:05");
  assert.equal(formatClockTime(0), "00:00");
});

Deno.test("zonedTimeToEpoch() places a wall time in its zone, and zonedDate() reads it back", () => {
  const cases: [string, number, number][] = [
    // zone, minutes, expected UTC instant on 2024-06-01 local
    ["UTC", 20 * 60, Date.UTC(2024, 5, 1, 20, 0)],
    ["Asia/Shanghai", 20 * 60, Date.UTC(2024, 5, 1, 12, 0)],
    ["America/New_York", 20 * 60, Date.UTC(2024, 6 - 1, 2, 0, 0)], // EDT, UTC-4
    ["Asia/Kolkata", 0, Date.UTC(2024, 4, 31, 18, 30)], // UTC+5:30
  ];
  for (const [zone, minutes, expected] of cases) {
    const t = zonedTimeToEpoch({ year: 2024, month: 6, day: 1 }, minutes, zone);
    assert.equal(
      new Date(t).toISOString(),
      new Date(expected).toISOString(),
      zone,
    );
    assert.deepEqual(zonedDate(t, zone), {
      year: 2024,
      month: 6,
      day: 1,
      minutes,
    }, zone);
  }
});

Deno.test("zonedTimeToEpoch() starts a time in a spring-forward gap past the gap, a repeated one at its first occurrence", () => {
  // New York, 10 March 2024: 02:00 EST jumps to 03:00 EDT; 02:30 does not exist.
  const gap = zonedTimeToEpoch(
    { year: 2024, month: 3, day: 10 },
    150,
    "America/New_York",
  );
  assert.equal(new Date(gap).toISOString(), "2024-03-10T07:30:00.000Z"); // 03:30 EDT
  // New York, 3 November 2024: 01:30 happens twice (EDT, then EST).
  const ny = zonedTimeToEpoch(
    { year: 2024, month: 11, day: 3 },
    90,
    "America/New_York",
  );
  assert.equal(new Date(ny).toISOString(), "2024-11-03T05:30:00.000Z"); // 01:30 EDT
  // Berlin, 27 October 2024: 02:30 happens twice (CEST, then CET).
  const berlin = zonedTimeToEpoch(
    { year: 2024, month: 10, day: 27 },
    150,
    "Europe/Berlin",
  );
  assert.equal(new Date(berlin).toISOString(), "2024-10-27T00:30:00.000Z"); // 02:30 CEST
  // Berlin, 31 March 2024: 02:30 does not exist.
  const bGap = zonedTimeToEpoch(
    { year: 2024, month: 3, day: 31 },
    150,
    "Europe/Berlin",
  );
  assert.equal(new Date(bGap).toISOString(), "2024-03-31T01:30:00.000Z"); // 03:30 CEST
});

Deno.test("nextDate() crosses month and year ends", () => {
  assert.deepEqual(nextDate({ year: 2024, month: 2, day: 28 }), {
    year: 2024,
    month: 2,
    day: 29,
  });
  assert.deepEqual(nextDate({ year: 2024, month: 12, day: 31 }), {
    year: 2025,
    month: 1,
    day: 1,
  });
});
