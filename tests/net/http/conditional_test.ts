import assert from "node:assert/strict";
import {
  etagMatches,
  ifRangeAllows,
  isNotModified,
  parseRange,
} from "../../../net/http/conditional.ts";

Deno.test("parseRange() table (RFC 9110 §14.1.2)", () => {
  const cases: [string | null, number, ReturnType<typeof parseRange>][] = [
    [null, 10, undefined],
    ["bytes=0-4", 10, { start: 0, end: 4 }],
    ["bytes=5-", 10, { start: 5, end: 9 }],
    ["bytes=5-100", 10, { start: 5, end: 9 }],
    ["bytes=-4", 10, { start: 6, end: 9 }],
    ["bytes=-40", 10, { start: 0, end: 9 }],
    ["bytes=10-", 10, "unsatisfiable"],
    ["bytes=-0", 10, "unsatisfiable"],
    ["bytes=4-2", 10, undefined],
    ["bytes=0-1,3-4", 10, undefined],
    ["items=0-1", 10, undefined],
  ];
  for (const [h, size, want] of cases) {
    assert.deepEqual(parseRange(h, size), want, String(h));
  }
});

Deno.test("conditionals: weak If-None-Match, If-Modified-Since, strong If-Range", () => {
  assert.equal(etagMatches('W/"a"', '"a"'), true);
  assert.equal(etagMatches("*", undefined), false);
  const lm = "Tue, 01 Jan 2030 00:00:00 GMT";
  assert.equal(
    isNotModified(new Headers({ "if-modified-since": lm }), undefined, lm),
    true,
  );
  assert.equal(
    isNotModified(
      new Headers({ "if-none-match": '"x"', "if-modified-since": lm }),
      '"y"',
      lm,
    ),
    false,
  );
  assert.equal(
    ifRangeAllows(new Headers({ "if-range": '"a"' }), '"a"', undefined),
    true,
  );
  assert.equal(
    ifRangeAllows(new Headers({ "if-range": '"a"' }), 'W/"a"', undefined),
    false,
  );
});
