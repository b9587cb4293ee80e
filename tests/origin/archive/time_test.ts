import assert from "node:assert/strict";
import { ArchiveError } from "../../../origin/archive/errors.ts";
import {
  dailyOccurrences,
  hourStart,
  parseOffset,
  parseTime,
  zoneOffsetMs,
} from "../../../origin/archive/time.ts";
import { createPrng, mutate } from "../../_helpers/prng.ts";

Deno.test("parseTime() reads unix seconds and ISO 8601 date-times, with zones and a '+' a query turned into a space", () => {
  const t = Date.UTC(2024, 4, 1, 12, 0, 0);
  for (
    const [raw, ms] of [
      ["1714564800", t],
      ["1714564800.25", t + 250],
      ["2024-05-01T12:00:00Z", t],
      ["2024-05-01T12:00:00.5Z", t + 500],
      ["2024-05-01T12:00Z", t],
      ["2024-05-01T12:00:00", t], // no zone: UTC
      ["2024-05-01T20:00:00+08:00", t],
      ["2024-05-01T20:00:00 08:00", t],
      ["2024-05-01T07:30:00-0430", t],
    ] as const
  ) assert.equal(parseTime(raw, "start"), ms, raw);
});

Deno.test("parseTime() refuses negative, absurd and malformed times with the field named", () => {
  for (
    const raw of [
      "-1",
      "",
      "now",
      "0", // 1970: before any window could start
      "999999999999",
      "2024-13-01T00:00:00Z",
      "2024-02-30T00:00:00Z",
      "2024-05-01T24:00:00Z",
      "2024-05-01",
      "1e9",
      "0x10",
    ]
  ) {
    assert.throws(
      () => parseTime(raw, "end"),
      (e) => e instanceof ArchiveError && e.status === 400 && e.field === "end",
      raw,
    );
  }
  assert.equal(parseOffset("-30", "offset"), -30_000);
  assert.equal(parseOffset("0", "offset"), 0);
  assert.throws(() => parseOffset("30", "offset"), /negative seconds/);
  assert.throws(() => parseOffset("-1e3", "offset"), ArchiveError);
});

Deno.test("parseTime() never throws anything but a 400 on mutated input (fuzz, seeded)", () => {
  const seeds = ["2024-05-01T20:00:00.123+08:00", "1714564800.5"].map((s) =>
    new TextEncoder().encode(s)
  );
  const next = createPrng(0x7173);
  for (let i = 0; i < 3000; i++) {
    const text = new TextDecoder().decode(mutate(next, seeds[i % 2]!));
    try {
      const ms = parseTime(text, "start");
      assert.ok(Number.isFinite(ms));
    } catch (e) {
      assert.ok(e instanceof ArchiveError && e.status === 400, String(e));
    }
  }
});

Deno.test("zoneOffsetMs(), hourStart() and dailyOccurrences() follow the zone, DST included", () => {
  assert.equal(
    zoneOffsetMs("Asia/Shanghai", Date.UTC(2024, 6, 1)),
    8 * 3600_000,
  );
  assert.equal(
    zoneOffsetMs("America/New_York", Date.UTC(2024, 0, 15)),
    -5 * 3600_000,
  );
  assert.equal(
    zoneOffsetMs("America/New_York", Date.UTC(2024, 6, 15)),
    -4 * 3600_000,
  );
  assert.equal(
    zoneOffsetMs("Asia/Kolkata", Date.UTC(2024, 6, 15)),
    5.5 * 3600_000,
  );
  // An hour of India starts at :30 UTC.
  assert.equal(
    hourStart("Asia/Kolkata", Date.UTC(2024, 4, 1, 12, 10)),
    Date.UTC(2024, 4, 1, 11, 30),
  );
  // 19:00-19:30 in Shanghai is 11:00-11:30 UTC, every day.
  const day = Date.UTC(2024, 4, 1);
  assert.deepEqual(
    dailyOccurrences(
      "19:00",
      "19:30",
      "Asia/Shanghai",
      day,
      day + 2 * 86_400_000,
    ),
    [0, 1].map((d) => ({
      startMs: day + d * 86_400_000 + 11 * 3600_000,
      endMs: day + d * 86_400_000 + 11.5 * 3600_000,
    })),
  );
  // A slot past midnight ends the next day; one that began before `from` still overlaps.
  const late = dailyOccurrences("23:30", "00:30", "UTC", day, day + 3600_000);
  assert.deepEqual(late, [{ startMs: day - 1800_000, endMs: day + 1800_000 }]);
  // New York's 09:00 follows DST: 14:00 UTC in January, 13:00 UTC in July.
  const jan = Date.UTC(2024, 0, 15);
  const jul = Date.UTC(2024, 6, 15);
  assert.equal(
    dailyOccurrences(
      "09:00",
      "10:00",
      "America/New_York",
      jan,
      jan + 86_400_000,
    )[0]!.startMs,
    jan + 14 * 3600_000,
  );
  assert.equal(
    dailyOccurrences(
      "09:00",
      "10:00",
      "America/New_York",
      jul,
      jul + 86_400_000,
    )[0]!.startMs,
    jul + 13 * 3600_000,
  );
});
