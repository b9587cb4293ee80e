import assert from "node:assert/strict";
import { healthVerdict } from "../../control/admin.ts";
import { combineHealthViews } from "../../scheduler/health/combine.ts";

Deno.test("healthVerdict() shows what combineHealthViews() decides, for every mix of up to 6 views", () => {
  let cases = 0;
  for (let n = 0; n <= 6; n++) {
    for (let bits = 0; bits < 1 << n; bits++) {
      const views = Array.from({ length: n }, (_, i) => ({
        up: (bits & (1 << i)) !== 0,
      }));
      const combined = combineHealthViews(views);
      const want = combined === undefined
        ? "unknown"
        : combined
        ? "up"
        : "down";
      assert.equal(healthVerdict(views), want, JSON.stringify(views));
      cases++;
    }
  }
  assert.equal(cases, 127);
});
