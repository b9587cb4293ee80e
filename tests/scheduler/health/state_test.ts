import assert from "node:assert/strict";
import { initialHealth, nextHealth } from "../../../scheduler/health/state.ts";

Deno.test("nextHealth() goes down after `fall` failures and up after `rise` successes", () => {
  const lim = { rise: 3, fall: 2 };
  let s = initialHealth(true, 0);
  s = nextHealth(s, false, 1, lim, "x");
  assert.equal(s.up, true);
  s = nextHealth(s, true, 2, lim);
  s = nextHealth(s, false, 3, lim);
  assert.equal(s.up, true, "a success resets the streak");
  s = nextHealth(s, false, 4, lim);
  assert.equal(s.up, false);
  assert.equal(s.lastChangeMs, 4);
  for (let i = 0; i < 2; i++) s = nextHealth(s, true, 5 + i, lim);
  assert.equal(s.up, false);
  s = nextHealth(s, true, 7, lim);
  assert.equal(s.up, true);
});
