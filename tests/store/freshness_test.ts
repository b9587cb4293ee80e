import assert from "node:assert/strict";
import {
  combineHealthViews,
  isEdgeFresh,
  isListingFresh,
  isViewFresh,
} from "../../store/mod.ts";

const T0 = 1_700_000_000_000;

Deno.test("isEdgeFresh() keeps an edge for 3 heartbeats; isViewFresh() for its ttl", () => {
  const r = { heartbeatSeconds: 2, updatedAtMs: T0 };
  assert.equal(isEdgeFresh(r, T0), true);
  assert.equal(isEdgeFresh(r, T0 + 6_000), true);
  assert.equal(isEdgeFresh(r, T0 + 6_001), false);
  assert.equal(isViewFresh({ reportedAtMs: T0, ttlMs: 100 }, T0 + 100), true);
  assert.equal(isViewFresh({ reportedAtMs: T0, ttlMs: 100 }, T0 + 101), false);
});

Deno.test("isListingFresh() keeps a listing for its ttl", () => {
  assert.equal(isListingFresh({ updatedAtMs: T0, ttlMs: 100 }, T0 + 100), true);
  assert.equal(
    isListingFresh({ updatedAtMs: T0, ttlMs: 100 }, T0 + 101),
    false,
  );
});

Deno.test("combineHealthViews() is a majority vote, ties up, undefined without views", () => {
  const v = (...ups: boolean[]) => ups.map((up) => ({ up }));
  for (
    const [views, want] of [
      [v(), undefined],
      [v(true), true],
      [v(false), false],
      [v(true, false), true],
      [v(false, false, true), false],
      [v(true, true, false), true],
    ] as const
  ) {
    assert.equal(combineHealthViews(views), want, JSON.stringify(views));
  }
});
