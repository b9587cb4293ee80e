import assert from "node:assert/strict";
import { combineHealthViews } from "../../../scheduler/health/combine.ts";

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
