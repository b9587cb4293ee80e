import assert from "node:assert/strict";
import { parseHttpDate } from "../../../edge/cache/http_date.ts";
import { createPrng, mutate } from "../../_helpers/prng.ts";

const NOW = Date.UTC(2026, 11, 3, 12, 0, 0);
const T = Date.UTC(2050, 7, 18, 2, 1, 18);

Deno.test("parseHttpDate() reads the three formats of RFC 9110 §5.6.7, any letter case", () => {
  const valid: [string, number][] = [
    ["Thu, 18 Aug 2050 02:01:18 GMT", T],
    ["thu, 18 aug 2050 02:01:18 gmt", T], // RFC 9111 §4.2: caches match case-insensitively
    ["Thursday, 18-Aug-50 02:01:18 GMT", T],
    ["Thu Aug 18 02:01:18 2050", T],
    ["Sun Nov  6 08:49:37 1994", Date.UTC(1994, 10, 6, 8, 49, 37)],
    ["Sunday, 06-Nov-94 08:49:37 GMT", Date.UTC(1994, 10, 6, 8, 49, 37)],
    ["Sat, 31 Dec 2016 23:59:60 GMT", Date.UTC(2016, 11, 31, 23, 59, 59)],
  ];
  for (const [v, ms] of valid) assert.equal(parseHttpDate(v, NOW), ms, v);
  assert.equal(
    new Date(parseHttpDate("Thu, 01 Jan 0050 00:00:00 GMT")!).getUTCFullYear(),
    50,
    "a four-digit year is that year, never 1950",
  );
});

Deno.test("parseHttpDate() refuses what the grammar does not allow (the cache-tests invalid Expires values)", () => {
  for (
    const v of [
      "0",
      "",
      "Thu, 18 Aug 2050 02:01:18 UTC",
      "Thu, 18 Aug 2050 02:01:18 AEST",
      "Thu, 18 Aug 50 02:01:18 GMT",
      "Thu 18 Aug 2050 02:01:18 GMT",
      "Thu, 18  Aug  2050 02:01:18 GMT",
      "Thu, 18-Aug-2050 02:01:18 GMT",
      "Thu, 18 Aug 2050 02.01.18 GMT",
      "Thu, 18 Aug 2050 2:01:18 GMT",
      "Thu, 18 Aug 2050 2:01:18 GMT, Thu, 18 Aug 2050 2:01:19 GMT",
      "Thu, 31 Feb 2050 02:01:18 GMT",
      "Thu, 18 Aug 2050 24:00:00 GMT",
      " Thu, 18 Aug 2050 02:01:18 GMT",
      "Thu, 18 Aug 2050 02:01:18 GMT junk",
      "Thursday, 18 Aug 2050 02:01:18 GMT",
      "2050-08-18T02:01:18Z",
    ]
  ) assert.equal(parseHttpDate(v, NOW), undefined, JSON.stringify(v));
});

Deno.test("parseHttpDate(): an rfc850 two-digit year more than 50 years ahead is in the past century", () => {
  assert.equal(
    new Date(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT", NOW)!)
      .getUTCFullYear(),
    1994,
  );
  assert.equal(
    new Date(parseHttpDate("Monday, 01-Jan-76 00:00:00 GMT", NOW)!)
      .getUTCFullYear(),
    2076,
  );
  const in2090 = Date.UTC(2090, 0, 1);
  assert.equal(
    new Date(parseHttpDate("Friday, 01-Jan-10 00:00:00 GMT", in2090)!)
      .getUTCFullYear(),
    2110,
    "20 years ahead is ahead, not 80 years back",
  );
});

Deno.test("parseHttpDate() round-trips every IMF-fixdate Date.prototype.toUTCString writes", () => {
  const next = createPrng(9110);
  for (let i = 0; i < 2_000; i++) {
    const ms = (next() * 1000 + (next() % 1000)) % 253_402_300_799_000;
    const whole = ms - (ms % 1000);
    const text = new Date(whole).toUTCString();
    if (!/^\w{3}, \d{2} \w{3} \d{4} /.test(text)) continue; // years < 1000 or > 9999
    assert.equal(parseHttpDate(text, NOW), whole, text);
  }
});

Deno.test("parseHttpDate() fuzz: mutated dates never throw and any value is a finite time", () => {
  const next = createPrng(5_6_7);
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const seeds = [
    "Thu, 18 Aug 2050 02:01:18 GMT",
    "Thursday, 18-Aug-50 02:01:18 GMT",
    "Sun Nov  6 08:49:37 1994",
  ].map((s) => enc.encode(s));
  for (let i = 0; i < 5_000; i++) {
    const input = dec.decode(mutate(next, seeds[i % seeds.length]!));
    const v = parseHttpDate(input, NOW);
    if (v !== undefined) assert.ok(Number.isFinite(v), input);
  }
});
